/*
** pool.c: the threads of one lua_State (nn.threads), which the layers'
** kernels split their work across.
**
** A pool is a userdata in the state's registry, made by nn.threads(n) for
** n > 1: n - 1 worker threads (platform.c's), the caller being the n-th.
** nn.threads(1), the default, has no pool and no thread at all, and two
** states never share one.  A job is one call of nn_parallel: parts 0 ..
** nparts - 1 of one task, each thread (the caller too) taking first its
** own block of them, then what is left of the others', and waited for;
** each part writes its own outputs, so which thread runs it changes
** nothing to the results, only to where they are cached.  Between jobs
** a worker spins for a while (a training step is many short jobs), then
** sleeps on a condition variable; the caller waits for the last part
** the same way.  The pool is stopped and its threads joined when
** nn.threads changes the count, and when the userdata is collected
** (lua_close collects everything).
**
** No Lua in the workers: a task is a kernel on float arrays whose every
** argument the binding checked before, and never calls nn_parallel.
*/
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "platform.h"
#include "pool.h"

static const char POOLKEY = 'p';        /* its address is the registry key */
#define POOL "nn.Pool"

#if NNP_THREADS

#define LOAD(p) __atomic_load_n(p, __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST)

#if defined(__x86_64__) || defined(__i386__)
#define PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__) || defined(__arm__)
#define PAUSE() __asm__ __volatile__("yield")
#else
#define PAUSE() ((void)0)
#endif

/* how long a thread spins before it sleeps, in seconds: longer than the
** gaps between the jobs of a training step, short beside a frame */
#define SPIN 100e-6

/* A thread's slot.  take is thread t's own block of the job's parts, t
** nparts / n to (t + 1) nparts / n - 1, in one word as the job (its
** number, the block's end, the next part), so that part i of every job
** runs on the same thread unless that one is late, and the rows a kernel
** writes are in the cache of the thread whose part reads them next.  A
** thread done with its block takes what is left of the others'.  Taken
** first come, first served, the worker took the caller's part in 3
** two-part jobs of 10 of a batch-64 MLP step on 2 threads, and the step
** ran 4 to 6% slower (whole processes, pairs of runs). */
typedef struct Worker {
  uint64_t take;
  struct Pool *pool;
  int id;                     /* 0: the caller's slot, no thread */
  int started;
  int cpu;                    /* atomic: where it ran its last job, or -1 */
  double moved;               /* when it last moved off a shared one */
  NnpThread thread;
  char pad[64];               /* two threads' take words, lines apart */
} Worker;

struct Pool {
  int n;                      /* threads, the caller's included */
  int up;                     /* the mutex and conditions are made */
  NnpMutex mu;
  NnpCond wake, done;         /* a new job; the last part of one */
  /* the job: fn and arg are set before job publishes it */
  nn_Task fn;
  void *arg;
  /* atomics: the job in one word, its number (bits 32 to 63) and its
  ** count of parts (16 to 31), and each slot's take the same way, with
  ** its block's end (16 to 31) and next part (0 to 15), so that a thread
  ** still leaving the last job can neither take a part of this one by
  ** mistake nor read this one's count against the last one's parts; the
  ** parts finished; stop */
  uint64_t job;
  int finished;
  int stop;
  int sleeping, waiting;      /* under mu: workers asleep, caller asleep */
  Worker w[1];                /* n of them: the caller's, the workers' */
};

#define GEN(j) ((uint32_t)((j) >> 32))
#define NPARTS(j) ((int)(((j) >> 16) & 0xffff))
#define NEXT(j) ((int)((j) & 0xffff))
enum { MAXPARTS = 0xffff };

/* takes parts of job gen until none is left, from its own block first,
** then from the next threads' in turn; the thread that finishes the last
** one wakes the caller if it sleeps.  The count of parts it ran. */
static int work(Pool *p, uint32_t gen, int id) {
  uint64_t j = LOAD(&p->job);
  const int nparts = NPARTS(j), n = p->n;
  int k, ran = 0;
  if (GEN(j) != gen) return 0;
  for (k = 0; k < n; k++) {
    uint64_t *take = &p->w[(id + k) % n].take;
    for (;;) {
      int i;
      j = LOAD(take);
      i = NEXT(j);
      if (GEN(j) != gen || i >= NPARTS(j)) break;
      if (!__atomic_compare_exchange_n(take, &j, j + 1, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST))
        continue;
      p->fn(p->arg, i, id);
      ran++;
      if (ADD(&p->finished, 1) + 1 == nparts) {
        nnp_mutex_lock(&p->mu);
        if (p->waiting) nnp_cond_broadcast(&p->done);
        nnp_mutex_unlock(&p->mu);
      }
    }
  }
  return ran;
}

