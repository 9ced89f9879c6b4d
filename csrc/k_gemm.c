/*
** k_gemm.c: the project's own SGEMM, for the build without a BLAS
** (`make BLAS=none`, -DNN_BLAS_NONE; k_matrix.c's k_gemm calls it there).
**
** C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C, row-major as cblas.
**
** The blocked product follows Goto and van de Geijn, "Anatomy of
** high-performance matrix multiplication" (ACM TOMS 34(3), 2008), and
** BLIS's split into a portable macro-kernel and a tiny micro-kernel: a
** block of op(A) (mc x kc) is packed into slivers of MR rows stored
** column by column, a sliver of op(B) (kc x NR) into rows of NR, and the
** micro-kernel keeps an MR x NR tile of C in registers while it runs down
** kc rank-1 updates, reading both packed operands with unit stride.  One
** row or one column of output is a matrix-vector product, done apart.
**
** No allocation: the packed blocks live on the caller's stack, at most
** NN_GEMM_STACK bytes (see below), so this file needs no state, no globals
** and no error path.  The kernels are chosen at run time: portable C
** everywhere (ARM, wasm, any compiler), AVX2+FMA and AVX-512 on x86-64
** CPUs that have them (GCC and Clang: target attributes and
** __builtin_cpu_supports).  NN_GEMM=portable (or avx2) in the environment
** holds the choice to that kernel, so the specs test each on one machine.
**
** This file is the driver: the blocked product, matrix-vector and the
** choice of kernels; k_gemm_kernels.c has the kernels, k_gemm.h their
** types.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "k_gemm.h"

/* ---- the blocked product ------------------------------------------------- */

/* The stack the packed blocks may take: one B sliver (kc x nr) and the A
** block (mc x kc).  Lua runs C functions on its host's stack: 8 MB on a
** Linux main thread or glibc thread, 1 MB on Windows, 512 KB for a macOS
** thread; NN_GEMM_STACK stays well inside all of them.  An embedder with
** smaller stacks (musl's 128 KB threads) builds with a lower
** -DNN_GEMM_STACK: smaller blocks, same results. */
#ifndef NN_GEMM_STACK
#define NN_GEMM_STACK (128 * 1024)
#endif
enum {
  STACK_FLOATS = NN_GEMM_STACK / sizeof(float),
  ALIGN = 16                          /* floats: 64 bytes */
};
enum { ROWS_L2 = 64 * 1024 };     /* floats of B's block for rowsblock */
typedef char k_gemm_stack_check[NN_GEMM_STACK >= 8192 ? 1 : -1];

/* C = beta C, beta 0 writing zeros */
static void scale(int M, int N, float beta, float *C, int ldc) {
  int i, j;
  for (i = 0; i < M; i++, C += ldc)
    if (beta == 0) memset(C, 0, (size_t)N * sizeof *C);
    else if (beta != 1)
      for (j = 0; j < N; j++) C[j] *= beta;
}

static float *aligned(float *p) {
  return p + (ALIGN - ((uintptr_t)p / sizeof(float)) % ALIGN) % ALIGN;
}

/* The depth of the packed blocks for K: equal chunks of at most im->kc
** (less if the stack is short, so that a sliver of each fits), no thin
** last chunk */
static int depth(const Impl *im, int K) {
  int kmax = im->kc < STACK_FLOATS / (im->mr + im->nr)
                 ? im->kc : STACK_FLOATS / (im->mr + im->nr);
  int nk = (K + kmax - 1) / kmax;
  return (K + nk - 1) / nk;
}

/* rows of A a block when the stack also holds a B sliver of depth kb, in
** whole slivers of mr */
static int ablock(const Impl *im, int kb) {
  return (STACK_FLOATS - kb * im->nr) / kb / im->mr * im->mr;
}

/* op(B)'s sliver of nb <= r columns from jc, depth kb from pc, into b */
static void packb(const Impl *im, int tb, const float *B, int ldb, int pc,
                  int jc, int nb, int r, int kb, float *b) {
  if (tb) im->packt(B + (size_t)jc * ldb + pc, ldb, nb, r, kb, b);
  else im->packn(B + (size_t)pc * ldb + jc, ldb, nb, r, kb, b);
}

/* whether the sliver from column jc of bw packed columns was packed
** narrow (nr2 wide): its own width decides, not how much of it a product
** asks for, since a part of the columns may end inside a full sliver */
static int narrow(const Impl *im, int bw, int jc) {
  return bw - jc <= im->nr2;
}

