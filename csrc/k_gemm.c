/*
** k_gemm.c: the project's own SGEMM, for the build without a BLAS
** (`make BLAS=none`, -DNN_BLAS_NONE; k_matrix.c's k_gemm calls it there).
**
** C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C, row-major as cblas.
**
** The blocked product follows Goto and van de Geijn, "Anatomy of
** high-performance matrix multiplication" (ACM TOMS 34(3), 2008), and
** BLIS's split into a portable macro-kernel and a tiny micro-kernel:
** a block of op(A) (mc x kc) is packed into slivers of MR rows stored
** column by column, a sliver of op(B) (kc x NR) into rows of NR, and the
** micro-kernel keeps an MR x NR tile of C in registers while it runs down
** kc rank-1 updates, reading both packed operands with unit stride.
**
** No allocation: the packed blocks live on the caller's stack, at most
** GEMM_STACK bytes (see below), so this file needs no state, no globals
** and no error path.  The micro-kernel is chosen at run time: portable C
** everywhere (ARM, wasm, any compiler), AVX2+FMA on x86-64 CPUs that have
** it (GCC and Clang: target attributes and __builtin_cpu_supports).
** NN_GEMM=portable in the environment forces the portable kernel (the
** specs test both on one machine).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* ---- the micro-kernels --------------------------------------------------- */

/* A micro-kernel: C[m,n] = alpha a b + beta C for m <= mr, n <= nr, where
** a is a packed sliver (a[k*mr + i], i < mr) and b a packed sliver
** (b[k*nr + j], j < nr), both zero-padded to mr and nr; beta 0 writes C
** without reading it (old NaNs vanish). */
typedef void (*Kern)(int kc, const float *a, const float *b, float *c,
                     int ldc, float alpha, float beta, int m, int n);

typedef struct {
  const char *name;
  int mr, nr;        /* the micro-tile */
  int kc;            /* the depth of a packed block, at most */
  Kern kern;
} Impl;

/* the portable micro-kernel: 4 x 16, a shape GCC and Clang vectorize with
** any 128-bit SIMD (SSE2, NEON, wasm simd128) and keep in 16 registers */
enum { PMR = 4, PNR = 16 };

static void kern_c(int kc, const float *a, const float *b, float *c, int ldc,
                   float alpha, float beta, int m, int n) {
  float acc[PMR][PNR];
  int i, j, k;
  memset(acc, 0, sizeof acc);
  for (k = 0; k < kc; k++, a += PMR, b += PNR)
    for (i = 0; i < PMR; i++)
      for (j = 0; j < PNR; j++) acc[i][j] += a[i] * b[j];
  for (i = 0; i < m; i++, c += ldc)
    if (beta == 0)
      for (j = 0; j < n; j++) c[j] = alpha * acc[i][j];
    else
      for (j = 0; j < n; j++) c[j] = alpha * acc[i][j] + beta * c[j];
}

static const Impl impl_c = {"portable", PMR, PNR, 256, kern_c};

/* ---- packing ------------------------------------------------------------- */

/* ap[mb x kb] from op(A)[i0.., k0..]: slivers of mr rows, each kb columns
** of mr floats; the last sliver zero-padded to mr rows */
static void pack_a(int ta, const float *A, int lda, int i0, int k0, int mb,
                   int kb, int mr, float *ap) {
  int s, i, k;
  for (s = 0; s < mb; s += mr, ap += (size_t)mr * kb) {
    int m = mb - s < mr ? mb - s : mr;
    if (ta) {                    /* op(A)[i,k] = A[k,i]: rows of A */
      const float *p = A + (size_t)k0 * lda + i0 + s;
      for (k = 0; k < kb; k++, p += lda) {
        for (i = 0; i < m; i++) ap[(size_t)k * mr + i] = p[i];
        for (; i < mr; i++) ap[(size_t)k * mr + i] = 0;
      }
    } else {                     /* op(A)[i,k] = A[i,k]: columns of A */
      for (i = 0; i < m; i++) {
        const float *p = A + (size_t)(i0 + s + i) * lda + k0;
        for (k = 0; k < kb; k++) ap[(size_t)k * mr + i] = p[k];
      }
      for (; i < mr; i++)
        for (k = 0; k < kb; k++) ap[(size_t)k * mr + i] = 0;
    }
  }
}

/* bp[kb x nr] from op(B)[k0.., j0..j0+nb-1], zero-padded to nr columns */
static void pack_b(int tb, const float *B, int ldb, int k0, int j0, int kb,
                   int nb, int nr, float *bp) {
  int j, k;
  if (tb) {                      /* op(B)[k,j] = B[j,k]: rows of B */
    for (j = 0; j < nb; j++) {
      const float *p = B + (size_t)(j0 + j) * ldb + k0;
      for (k = 0; k < kb; k++) bp[(size_t)k * nr + j] = p[k];
    }
    for (; j < nr; j++)
      for (k = 0; k < kb; k++) bp[(size_t)k * nr + j] = 0;
  } else {                       /* op(B)[k,j] = B[k,j]: rows of B */
    const float *p = B + (size_t)k0 * ldb + j0;
    for (k = 0; k < kb; k++, p += ldb, bp += nr) {
      memcpy(bp, p, (size_t)nb * sizeof *bp);
      for (j = nb; j < nr; j++) bp[j] = 0;
    }
  }
}

/* ---- the blocked product ------------------------------------------------- */

