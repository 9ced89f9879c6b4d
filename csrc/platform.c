/*
** platform.c: platform.h's calls, for POSIX (Linux first) and for Windows
** (mingw-w64: `make windows`).  Each function is written twice, side by
** side; what they share is at the end.
*/
#if defined(__linux__)
#define _GNU_SOURCE  /* what _XOPEN_SOURCE gives, sched_getcpu, affinity */
#elif !defined(_WIN32)
#define _XOPEN_SOURCE 700    /* realpath, pread, fchmod, fsync, O_CLOEXEC */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#if defined(_WIN32)
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0600
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0600       /* SRW locks, condition variables */
#endif
#include <windows.h>
#include <bcrypt.h>
#include <io.h>
#include <process.h>
#else
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif
#endif

#include "platform.h"

#if defined(_WIN32)

/* A Windows error as a code: the usual few as the errno values POSIX
** gives for them (so the words are the same on both systems) */
static int winerr(DWORD e) {
  switch (e) {
  case ERROR_FILE_NOT_FOUND: case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE: return ENOENT;
  case ERROR_ACCESS_DENIED: return EACCES;
  case ERROR_FILE_EXISTS: case ERROR_ALREADY_EXISTS: return NNP_EXISTS;
  case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: return ENOMEM;
  case ERROR_DISK_FULL: case ERROR_HANDLE_DISK_FULL: return ENOSPC;
  default: return NNP_WINERR(e);
  }
}

/* A path for the wide-character calls: UTF-8 (what LÖVE and most Lua
** code hand over), or, if it is not valid UTF-8, the ANSI code page (what
** io.open takes).  *w is from malloc; 0 or a code. */
static int widen(const char *s, wchar_t **w) {
  UINT cp = CP_UTF8;
  DWORD flags = MB_ERR_INVALID_CHARS;
  int n = MultiByteToWideChar(cp, flags, s, -1, NULL, 0);
  *w = NULL;
  if (n == 0) {
    cp = CP_ACP;
    flags = 0;
    n = MultiByteToWideChar(cp, flags, s, -1, NULL, 0);
    if (n == 0) return winerr(GetLastError());
  }
  if (!(*w = (wchar_t *)malloc((size_t)n * sizeof(wchar_t)))) return ENOMEM;
  MultiByteToWideChar(cp, flags, s, -1, *w, n);
  return 0;
}

/* the kind of what st describes: 0 regular, NNP_ISDIR, NNP_NOTREG */
static int kindof(unsigned short mode) {
  if ((mode & _S_IFMT) == _S_IFREG) return 0;
  return (mode & _S_IFMT) == _S_IFDIR ? NNP_ISDIR : NNP_NOTREG;
}

/* Shared for deleting too, so that nnp_writeover in another thread can
** replace the file while it is read (the reader keeps the old one). */
int nnp_openread(const char *path, int *fd, int64_t *size) {
  struct _stat64 st;
  HANDLE h;
  wchar_t *w;
  int e = widen(path, &w);
  *fd = -1;
  if (e) return e;
  /* a directory cannot be opened here at all (EACCES): say what it is */
  if (_wstat64(w, &st) == 0 && (e = kindof(st.st_mode)) == NNP_ISDIR) {
    free(w);
    return e;
  }
  h = CreateFileW(w, GENERIC_READ,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  e = h == INVALID_HANDLE_VALUE ? winerr(GetLastError()) : 0;
  free(w);
  if (e) return e;
  /* a C runtime descriptor that owns the handle, for zlib's gzdopen */
  if ((*fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY)) < 0) {
    CloseHandle(h);
    return EMFILE;
  }
  if (_fstat64(*fd, &st) != 0) e = errno;
  else if ((e = kindof(st.st_mode)) == 0) {
    *size = (int64_t)st.st_size;
    return 0;
  }
  _close(*fd);
  *fd = -1;
  return e;
}

int nnp_read(int fd, void *buf, unsigned n, int *err) {
  int r = _read(fd, buf, n);
  if (r < 0) *err = errno;
  return r;
}

int nnp_peek(int fd, void *buf, unsigned n) {
  __int64 at = _lseeki64(fd, 0, SEEK_CUR);
  int r = -1;
  if (at >= 0 && _lseeki64(fd, 0, SEEK_SET) == 0) {
    r = _read(fd, buf, n);
    _lseeki64(fd, at, SEEK_SET);
  }
  return r < 0 ? 0 : r;
}

void nnp_close(int fd) { _close(fd); }