/* C (+)= alpha A's rows read in place times op(B)'s block packed in bp
** (every sliver, depth kb, within ROWS_L2 floats): six rows of A (a few
** KB) stay in L1 while B's block comes from L2.  Packing A's block
** instead reads A once more and writes it once; where B is narrow
** (N 256 or less) that costs more than the kernel gains from packed
** rows: 1000 x 784 by 784 x 256 went from 89 to 93 GFLOP/s, 1000 x 128
** by 128 x 10 from 35 to 47 (Zen 3, best of 40, 4 runs of each). */
static void rowsblock(const Impl *im, int M, int N, int bw, int kb,
                      float alpha, const float *A, int lda, const float *bp,
                      float be, float *C, int ldc) {
  const int mr = im->mr, nr = im->nr;
  int ir, jc;
  for (ir = 0; ir < M; ir += mr) {
    int m = M - ir < mr ? M - ir : mr;
    for (jc = 0; jc < N; jc += nr) {
      int nb = N - jc < nr ? N - jc : nr;
      KernA kern = narrow(im, bw, jc) ? im->kerna2 : im->kerna;
      kern(kb, A + (size_t)ir * lda, lda, bp + (size_t)(jc / nr) * kb * nr,
           C + (size_t)ir * ldc + jc, ldc, alpha, be, m, nb);
    }
  }
}

/* the padded width of op(B)'s packed blocks: whole slivers */
static int npad(const Impl *im, int N) {
  return (N + im->nr - 1) / im->nr * im->nr;
}

/* every sliver of op(B)'s block of depth kb from pc into bp, sliver jc at
** bp + (jc / nr) kb nr, a narrow last one nr2 wide */
static void packblock(const Impl *im, int tb, int N, const float *B,
                      int ldb, int pc, int kb, float *bp) {
  const int nr = im->nr;
  int jc;
  for (jc = 0; jc < N; jc += nr) {
    int nb = N - jc < nr ? N - jc : nr, r = narrow(im, N, jc) ? im->nr2 : nr;
    packb(im, tb, B, ldb, pc, jc, nb, r, kb, bp + (size_t)(jc / nr) * kb * nr);
  }
}

/* op(A)'s rows ic .. ic + mb - 1, depth kb, in slivers of mr into ap; A is
** at the block's first column of op(A) */
static void packa(const Impl *im, int ta, const float *A, int lda, int ic,
                  int mb, int kb, float *ap) {
  const int mr = im->mr;
  int s;
  for (s = 0; s < mb; s += mr) {
    int m = mb - s < mr ? mb - s : mr;
    if (ta) im->packn(A + ic + s, lda, m, mr, kb, ap + (size_t)s * kb);
    else im->packt(A + (size_t)(ic + s) * lda, lda, m, mr, kb,
                   ap + (size_t)s * kb);
  }
}

/* C (+)= alpha times mb rows of A packed in slivers (ap) by one sliver of
** B (b, nb columns): a micro-tile a sliver of A */
static void column(const Impl *im, Kern kern, int kb, const float *ap,
                   const float *b, float *c, int ldc, float alpha, float be,
                   int mb, int nb) {
  const int mr = im->mr;
  int ir;
  for (ir = 0; ir < mb; ir += mr)
    kern(kb, ap + (size_t)ir * kb, b, c + (size_t)ir * ldc, ldc, alpha, be,
         mb - ir < mr ? mb - ir : mr, nb);
}

/* C (+)= alpha op(A) times a block of op(B) packed whole in bp (depth kb,
** as packblock lays out bw >= N columns: C's N are the first of them), A
** at the block's first column of op(A): A's rows read in place where
** that pays (rowsblock), else packed a block at a time on the stack */
static void withblock(const Impl *im, int ta, int M, int N, int bw, int kb,
                      float alpha, const float *A, int lda, const float *bp,
                      float be, float *C, int ldc) {
  float buf[STACK_FLOATS + ALIGN];
  const int mr = im->mr, nr = im->nr;
  float *ap = aligned(buf);
  int mc = STACK_FLOATS / kb / mr * mr, nm, ic;
  if (!ta && im->kerna && (size_t)kb * npad(im, N) <= ROWS_L2) {
    rowsblock(im, M, N, bw, kb, alpha, A, lda, bp, be, C, ldc);
    return;
  }
  nm = (M + mc - 1) / mc;                      /* equal blocks */
  mc = ((M + nm - 1) / nm + mr - 1) / mr * mr;
  for (ic = 0; ic < M; ic += mc) {
    int mb = M - ic < mc ? M - ic : mc, jc;
    packa(im, ta, A, lda, ic, mb, kb, ap);
    for (jc = 0; jc < N; jc += nr) {
      int nb = N - jc < nr ? N - jc : nr;
      Kern kern = narrow(im, bw, jc) ? im->kern2 : im->kern;
      column(im, kern, kb, ap, bp + (size_t)(jc / nr) * kb * nr,
             C + (size_t)ic * ldc + jc, ldc, alpha, be, mb, nb);
    }
  }
}