/* The stack the packed blocks may take: the A block (mc x kc) and one B
** sliver (kc x nr).  Lua runs C functions on its host's stack: 8 MB on a
** Linux main thread or glibc thread, 1 MB on Windows, 512 KB for a macOS
** thread; GEMM_STACK stays well inside all of them.  An embedder with
** smaller stacks (musl's 128 KB threads) builds with a lower
** -DNN_GEMM_STACK: smaller blocks, same results. */
#ifndef NN_GEMM_STACK
#define NN_GEMM_STACK (128 * 1024)
#endif
enum {
  STACK_FLOATS = NN_GEMM_STACK / sizeof(float),
  ALIGN = 16                          /* floats: 64 bytes */
};
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

static void blocked(const Impl *im, int ta, int tb, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B,
                    int ldb, float beta, float *C, int ldc) {
  float buf[STACK_FLOATS + 2 * ALIGN];
  const int mr = im->mr, nr = im->nr;
  /* K in equal chunks of at most im->kc (less if the stack is short, so
  ** that a sliver of each fits): no thin last chunk */
  int kmax = im->kc < STACK_FLOATS / (mr + nr) ? im->kc
                                               : STACK_FLOATS / (mr + nr);
  int nk = (K + kmax - 1) / kmax, kc = (K + nk - 1) / nk;
  int pc;
  for (pc = 0; pc < K; pc += kc) {
    int kb = K - pc < kc ? K - pc : kc, ic;
    float be = pc == 0 ? beta : 1;
    /* the B sliver first, then as many rows of A as the rest holds, in
    ** equal blocks of whole slivers */
    float *bp = aligned(buf), *ap = aligned(bp + (size_t)kb * nr);
    int mc = (STACK_FLOATS - kb * nr) / kb / mr * mr, nm = (M + mc - 1) / mc;
    mc = ((M + nm - 1) / nm + mr - 1) / mr * mr;
    for (ic = 0; ic < M; ic += mc) {
      int mb = M - ic < mc ? M - ic : mc, jc;
      pack_a(ta, A, lda, ic, pc, mb, kb, mr, ap);
      for (jc = 0; jc < N; jc += nr) {
        int nb = N - jc < nr ? N - jc : nr, ir;
        float *c = C + (size_t)ic * ldc + jc;
        pack_b(tb, B, ldb, pc, jc, kb, nb, nr, bp);
        for (ir = 0; ir < mb; ir += mr)
          im->kern(kb, ap + (size_t)ir * kb, bp, c + (size_t)ir * ldc, ldc,
                   alpha, be, mb - ir < mr ? mb - ir : mr, nb);
      }
    }
  }
}

/* ---- one row or one column: matrix-vector -------------------------------- */

/* acc[o] += sum_k X[o*ldx + k] v[k] for o < no, k < kb (rows of X . v) */
static void dot_c(int no, int kb, const float *X, int ldx, const float *v,
                  float *acc) {
  int o, k;
  for (o = 0; o < no; o++, X += ldx) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t = 0;
    for (k = 0; k + 8 <= kb; k += 8) {
      int u;
      for (u = 0; u < 8; u++) s[u] += X[k + u] * v[k + u];
    }
    for (; k < kb; k++) t += X[k] * v[k];
    acc[o] += ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
              + t;
  }
}

/* acc[o] += sum_k v[k] X[k*ldx + o] for o < no, k < kb (v^T X) */
static void axpy_c(int no, int kb, const float *X, int ldx, const float *v,
                   float *acc) {
  int o, k;
  for (k = 0; k < kb; k++, X += ldx) {
    float vk = v[k];
    for (o = 0; o < no; o++) acc[o] += vk * X[o];
  }
}

enum { GV_OUT = 256, GV_K = 1024 };

/* out[o*inco] = alpha sum_k X(o,k) v[k*incv] + beta out[o*inco], o < no,
** k < K, where X(o,k) is X[o*ldx + k] (dot) or X[k*ldx + o] (!dot) */
static void gemv(int dot, int no, int K, float alpha, const float *X, int ldx,
                 const float *v, int incv, float beta, float *out, int inco) {
  float acc[GV_OUT], vbuf[GV_K];
  int o0, k0, o, k;
  for (o0 = 0; o0 < no; o0 += GV_OUT) {
    int ob = no - o0 < GV_OUT ? no - o0 : GV_OUT;
    memset(acc, 0, sizeof acc);
    for (k0 = 0; k0 < K; k0 += GV_K) {
      int kb = K - k0 < GV_K ? K - k0 : GV_K;
      const float *vv = v + (size_t)k0 * incv;
      if (incv != 1) {
        for (k = 0; k < kb; k++) vbuf[k] = vv[(size_t)k * incv];
        vv = vbuf;
      }
      if (dot) dot_c(ob, kb, X + (size_t)o0 * ldx + k0, ldx, vv, acc);
      else axpy_c(ob, kb, X + (size_t)k0 * ldx + o0, ldx, vv, acc);
    }
    for (o = 0; o < ob; o++) {
      float *y = out + (size_t)(o0 + o) * inco;
      *y = beta == 0 ? alpha * acc[o] : alpha * acc[o] + beta * *y;
    }
  }
}

/* ---- the entry point ----------------------------------------------------- */

static const Impl *choose(void) {
  return &impl_c;
}

const char *k_sgemm_kernel(void) {
  return choose()->name;
}

void k_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
             int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0) {        /* as the reference BLAS: A, B unread */
    scale(M, N, beta, C, ldc);
    return;
  }
  if (M == 1)                        /* c = op(B)^T a, a = op(A)'s row */
    gemv(tb, N, K, alpha, B, ldb, A, ta ? lda : 1, beta, C, 1);
  else if (N == 1)                   /* c = op(A) b, b = op(B)'s column */
    gemv(!ta, M, K, alpha, A, lda, B, tb ? 1 : ldb, beta, C, ldc);
  else
    blocked(choose(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
