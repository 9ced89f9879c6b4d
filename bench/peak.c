/*
** peak.c: one core's floating-point peak, for bench/run.lua's "% of
** peak" columns.  A tight loop of fused multiply-adds on independent
** registers, with the widest vectors the CPU has (AVX-512, else AVX2 with
** FMA, else 4-float vectors of plain multiply-add), timed by the thread's
** CPU time (the machine may be shared); the best of several runs.
** Prints: GFLOP/s, then the vectors' name.
**   cc -O2 -pthread -o build/bench-peak bench/peak.c && build/bench-peak
** With an argument n (2 to 64): the same loop on n threads at once, one
** run of about 5 ms each, started together, each timed by its own CPU
** time; prints their GFLOP/s added up.  Over one core's peak it is what
** n threads can gain at that moment: a host that runs two virtual CPUs
** as the two hyperthreads of one core gives each half its FMA rate and
** reads 1, however idle the guest's CPUs look.  Then, on Linux, the
** round trip of a cache line between two threads on the first two CPUs
** the process may use (each waits for the other's write), in ns: some
** 56 between two cores that share an L3, 330 when the host had put the
** two virtual CPUs on two dies (then a batch-64 MLP step on 2 threads
** ran slower than on 1, and PyTorch's slowed alike), -1 if not measured.
*/
#if defined(__linux__)
#define _GNU_SOURCE                 /* sched_getaffinity, thread affinity */
#else
#define _POSIX_C_SOURCE 200112L
#endif
#include <pthread.h>
#if defined(__linux__)
#include <sched.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cputime(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* the 16 (12) chains: enough to hide an FMA latency of 4 cycles on 2
** ports with room to spare; the asm keeps GCC from folding the loop */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

__attribute__((target("avx512f"))) static double avx512(long n) {
  __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
#define D(i) __m512 a##i = _mm512_set1_ps((float)i);
  CHAINS(D) __m512 a12 = x, a13 = y, a14 = x, a15 = y;
#undef D
  double t0 = cputime();
  long k;
  for (k = 0; k < n; k++) {
#define F(i) a##i = _mm512_fmadd_ps(a##i, x, y);
    CHAINS(F) F(12) F(13) F(14) F(15)
#undef F
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4),
                     "+v"(a5), "+v"(a6), "+v"(a7));
    __asm__ volatile("" : "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11),
                     "+v"(a12), "+v"(a13), "+v"(a14), "+v"(a15));
  }
  return (double)n * 16 * 16 * 2 / (cputime() - t0) / 1e9;
}

__attribute__((target("avx2,fma"))) static double avx2(long n) {
  __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
#define D(i) __m256 a##i = _mm256_set1_ps((float)i);
  CHAINS(D)
#undef D
  double t0 = cputime();
  long k;
  for (k = 0; k < n; k++) {
#define F(i) a##i = _mm256_fmadd_ps(a##i, x, y);
    CHAINS(F)
#undef F
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4),
                     "+x"(a5), "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9),
                     "+x"(a10), "+x"(a11));
  }
  return (double)n * 12 * 8 * 2 / (cputime() - t0) / 1e9;
}
#endif

#if defined(__GNUC__) || defined(__clang__)
typedef float V4 __attribute__((vector_size(16)));
static double vec4(long n) {
  V4 x = {0.999999f, 0.999999f, 0.999999f, 0.999999f}, y = x * 1e-7f;
#define D(i) V4 a##i = x + (float)i;
  CHAINS(D)
#undef D
  double t0 = cputime();
  long k;
  for (k = 0; k < n; k++) {
#define F(i) a##i = a##i * x + y;
    CHAINS(F)
#undef F
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4),
                     "+x"(a5), "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9),
                     "+x"(a10), "+x"(a11));
  }
  return (double)n * 12 * 4 * 2 / (cputime() - t0) / 1e9;
}
#endif

typedef struct Run {
  double (*f)(long);
  pthread_barrier_t *go;
  double gflops;
} Run;

static void *together(void *arg) {
  Run *r = (Run *)arg;
  pthread_barrier_wait(r->go);
  r->gflops = r->f(1000000);
  return NULL;
}

