/*
** k_gemm.h: what the own SGEMM's two files share (k_gemm.c, the blocked
** product and matrix-vector driver; k_gemm_kernels.c, the packing
** routines and micro-kernels: portable C, AVX2+FMA, AVX-512).  Private
** to them: the rest of the core calls k_sgemm (kernels.h).
*/
#ifndef NN_K_GEMM_H
#define NN_K_GEMM_H

/* A micro-kernel: C[m,n] = alpha a b + beta C for m <= mr, n <= nr, where
** a is a packed sliver (a[k*mr + i], i < mr) and b a packed sliver
** (b[k*nr + j], j < nr), both zero-padded to mr and nr, b aligned to 64
** bytes; beta 0 writes C without reading it (old NaNs vanish). */
typedef void (*Kern)(int kc, const float *a, const float *b, float *c,
                     int ldc, float alpha, float beta, int m, int n);

/* The same reading A unpacked: a[i*lda + k], rows i < m of a row-major
** op(A), where a packed sliver would cost more than the kernel saves */
typedef void (*KernA)(int kc, const float *a, int lda, const float *b,
                      float *c, int ldc, float alpha, float beta, int m,
                      int n);

/* A packing routine: out[k*r + i] for k < kb, i < r from the m <= r
** vectors at src, ld apart, zeros for i >= m.  Transposing (packt): the
** vectors are rows along k, out[k*r + i] = src[i*ld + k].  Not (packn):
** the rows are along i, out[k*r + i] = src[k*ld + i]. */
typedef void (*Pack)(const float *src, int ld, int m, int r, int kb,
                     float *out);

/* Matrix-vector: acc[o] += sum_k X[o*ldx + k] v[k] (dot: rows of X times
** v) or acc[o] += sum_k v[k] X[k*ldx + o] (axpy: v times X), o < no,
** k < kb. */
typedef void (*Gemv)(int no, int kb, const float *X, int ldx, const float *v,
                     float *acc);

typedef struct {
  const char *name;
  int mr, nr;        /* the micro-tile */
  int kc;            /* the depth of a packed block, at most */
  Kern kern;
  int nr2;           /* a narrower kernel for a last sliver of nr2 or less */
  Kern kern2;
  KernA kerna, kerna2;    /* A unpacked (NULL: none), nr and nr2 wide */
  Pack packt, packn;
  Gemv dot, axpy;
} Impl;

/* the depth of the packed blocks (tuned in the README's "Without a
** BLAS"), and its bound */
#ifndef NN_GEMM_KC
#define NN_GEMM_KC 256
#endif
enum { KC_MAX = 512 };
typedef char k_gemm_kc_check[NN_GEMM_KC >= 8 && NN_GEMM_KC <= KC_MAX ? 1 : -1];

/* x86-64 with GCC or Clang: kernels compiled for AVX2+FMA or AVX-512 alone
** (target attributes), run only where the CPU has the instructions and
** the OS saves their registers, which __builtin_cpu_supports checks.
** Elsewhere (ARM, wasm, MSVC) only the portable kernels are compiled. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(NN_GEMM_PORTABLE)
#define GEMM_X86 1
#endif

/* the kernels of each kind (k_gemm_kernels.c); k_gemm.c chooses one */
extern const Impl k_gemm_portable;
#ifdef GEMM_X86
extern const Impl k_gemm_avx2, k_gemm_avx512;
#endif

#endif