/* spins for SPIN seconds at most: 1 once a new job is there (a job
** number other than seen) or the pool stops */
static int spinjob(Pool *p, uint32_t seen) {
  double t0 = nnp_clock();
  int k;
  for (;;) {
    for (k = 0; k < 64; k++) {
      if (GEN(LOAD(&p->job)) != seen || LOAD(&p->stop)) return 1;
      PAUSE();
    }
    if (nnp_clock() - t0 > SPIN) return 0;
  }
}

/* the same, 1 once all n parts are finished */
static int spindone(Pool *p, int n) {
  double t0 = nnp_clock();
  int k;
  for (;;) {
    for (k = 0; k < 64; k++) {
      if (LOAD(&p->finished) == n) return 1;
      PAUSE();
    }
    if (nnp_clock() - t0 > SPIN) return 0;
  }
}

/* Two threads of a pool on one processor take turns on it, a time slice
** each, and a job that waits for the part of the one not running waits
** that long: a batch-64 convolution took 400-500 us on 2 threads so,
** against 210 on two processors and 415 on one thread.  Linux may put
** a new thread, or one it wakes while the processors are busy, beside
** the thread that made or woke it, and here left it there for 10 to 40
** ms (bench/run.lua's 2-thread timings, each on a new pool made just
** after PyTorch's timing, often began so).  So a worker that finds it
** shares a processor with another thread of its pool moves itself off
** the pool's processors, if the process may run anywhere else, at most
** every MOVEGAP seconds (where processors are fewer than threads,
** sharing is the rule). */
#define MOVEGAP 0.01
enum { MAXSPREAD = 64 };        /* larger pools do not move their threads */

static void spread(Pool *p, Worker *w) {
  int avoid[MAXSPREAD], i, k = 0, cpu = nnp_cpu(), shared = 0;
  double now;
  STORE(&w->cpu, cpu);
  if (cpu < 0 || p->n > MAXSPREAD) return;
  for (i = 0; i < p->n; i++)
    if (i != w->id) {
      avoid[k] = LOAD(&p->w[i].cpu);
      shared |= avoid[k++] == cpu;
    }
  if (!shared) return;
  now = nnp_clock();
  if (now - w->moved < MOVEGAP) return;
  w->moved = now;
  avoid[k++] = cpu;
  if (nnp_moveoff(avoid, k)) STORE(&w->cpu, nnp_cpu());
}

static void workerloop(void *arg) {
  Worker *w = (Worker *)arg;
  Pool *p = w->pool;
  uint32_t seen = 0;
  for (;;) {
    if (!spinjob(p, seen)) {
      nnp_mutex_lock(&p->mu);
      while (GEN(LOAD(&p->job)) == seen && !LOAD(&p->stop)) {
        p->sleeping++;
        nnp_cond_wait(&p->wake, &p->mu);
        p->sleeping--;
      }
      nnp_mutex_unlock(&p->mu);
    }
    if (LOAD(&p->stop)) return;
    seen = GEN(LOAD(&p->job));
    spread(p, w);
    work(p, seen, w->id);
  }
}

void nn_parallel(Pool *p, nn_Task fn, void *arg, int nparts) {
  uint64_t gen;
  int i, awake;
  if (!p || p->n == 1 || nparts <= 1 || nparts > MAXPARTS) {
    for (i = 0; i < nparts; i++) fn(arg, i, 0);
    return;
  }
  gen = GEN(LOAD(&p->job)) + 1;
  STORE(&p->w[0].cpu, nnp_cpu());
  p->fn = fn;
  p->arg = arg;
  STORE(&p->finished, 0);
  for (i = 0; i < p->n; i++)          /* before the job, which publishes them */
    STORE(&p->w[i].take, gen << 32 | (uint64_t)((i + 1) * nparts / p->n) << 16
                             | (uint64_t)(i * nparts / p->n));
  STORE(&p->job, gen << 32 | (uint64_t)nparts << 16);
  nnp_mutex_lock(&p->mu);
  awake = p->n - 1 - p->sleeping;
  if (p->sleeping) nnp_cond_broadcast(&p->wake);
  nnp_mutex_unlock(&p->mu);
  /* every part on the caller while a worker was awake: that worker is
  ** not running, most likely waiting behind the caller on its processor
  ** (spread, above); yielding lets it run and move */
  if (work(p, (uint32_t)gen, 0) == nparts && awake) nnp_yield();
  if (!spindone(p, nparts)) {
    nnp_mutex_lock(&p->mu);
    while (LOAD(&p->finished) != nparts) {
      p->waiting++;
      nnp_cond_wait(&p->done, &p->mu);
      p->waiting--;
    }
    nnp_mutex_unlock(&p->mu);
  }
}

