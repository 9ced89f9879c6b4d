/*
** pool.h: the threads of one lua_State (pool.c), for the kernels the
** layers, losses and optimizers split: nn_parallel runs parts 0 ..
** nparts - 1 of a task, each once, on the state's threads, and returns
** when all are done.  A part's outputs must not depend on which thread
** runs it; thread (0 .. nn_poolsize - 1) is for picking the scratch that
** thread may write.
*/
#ifndef NN_POOL_H
#define NN_POOL_H

#include <stddef.h>

#include "compat.h"

typedef struct Pool Pool;
typedef void (*nn_Task)(void *arg, int part, int thread);

/* the state's pool, NULL while it runs one thread (nn.threads(1)) */
Pool *nn_pool(lua_State *L);
/* its threads, the caller's included: 1 for NULL */
int nn_poolsize(const Pool *p);
void nn_parallel(Pool *p, nn_Task fn, void *arg, int nparts);
/* fn(arg, a, b, thread) over [a, b) ranges that cover [0, n): up to 4
** parts a thread, none shorter than grain (a multiple of 16 elements,
** but for the last), one part if n is short */
typedef void (*nn_RangeTask)(void *arg, size_t a, size_t b, int thread);
/* how many parts nn_prange splits n elements into: n / grain (grain at
** least 16), at most 4 a thread, and a whole number a thread when there
** are more parts than threads */
size_t nn_nparts(const Pool *p, size_t n, size_t grain);
void nn_prange(Pool *p, nn_RangeTask fn, void *arg, size_t n, size_t grain);
/* the grain of the element-wise jobs on parameters and their gradients:
** an optimizer's step and zeroGrad (optim.c: a thread's share of each
** tensor, half of it on 2 threads) and the clearing of one gradient by
** Matrix:zero or fill or Module:zeroGrad (nn_prange: a thread's block of
** parts, within a few vectors of that share) split a tensor alike, so
** that each thread clears about what it has just updated, in its own
** cache.  With 65536 for the clearing, a batch-64 MLP step's zeroGrad on
** 2 threads cleared the 256 x 128 gradient on the caller alone, half of
** it in the other core's cache: 8.2 us against 1.8 on one thread. */
#define NN_PARAM_GRAIN 16384
/* k_sgemm (the own SGEMM) on the pool: C's columns (or rows, when it has
** more) split in blocks of whole micro-tiles, each computed as the whole
** product computes it, so the result is the same on any number of
** threads; a product below about a megaflop runs on the caller */
void nn_pgemm(Pool *p, int ta, int tb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);
/* nn_pgemm with a workspace (k_sgemm_ws) of nws floats for all its parts:
** nn_pgemm_wsize floats (0: none would help); and bias, NULL or N floats:
** C's rows are set to it (by the part that adds to them: each thread's
** rows stay in its cache) and the product added, beta taken as 1 */
size_t nn_pgemm_wsize(const Pool *p, int M, int N, int K);
void nn_pgemm_ws(Pool *p, int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta,
                 float *C, int ldc, const float *bias, float *ws,
                 size_t nws);
/* makes the state's pool n threads (n >= 1; 1: none), the old one's
** threads joined; returns the count in force (1 where built without
** threads) */
int nn_setthreads(lua_State *L, int n);

#endif