int nnp_stat(const char *path, unsigned *mode) {
  struct _stat64 st;
  wchar_t *w;
  int e = widen(path, &w);
  if (e) return e;
  e = _wstat64(w, &st) == 0 ? kindof(st.st_mode) : errno;
  free(w);
  if (e == 0) *mode = st.st_mode & 0777;
  return e;
}

int nnp_linktarget(const char *path, char **real) {
  (void)path;
  *real = NULL;
  return 0;
}

/* MoveFileExW with MOVEFILE_REPLACE_EXISTING is Windows' rename over an
** existing file (rename and _wrename refuse one); MOVEFILE_WRITE_THROUGH
** returns once the move is on the disk.  Permission bits have no meaning
** here (keep and mode are for POSIX). */
int nnp_writeover(const char *tmp, const char *target, const char *data,
                  size_t len, int keep, unsigned mode) {
  wchar_t *wt = NULL, *wg = NULL;
  HANDLE h;
  size_t done = 0;
  int e = widen(tmp, &wt);
  (void)keep; (void)mode;
  if (!e) e = widen(target, &wg);
  if (e) goto out;
  h = CreateFileW(wt, GENERIC_WRITE, 0, NULL, CREATE_NEW,
                  FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    e = winerr(GetLastError());
    goto out;
  }
  while (!e && done < len) {
    DWORD put = 0, want = len - done > (1u << 30) ? (1u << 30)
                                                  : (DWORD)(len - done);
    if (!WriteFile(h, data + done, want, &put, NULL))
      e = winerr(GetLastError());
    else if (put == 0) e = EIO;
    else done += put;
  }
  if (!e && !FlushFileBuffers(h)) e = winerr(GetLastError());
  if (!CloseHandle(h) && !e) e = winerr(GetLastError());
  if (!e && !MoveFileExW(wt, wg, MOVEFILE_REPLACE_EXISTING |
                                     MOVEFILE_WRITE_THROUGH))
    e = winerr(GetLastError());
  if (e) DeleteFileW(wt);
out:
  free(wt);
  free(wg);
  return e;
}

/* the system's generator, as much of n as it gave */
static size_t osrandom(unsigned char *buf, size_t n) {
  if (n <= 0xffffffffu &&
      BCryptGenRandom(NULL, buf, (ULONG)n,
                      BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0)
    return n;
  return 0;
}

static uint64_t processid(void) { return (uint64_t)GetCurrentProcessId(); }

double nnp_clock(void) {
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);        /* fixed at boot, never 0 (XP on) */
  QueryPerformanceCounter(&c);
  return (double)(c.QuadPart / f.QuadPart) +
         (double)(c.QuadPart % f.QuadPart) / (double)f.QuadPart;
}

int nnp_isatty(FILE *f, int std) {
  static const DWORD which[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                STD_ERROR_HANDLE};
  HANDLE h;
  DWORD mode;
  (void)f;
  if (std < 0 || std > 2) return 0;
  h = GetStdHandle(which[std]);
  return h != NULL && h != INVALID_HANDLE_VALUE &&
         GetFileType(h) == FILE_TYPE_CHAR && GetConsoleMode(h, &mode);
}

/* FormatMessage's words, without its closing period and line break */
static void winerror(DWORD e, char *buf, size_t n) {
  size_t k;
  DWORD got = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
                             FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e,
                             MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), buf,
                             n > 0xffff ? 0xffff : (DWORD)n, NULL);
  if (got == 0) {
    snprintf(buf, n, "Windows error %lu", (unsigned long)e);
    return;
  }
  k = strlen(buf);
  while (k > 0 && strchr(" .\r\n", buf[k - 1])) buf[--k] = '\0';
}

#else /* POSIX */

int nnp_openread(const char *path, int *fd, int64_t *size) {
  struct stat st;
  int e;
  *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (*fd < 0) return errno;
  if (fstat(*fd, &st) != 0) e = errno;
  else if (S_ISREG(st.st_mode)) {
    *size = (int64_t)st.st_size;
    return 0;
  } else e = S_ISDIR(st.st_mode) ? NNP_ISDIR : NNP_NOTREG;
  close(*fd);
  *fd = -1;
  return e;
}

int nnp_read(int fd, void *buf, unsigned n, int *err) {
  ssize_t r;
  do r = read(fd, buf, n); while (r < 0 && errno == EINTR);
  if (r < 0) *err = errno;
  return (int)r;
}

int nnp_peek(int fd, void *buf, unsigned n) {
  ssize_t r = pread(fd, buf, n, 0);
  return r < 0 ? 0 : (int)r;
}

