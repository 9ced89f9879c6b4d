/*
** platform.h: the few operating-system calls nn.core makes, with one face
** for POSIX and for Windows (platform.c has both): reading a regular file
** through a C runtime descriptor (which zlib's gzdopen takes), the atomic
** write that nn.save and image.save share, random bytes, a monotonic
** clock, whether a standard stream is a terminal, threads and the
** processor a thread runs on.  No Lua here.
**
** Failures are codes: errno values on both systems, a Windows error
** (GetLastError) as NNP_WINERR(e), or one of the NNP_ codes below;
** nnp_strerror turns any of them into words.
*/
#ifndef NN_PLATFORM_H
#define NN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NNP_ISDIR   (-1)              /* it is a directory */
#define NNP_NOTREG  (-2)              /* not a regular file: a FIFO, a device */
#define NNP_EXISTS  (-3)              /* the file to create is there already */
#define NNP_WINERR(e) (-1000 - (int)(e))

/* Opens path for reading if it is a regular file (binary mode; a FIFO's
** open does not block): *fd is a C runtime descriptor, *size the file's
** size.  0, or a code with nothing left open. */
int nnp_openread(const char *path, int *fd, int64_t *size);
/* up to n bytes from fd; the count, 0 at the end, -1 on an error (*err) */
int nnp_read(int fd, void *buf, unsigned n, int *err);
/* the first n bytes of the file, at offset 0, leaving fd's position; the
** count read (fewer on a short file or an error) */
int nnp_peek(int fd, void *buf, unsigned n);
void nnp_close(int fd);

/* What is at path: 0 a regular file (*mode its permission bits), ENOENT
** nothing, NNP_ISDIR, NNP_NOTREG, or another code. */
int nnp_stat(const char *path, unsigned *mode);
/* If path is a symbolic link, *real is its final target, from malloc (the
** caller frees it); else NULL.  0 or a code (a link to nothing: ENOENT).
** On Windows always 0 and NULL: a link there is replaced, not followed. */
int nnp_linktarget(const char *path, char **real);
/* Writes len bytes of data to tmp, a new file (created exclusively, so
** NNP_EXISTS if tmp is there; a link at tmp is not followed), with
** permission bits mode if keep, synced to the disk, then renamed over
** target (replacing it).  On any failure tmp is removed.  0 or a code. */
int nnp_writeover(const char *tmp, const char *target, const char *data,
                  size_t len, int keep, unsigned mode);

/* Fills buf with n unpredictable bytes: the system's generator, or where
** it fails a mix of the clock, the process and the address of buf. */
void nnp_random(unsigned char *buf, size_t n);
/* seconds from a monotonic clock */
double nnp_clock(void);
/* Whether f, the C stream of a Lua file handle, is a terminal.  std says
** which standard stream the handle is (0 stdin, 1 stdout, 2 stderr, -1
** another): on Windows f is not touched (it may belong to another C
** runtime than ours: LÖVE's lua51.dll is built with MSVC), and only a
** standard stream can be a console. */
int nnp_isatty(FILE *f, int std);

/* Threads, and the lock and condition they wait on: pthreads on POSIX,
** Win32 threads on Windows (Vista on).  Each is storage the caller owns
** (a field of its struct), of a size that holds either system's object;
** init, start and the others take its address.  The start function and
** the init functions return 0 or a code; the rest cannot fail once
** those have succeeded.  NNP_THREADS is 0 where nn.core is built
** without threads (NN_NO_THREADS, or a compiler without GCC's
** atomics), and then none of these may be called. */
#if defined(NN_NO_THREADS) || !(defined(__GNUC__) || defined(__clang__))
#define NNP_THREADS 0
#else
#define NNP_THREADS 1
#endif
typedef union NnpThread { unsigned char b[16]; void *p; double d; } NnpThread;
typedef union NnpMutex { unsigned char b[64]; void *p; double d; } NnpMutex;
typedef union NnpCond { unsigned char b[64]; void *p; double d; } NnpCond;

int nnp_thread_start(NnpThread *t, void (*fn)(void *), void *arg);
void nnp_thread_join(NnpThread *t);
int nnp_mutex_init(NnpMutex *m);
void nnp_mutex_destroy(NnpMutex *m);
void nnp_mutex_lock(NnpMutex *m);
void nnp_mutex_unlock(NnpMutex *m);
int nnp_cond_init(NnpCond *c);
void nnp_cond_destroy(NnpCond *c);
void nnp_cond_wait(NnpCond *c, NnpMutex *m);  /* m locked; may wake early */
void nnp_cond_broadcast(NnpCond *c);
/* gives the processor to another thread, if one is ready */
void nnp_yield(void);
/* The processor the calling thread runs on, or -1 where that is not known
** (everywhere but Linux). */
int nnp_cpu(void);
/* Moves the calling thread to a processor it may run on other than the n
** in avoid, then lets it run wherever it could before: a nudge, not a
** pin (the system places it as it likes from then on).  1 if it moved, 0
** if there is no such processor or the system cannot (not Linux). */
int nnp_moveoff(const int *avoid, int n);

/* the words for a code, in buf (n bytes) */
const char *nnp_strerror(int code, char *buf, size_t n);

#endif