/* stops the workers and joins them; the pool can then be freed */
static void stop(Pool *p) {
  int i;
  if (!p->up) return;
  nnp_mutex_lock(&p->mu);
  STORE(&p->stop, 1);
  nnp_cond_broadcast(&p->wake);
  nnp_mutex_unlock(&p->mu);
  for (i = 1; i < p->n; i++)
    if (p->w[i].started) nnp_thread_join(&p->w[i].thread);
  nnp_cond_destroy(&p->done);
  nnp_cond_destroy(&p->wake);
  nnp_mutex_destroy(&p->mu);
  p->up = 0;
  p->n = 1;
}

static int pool_gc(lua_State *L) {
  stop((Pool *)luaL_checkudata(L, 1, POOL));
  return 0;
}

/* a pool of n threads on the stack top; an error if a thread cannot start
** (those started are joined first) */
static Pool *newpool(lua_State *L, int n) {
  size_t size = sizeof(Pool) + (size_t)(n - 1) * sizeof(Worker);
  Pool *p = (Pool *)lua_newuserdatauv(L, size, 0);
  int i, e;
  memset(p, 0, size);
  p->n = 1;
  if (luaL_newmetatable(L, POOL)) {
    lua_pushcfunction(L, pool_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  if ((e = nnp_mutex_init(&p->mu)) != 0) goto fail;
  if ((e = nnp_cond_init(&p->wake)) != 0) {
    nnp_mutex_destroy(&p->mu);
    goto fail;
  }
  if ((e = nnp_cond_init(&p->done)) != 0) {
    nnp_cond_destroy(&p->wake);
    nnp_mutex_destroy(&p->mu);
    goto fail;
  }
  p->up = 1;
  p->n = n;
  for (i = 0; i < n; i++) p->w[i].cpu = -1;
  for (i = 1; i < n; i++) {
    p->w[i].pool = p;
    p->w[i].id = i;
    if ((e = nnp_thread_start(&p->w[i].thread, workerloop, &p->w[i])) != 0) {
      stop(p);
      goto fail;
    }
    p->w[i].started = 1;
  }
  return p;
fail: {
    char buf[128];
    luaL_error(L, "nn.threads: cannot start %d threads: %s", n,
               nnp_strerror(e, buf, sizeof buf));
    return NULL;
  }
}

#else /* no threads: every job runs on the caller */

struct Pool {
  int n;
};

void nn_parallel(Pool *p, nn_Task fn, void *arg, int nparts) {
  int i;
  (void)p;
  for (i = 0; i < nparts; i++) fn(arg, i, 0);
}

#endif

/* ---- splitting a range, a product ---------------------------------------- */

typedef struct Range {
  nn_RangeTask fn;
  void *arg;
  size_t n, step;
  int nparts;
} Range;

static void rangepart(void *arg, int part, int thread) {
  const Range *r = (const Range *)arg;
  size_t a = (size_t)part * r->step, b = part == r->nparts - 1 ? r->n
                                                               : a + r->step;
  r->fn(r->arg, a, b, thread);
}

size_t nn_nparts(const Pool *p, size_t n, size_t grain) {
  size_t nt = (size_t)nn_poolsize(p), parts = n / (grain < 16 ? 16 : grain);
  if (parts > 4 * nt) parts = 4 * nt;
  /* a whole number of parts a thread: the blocks each thread takes first
  ** are then the same size (3 parts on 2 threads gave the caller a third
  ** and the worker two: an MLP's zeroGrad took 29 us there, 12 on one
  ** thread) */
  return parts > nt ? parts / nt * nt : parts;
}

void nn_prange(Pool *p, nn_RangeTask fn, void *arg, size_t n, size_t grain) {
  Range r;
  size_t parts = nn_nparts(p, n, grain);
  if (parts <= 1 || nn_poolsize(p) == 1) {
    fn(arg, 0, n, 0);
    return;
  }
  r.fn = fn;
  r.arg = arg;
  r.n = n;
  r.step = (n / parts + 15) / 16 * 16;     /* whole vectors, aligned */
  r.nparts = (int)((n + r.step - 1) / r.step);
  nn_parallel(p, rangepart, &r, r.nparts);
}

typedef struct Gemm {
  int ta, tb, M, N, K, lda, ldb, ldc, cols;
  float alpha, beta;
  const float *A, *B, *bias;
  float *C, *ws;
  size_t nws;                   /* floats of ws a part */
  int step, nparts;
} Gemm;

/* C[M,N]'s every row set to bias[N] */
static void biasrows(int M, int N, const float *bias, float *C, int ldc) {
  int i;
  for (i = 0; i < M; i++)
    memcpy(C + (size_t)i * ldc, bias, (size_t)N * sizeof *C);
}

static void gemmpart(void *arg, int part, int thread) {
  const Gemm *g = (const Gemm *)arg;
  int a = part * g->step, n = (g->cols ? g->N : g->M) - a;
  float *ws = g->ws ? g->ws + (size_t)part * g->nws : NULL;
  (void)thread;
  if (part < g->nparts - 1) n = g->step;
  if (g->bias) {                /* by the part that adds to them */
    if (g->cols) biasrows(g->M, n, g->bias + a, g->C + a, g->ldc);
    else biasrows(n, g->N, g->bias, g->C + (size_t)a * g->ldc, g->ldc);
  }
  if (g->cols)                  /* columns a .. a + n - 1 of C and op(B) */
    k_sgemm_ws(g->ta, g->tb, g->M, n, g->K, g->alpha, g->A, g->lda,
               g->tb ? g->B + (size_t)a * g->ldb : g->B + a, g->ldb, g->beta,
               g->C + a, g->ldc, ws, g->nws);
  else                          /* rows a .. a + n - 1 of C and op(A) */
    k_sgemm_ws(g->ta, g->tb, n, g->N, g->K, g->alpha,
               g->ta ? g->A + a : g->A + (size_t)a * g->lda, g->lda, g->B,
               g->ldb, g->beta, g->C + (size_t)a * g->ldc, g->ldc, ws,
               g->nws);
}

/* One part a thread, in blocks of 32 columns or 12 rows: whole
** micro-tiles of every kernel k_gemm.c has (4 x 8, 6 x 16, 12 x 32), and
** never a block of one row or column (k_sgemm would take it as a
** matrix-vector product, summed in another order).  Each part packs the
** whole of the operand it shares (A for a split of columns): more parts
** than threads would pack it again for nothing (a batch-64 MLP step on 2
** threads in 8 parts: 1.24 times the speed of 1 thread). */
void nn_pgemm(Pool *p, int ta, int tb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc) {
  nn_pgemm_ws(p, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL,
              NULL, 0);
}

void nn_pgemm_ws(Pool *p, int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta,
                 float *C, int ldc, const float *bias, float *ws,
                 size_t nws) {
  Gemm g;
  int nt = nn_poolsize(p), cols = N >= M, unit = cols ? 32 : 12;
  int len = cols ? N : M, blocks = len / unit, per;
  if (bias) beta = 1;
  if (nt == 1 || M < 2 || N < 2 || blocks < 2 ||
      2.0 * M * N * K < 1e6) {
    if (bias) biasrows(M, N, bias, C, ldc);
    k_sgemm_ws(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ws, nws);
    return;
  }
  if (blocks > nt) blocks = nt;
  per = (len / unit + blocks - 1) / blocks;      /* units per part */
  g.ta = ta; g.tb = tb; g.M = M; g.N = N; g.K = K;
  g.alpha = alpha; g.beta = beta;
  g.A = A; g.lda = lda; g.B = B; g.ldb = ldb; g.C = C; g.ldc = ldc;
  g.bias = bias;
  g.cols = cols;
  g.ws = ws;                    /* a part's share: every part's shape is */
  g.nws = nws / nt;             /* at most the whole's */
  g.step = per * unit;
  g.nparts = (len / unit + per - 1) / per;  /* the last takes the rest */
  nn_parallel(p, gemmpart, &g, g.nparts);
}

size_t nn_pgemm_wsize(const Pool *p, int M, int N, int K) {
  return (size_t)nn_poolsize(p) * k_sgemm_wsize(M, N, K);
}

Pool *nn_pool(lua_State *L) {
  Pool *p = NULL;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &POOLKEY) == LUA_TUSERDATA)
    p = (Pool *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return p;
}

int nn_poolsize(const Pool *p) {
  return p ? p->n : 1;
}

int nn_setthreads(lua_State *L, int n) {
#if NNP_THREADS
  Pool *p = nn_pool(L);
  if (n == nn_poolsize(p)) return n;
  if (p) {                       /* the old one's threads end now */
    stop(p);
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &POOLKEY);
  }
  if (n > 1) {
    newpool(L, n);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &POOLKEY);
  }
  return n;
#else
  (void)L;
  (void)n;
  return 1;
#endif
}