void nnp_close(int fd) { close(fd); }

int nnp_stat(const char *path, unsigned *mode) {
  struct stat st;
  if (stat(path, &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return NNP_ISDIR;
  if (!S_ISREG(st.st_mode)) return NNP_NOTREG;
  *mode = (unsigned)st.st_mode & 07777;
  return 0;
}

int nnp_linktarget(const char *path, char **real) {
  struct stat st;
  *real = NULL;
  if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) return 0;
  if (!(*real = realpath(path, NULL))) return errno;
  return 0;
}

int nnp_writeover(const char *tmp, const char *target, const char *data,
                  size_t len, int keep, unsigned mode) {
  size_t done = 0;
  int e = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0644);
  if (fd < 0) return errno == EEXIST ? NNP_EXISTS : errno;
  if (keep && fchmod(fd, (mode_t)mode) != 0) e = errno;
  while (!e && done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) e = n < 0 ? errno : EIO;
    else done += (size_t)n;
  }
  if (!e && fsync(fd) != 0) e = errno;
  if (close(fd) != 0 && !e) e = errno;
  if (!e && rename(tmp, target) != 0) e = errno;
  if (e) unlink(tmp);
  return e;
}

static size_t osrandom(unsigned char *buf, size_t n) {
#if defined(__linux__)
  ssize_t k = getrandom(buf, n, GRND_NONBLOCK);
  return k > 0 ? (size_t)k : 0;
#else
  (void)buf; (void)n;
  return 0;
#endif
}

static uint64_t processid(void) { return (uint64_t)getpid(); }

double nnp_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int nnp_isatty(FILE *f, int std) {
  (void)std;
  return isatty(fileno(f));
}

#endif

/* ---- shared ------------------------------------------------------------ */

void nnp_random(unsigned char *buf, size_t n) {
  size_t i = osrandom(buf, n);
  if (i < n) {                                 /* no system randomness: mix */
    double t = nnp_clock();
    uint64_t x = (uint64_t)(t * 1e9) * 0x9e3779b97f4a7c15ULL ^ processid() ^
                 (uint64_t)(uintptr_t)buf ^ ((uint64_t)time(NULL) << 32);
    for (; i < n; i++) {
      x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 29;
      buf[i] = (unsigned char)x;
    }
  }
}

const char *nnp_strerror(int code, char *buf, size_t n) {
  const char *s = NULL;
  if (n == 0) return "";
  switch (code) {
  case NNP_ISDIR: s = "it is a directory"; break;
  case NNP_NOTREG: s = "not a regular file"; break;
  case NNP_EXISTS: s = strerror(EEXIST); break;
  default:
#if defined(_WIN32)
    if (code <= NNP_WINERR(0)) {
      winerror((DWORD)(NNP_WINERR(0) - code), buf, n);
      return buf;
    }
#endif
    s = strerror(code);
  }
  snprintf(buf, n, "%s", s);
  return buf;
}

/* ---- threads -------------------------------------------------------------- */

/* what a thread runs: fn(arg), from the system's entry point */
typedef struct Start {
  void (*fn)(void *);
  void *arg;
} Start;

#if defined(_WIN32)

typedef char nnp_win_fits[sizeof(HANDLE) <= sizeof(NnpThread) &&
                          sizeof(SRWLOCK) <= sizeof(NnpMutex) &&
                          sizeof(CONDITION_VARIABLE) <= sizeof(NnpCond)
                              ? 1 : -1];

static unsigned __stdcall entry(void *p) {
  Start s = *(Start *)p;
  free(p);
  s.fn(s.arg);
  return 0;
}

/* _beginthreadex rather than CreateThread: the C runtime's per-thread
** state is set up for a thread that calls it */
int nnp_thread_start(NnpThread *t, void (*fn)(void *), void *arg) {
  Start *s = (Start *)malloc(sizeof *s);
  uintptr_t h;
  if (!s) return ENOMEM;
  s->fn = fn;
  s->arg = arg;
  h = _beginthreadex(NULL, 0, entry, s, 0, NULL);
  if (h == 0) {
    int e = errno ? errno : EAGAIN;
    free(s);
    return e;
  }
  *(HANDLE *)(void *)t->b = (HANDLE)h;
  return 0;
}

void nnp_thread_join(NnpThread *t) {
  HANDLE h = *(HANDLE *)(void *)t->b;
  WaitForSingleObject(h, INFINITE);
  CloseHandle(h);
}