/* C (+)= alpha op(A) op(B)'s block of depth kb from pc, packing a sliver
** of B at a time (beside as many rows of A as the rest of the stack
** holds, in equal blocks of whole slivers) for every block of A's rows */
static void slivers(const Impl *im, int ta, int tb, int M, int N, int pc,
                    int kb, float alpha, const float *A, int lda,
                    const float *B, int ldb, float be, float *C, int ldc) {
  float buf[STACK_FLOATS + 2 * ALIGN];
  const int mr = im->mr, nr = im->nr;
  float *bp = aligned(buf), *ap = aligned(bp + (size_t)kb * nr);
  int mc = ablock(im, kb), nm = (M + mc - 1) / mc, ic;
  mc = ((M + nm - 1) / nm + mr - 1) / mr * mr;
  for (ic = 0; ic < M; ic += mc) {
    int mb = M - ic < mc ? M - ic : mc, jc;
    packa(im, ta, A, lda, ic, mb, kb, ap);
    for (jc = 0; jc < N; jc += nr) {
      int nb = N - jc < nr ? N - jc : nr;
      int thin = narrow(im, N, jc), r = thin ? im->nr2 : nr;
      Kern kern = thin ? im->kern2 : im->kern;
      packb(im, tb, B, ldb, pc, jc, nb, r, kb, bp);
      column(im, kern, kb, ap, bp, C + (size_t)ic * ldc + jc, ldc, alpha, be,
             mb, nb);
    }
  }
}

/* ws: NULL, or room for every sliver of B's block (k_sgemm_wsize), packed
** once a block of K instead of once for every block of A's rows */
static void blocked(const Impl *im, int ta, int tb, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B,
                    int ldb, float beta, float *C, int ldc, float *ws) {
  const int kc = depth(im, K);
  int pc;
  for (pc = 0; pc < K; pc += kc) {
    int kb = K - pc < kc ? K - pc : kc;
    float be = pc == 0 ? beta : 1;
    const float *a = ta ? A + (size_t)pc * lda : A + pc;
    if (ws) {
      float *bp = aligned(ws);
      packblock(im, tb, N, B, ldb, pc, kb, bp);
      withblock(im, ta, M, N, N, kb, alpha, a, lda, bp, be, C, ldc);
    } else {
      slivers(im, ta, tb, M, N, pc, kb, alpha, a, lda, B, ldb, be, C, ldc);
    }
  }
}

/* ---- one row or one column: matrix-vector -------------------------------- */

enum { GV_OUT = 256, GV_K = 1024 };

/* out[o*inco] = alpha sum_k X(o,k) v[k*incv] + beta out[o*inco], o < no,
** k < K, where X(o,k) is X[o*ldx + k] (dot) or X[k*ldx + o] (!dot); a
** strided v is gathered GV_K at a time */
static void gemv(const Impl *im, int dot, int no, int K, float alpha,
                 const float *X, int ldx, const float *v, int incv,
                 float beta, float *out, int inco) {
  float acc[GV_OUT], vbuf[GV_K];
  const int kstep = incv == 1 ? K : GV_K;
  int o0, k0, o, k;
  for (o0 = 0; o0 < no; o0 += GV_OUT) {
    int ob = no - o0 < GV_OUT ? no - o0 : GV_OUT;
    memset(acc, 0, (size_t)ob * sizeof *acc);
    for (k0 = 0; k0 < K; k0 += kstep) {
      int kb = K - k0 < kstep ? K - k0 : kstep;
      const float *vv = v + (size_t)k0 * incv;
      if (incv != 1) {
        for (k = 0; k < kb; k++) vbuf[k] = vv[(size_t)k * incv];
        vv = vbuf;
      }
      if (dot) im->dot(ob, kb, X + (size_t)o0 * ldx + k0, ldx, vv, acc);
      else im->axpy(ob, kb, X + (size_t)k0 * ldx + o0, ldx, vv, acc);
    }
    for (o = 0; o < ob; o++) {
      float *y = out + (size_t)(o0 + o) * inco;
      *y = beta == 0 ? alpha * acc[o] : alpha * acc[o] + beta * *y;
    }
  }
}