/* f on n threads at once: their GFLOP/s added, or -1 */
static double concurrent(double (*f)(long), int n) {
  pthread_t t[64];
  Run run[64];
  pthread_barrier_t go;
  double sum = 0;
  int i, started = 0;
  if (pthread_barrier_init(&go, NULL, (unsigned)n) != 0) return -1;
  for (i = 0; i < n; i++) {
    run[i].f = f;
    run[i].go = &go;
    run[i].gflops = 0;
  }
  for (i = 1; i < n; i++, started++)
    if (pthread_create(&t[i], NULL, together, &run[i]) != 0) break;
  if (started == n - 1) together(&run[0]);
  for (i = 1; i <= started; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&go);
  if (started != n - 1) return -1;   /* the others wait at the barrier */
  for (i = 0; i < n; i++) sum += run[i].gflops;
  return sum;
}

/* the round trip, or -1 */
#if defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
enum { WARM = 5000, TRIPS = 20000 };   /* WARM: both running, untimed */
typedef struct Pong {
  int flag __attribute__((aligned(64)));
  int cpu;
} Pong;

static int pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *pong(void *arg) {
  Pong *p = (Pong *)arg;
  int i;
  if (pin(p->cpu) != 0) {             /* the other side stops on -1 */
    __atomic_store_n(&p->flag, -1, __ATOMIC_RELEASE);
    return NULL;
  }
  for (i = 0; i < WARM + TRIPS; i++) {
    while (__atomic_load_n(&p->flag, __ATOMIC_ACQUIRE) != 2 * i + 1) {}
    __atomic_store_n(&p->flag, 2 * i + 2, __ATOMIC_RELEASE);
  }
  return NULL;
}

static double roundtrip(void) {
  static Pong p;
  cpu_set_t was;
  pthread_t t;
  struct timespec a, b;
  int cpus[2], n = 0, c, i, v;
  if (sched_getaffinity(0, sizeof was, &was) != 0) return -1;
  for (c = 0; c < CPU_SETSIZE && n < 2; c++)
    if (CPU_ISSET(c, &was)) cpus[n++] = c;
  if (n < 2 || pin(cpus[0]) != 0) return -1;
  p.flag = 0;
  p.cpu = cpus[1];
  if (pthread_create(&t, NULL, pong, &p) != 0) return -1;
  for (i = 0; i < WARM + TRIPS; i++) {
    if (i == WARM) clock_gettime(CLOCK_MONOTONIC, &a);
    /* exchange: a flag of -1 (pong could not pin) is not overwritten */
    v = 2 * i;
    if (!__atomic_compare_exchange_n(&p.flag, &v, 2 * i + 1, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      break;
    while ((v = __atomic_load_n(&p.flag, __ATOMIC_ACQUIRE)) != 2 * i + 2 &&
           v >= 0) {}
    if (v < 0) break;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  pthread_join(t, NULL);
  if (i < WARM + TRIPS) return -1;
  return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec))
         / TRIPS;
}
#else
static double roundtrip(void) { return -1; }
#endif

int main(int argc, char **argv) {
  double (*f)(long) = NULL, best = 0;
  const char *name = "scalar";
  int r, n = argc > 1 ? atoi(argv[1]) : 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    f = avx512;
    name = "AVX-512 FMA, 16 floats";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    f = avx2;
    name = "AVX2 FMA, 8 floats";
  }
#endif
#if defined(__GNUC__) || defined(__clang__)
  if (!f) {
    f = vec4;
    name = "4-float multiply-add";
  }
#endif
  if (!f) {
    printf("0 none\n");
    return 0;
  }
  if (n > 1) {
    if (n > 64) n = 64;
    f(1000000);                      /* this thread's vectors warmed */
    double gf = concurrent(f, n);
    printf("%.1f %s, %d threads at once; %.0f ns round trip\n", gf, name, n,
           roundtrip());
    return 0;
  }
  for (r = 0; r < 7; r++) {
    double g = f(20000000);
    if (g > best) best = g;
  }
  printf("%.1f %s\n", best, name);
  return 0;
}