int nnp_mutex_init(NnpMutex *m) {
  InitializeSRWLock((SRWLOCK *)(void *)m->b);
  return 0;
}
void nnp_mutex_destroy(NnpMutex *m) { (void)m; }
void nnp_mutex_lock(NnpMutex *m) {
  AcquireSRWLockExclusive((SRWLOCK *)(void *)m->b);
}
void nnp_mutex_unlock(NnpMutex *m) {
  ReleaseSRWLockExclusive((SRWLOCK *)(void *)m->b);
}
int nnp_cond_init(NnpCond *c) {
  InitializeConditionVariable((CONDITION_VARIABLE *)(void *)c->b);
  return 0;
}
void nnp_cond_destroy(NnpCond *c) { (void)c; }
void nnp_cond_wait(NnpCond *c, NnpMutex *m) {
  SleepConditionVariableSRW((CONDITION_VARIABLE *)(void *)c->b,
                            (SRWLOCK *)(void *)m->b, INFINITE, 0);
}
void nnp_cond_broadcast(NnpCond *c) {
  WakeAllConditionVariable((CONDITION_VARIABLE *)(void *)c->b);
}
void nnp_yield(void) { SwitchToThread(); }

#else /* POSIX */

typedef char nnp_posix_fits[sizeof(pthread_t) <= sizeof(NnpThread) &&
                            sizeof(pthread_mutex_t) <= sizeof(NnpMutex) &&
                            sizeof(pthread_cond_t) <= sizeof(NnpCond)
                                ? 1 : -1];

static void *entry(void *p) {
  Start s = *(Start *)p;
  free(p);
  s.fn(s.arg);
  return NULL;
}

int nnp_thread_start(NnpThread *t, void (*fn)(void *), void *arg) {
  Start *s = (Start *)malloc(sizeof *s);
  int e;
  if (!s) return ENOMEM;
  s->fn = fn;
  s->arg = arg;
  e = pthread_create((pthread_t *)(void *)t->b, NULL, entry, s);
  if (e) free(s);
  return e;
}

void nnp_thread_join(NnpThread *t) {
  pthread_join(*(pthread_t *)(void *)t->b, NULL);
}

int nnp_mutex_init(NnpMutex *m) {
  return pthread_mutex_init((pthread_mutex_t *)(void *)m->b, NULL);
}
void nnp_mutex_destroy(NnpMutex *m) {
  pthread_mutex_destroy((pthread_mutex_t *)(void *)m->b);
}
void nnp_mutex_lock(NnpMutex *m) {
  pthread_mutex_lock((pthread_mutex_t *)(void *)m->b);
}
void nnp_mutex_unlock(NnpMutex *m) {
  pthread_mutex_unlock((pthread_mutex_t *)(void *)m->b);
}
int nnp_cond_init(NnpCond *c) {
  return pthread_cond_init((pthread_cond_t *)(void *)c->b, NULL);
}
void nnp_cond_destroy(NnpCond *c) {
  pthread_cond_destroy((pthread_cond_t *)(void *)c->b);
}
void nnp_cond_wait(NnpCond *c, NnpMutex *m) {
  pthread_cond_wait((pthread_cond_t *)(void *)c->b,
                    (pthread_mutex_t *)(void *)m->b);
}
void nnp_cond_broadcast(NnpCond *c) {
  pthread_cond_broadcast((pthread_cond_t *)(void *)c->b);
}
void nnp_yield(void) { sched_yield(); }

#if defined(__linux__)
int nnp_cpu(void) { return sched_getcpu(); }

/* Narrowing the thread's mask to processors it is not on migrates it at
** once (the kernel moves a running thread off a processor its mask no
** longer has before the call returns); widening it again does not move
** it back.  The mask read first is the one put back, so a cpuset or a
** taskset the process runs under stays as it was. */
int nnp_moveoff(const int *avoid, int n) {
  cpu_set_t was, to;
  int i;
  if (sched_getaffinity(0, sizeof was, &was) != 0) return 0;
  to = was;
  for (i = 0; i < n; i++)
    if (avoid[i] >= 0 && avoid[i] < CPU_SETSIZE) CPU_CLR(avoid[i], &to);
  if (CPU_COUNT(&to) == 0 || sched_setaffinity(0, sizeof to, &to) != 0)
    return 0;
  sched_setaffinity(0, sizeof was, &was);
  return 1;
}
#endif

#endif

/* Only Linux tells a thread's processor and lets it move itself (above) */
#if !defined(__linux__)
int nnp_cpu(void) { return -1; }
int nnp_moveoff(const int *avoid, int n) {
  (void)avoid;
  (void)n;
  return 0;
}
#endif