/* ---- the entry point ----------------------------------------------------- */

/* The best kernels the CPU runs, or those NN_GEMM names if the CPU runs
** them.  Asked on every call: __builtin_cpu_supports reads what libgcc (or
** compiler-rt) found at load time, and getenv is a short scan; both are
** nothing beside a product, and no state is kept here. */
static const Impl *choose(void) {
#ifdef GEMM_X86
  const char *e = getenv("NN_GEMM");
  int want = !e ? 2 : !strcmp(e, "portable") ? 0 : !strcmp(e, "avx2") ? 1 : 2;
  if (want >= 2 && __builtin_cpu_supports("avx512f")) return &k_gemm_avx512;
  if (want >= 1 && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return &k_gemm_avx2;
#endif
  return &k_gemm_portable;
}

const char *k_sgemm_kernel(void) {
  return choose()->name;
}

/* The floats of the workspace that spares the product from packing each
** sliver of B again for every block of A's rows: 0 where A's rows fit
** one block (or the product is a matrix-vector one) and there is nothing
** to spare.  A 1000 x 784 by 784 x 256 product packed B 8 times. */
size_t k_sgemm_wsize(int M, int N, int K) {
  const Impl *im = choose();
  int kc;
  if (M <= 1 || N <= 1 || K <= 0) return 0;
  kc = depth(im, K);
  if (M <= ablock(im, kc)) return 0;
  return (size_t)kc * ((N + im->nr - 1) / im->nr * im->nr) + ALIGN;
}

void k_sgemm_ws(int ta, int tb, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc, float *ws, size_t nws) {
  const Impl *im;
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0) {        /* as the reference BLAS: A, B unread */
    scale(M, N, beta, C, ldc);
    return;
  }
  im = choose();
  if (M == 1)                        /* c = op(B)^T a, a = op(A)'s row */
    gemv(im, tb, N, K, alpha, B, ldb, A, ta ? lda : 1, beta, C, 1);
  else if (N == 1)                   /* c = op(A) b, b = op(B)'s column */
    gemv(im, !ta, M, K, alpha, A, lda, B, tb ? 1 : ldb, beta, C, ldc);
  else {
    size_t need = k_sgemm_wsize(M, N, K);   /* a short ws is not used */
    blocked(im, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
            ws && need && nws >= need ? ws : NULL);
  }
}

void k_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
             int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  k_sgemm_ws(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0);
}

/* ---- op(B) packed once, for many products -------------------------------- */

/* op(B)'s blocks one after another: the block of depth kb from pc at
** pc npad(N) floats from the aligned start, as blocked packs it in ws */
size_t k_sgemm_packsize(int N, int K) {
  const Impl *im = choose();
  if (N <= 0 || K <= 0) return ALIGN;
  return (size_t)K * npad(im, N) + ALIGN;
}

void k_sgemm_pack(int tb, int N, int K, const float *B, int ldb, float *bp) {
  const Impl *im = choose();
  const int kc = depth(im, K);
  float *base = aligned(bp);
  int pc;
  if (N <= 0) return;
  for (pc = 0; pc < K; pc += kc)
    packblock(im, tb, N, B, ldb, pc, K - pc < kc ? K - pc : kc,
              base + (size_t)pc * npad(im, N));
}

void k_sgemm_packed(int ta, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *bp, int bn, int j0, float beta,
                    float *C, int ldc) {
  const Impl *im;
  const float *base;
  int kc, pc;
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0) {
    scale(M, N, beta, C, ldc);
    return;
  }
  im = choose();
  kc = depth(im, K);
  /* bp is read only: aligned() gives the start k_sgemm_pack wrote at */
  base = aligned((float *)(uintptr_t)bp);
  for (pc = 0; pc < K; pc += kc) {
    int kb = K - pc < kc ? K - pc : kc;
    withblock(im, ta, M, N, bn - j0, kb, alpha,
              ta ? A + (size_t)pc * lda : A + pc,
              lda, base + (size_t)pc * npad(im, bn) +
                       (size_t)(j0 / im->nr) * kb * im->nr,
              pc == 0 ? beta : 1, C, ldc);
  }
}

