/*
** k_matrix.c: random numbers, elementwise operations and reductions.
** Plain C on float arrays; see kernels.h for shapes.
*/
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifndef NN_BLAS_NONE
#include <cblas.h>
#endif

#include "kernels.h"

/* ---- xoshiro256** 1.0, https://prng.di.unimi.it/ ----------------------- */

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void k_rng_seed(Rng *r, uint64_t seed) {
  int i;
  for (i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
  r->hasspare = 0;
  r->spare = 0;
}

uint64_t k_rng_next(Rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double k_rng_uniform(Rng *r) {
  return (double)(k_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Box-Muller: two normals from two uniforms; the second is kept. */
double k_rng_normal(Rng *r) {
  double u, v;
  if (r->hasspare) { r->hasspare = 0; return r->spare; }
  do u = k_rng_uniform(r); while (u <= 0);
  v = k_rng_uniform(r);
  u = sqrt(-2 * log(u));
  r->spare = u * sin(6.283185307179586 * v);
  r->hasspare = 1;
  return u * cos(6.283185307179586 * v);
}

void k_rand(Rng *r, float *y, size_t n, float lo, float hi) {
  const double span = (double)hi - (double)lo;   /* may exceed FLT_MAX */
  size_t i;
  for (i = 0; i < n; i++) {
    float v = (float)(lo + span * k_rng_uniform(r));
    y[i] = v < hi ? v : lo;   /* rounding to float must not reach hi */
  }
}

void k_randn(Rng *r, float *y, size_t n, float mean, float std) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = (float)(mean + std * k_rng_normal(r));
}

/* ---- elementwise ------------------------------------------------------ */

void k_fill(float *y, size_t n, float v) {
  size_t i;
  if (v == 0 && !signbit(v)) { memset(y, 0, n * sizeof *y); return; }
  for (i = 0; i < n; i++) y[i] = v;
}

void k_axpby(float *y, const float *a, float sa, const float *b, float sb,
             size_t n) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = sa * a[i] + sb * b[i];
}

void k_axpby_row(float *y, const float *a, float sa, const float *row,
                 float sb, int r, int c) {
  int i, j;
  for (i = 0; i < r; i++) {
    const float *ai = a + (size_t)i * c;
    float *yi = y + (size_t)i * c;
    for (j = 0; j < c; j++) yi[j] = sa * ai[j] + sb * row[j];
  }
}

void k_affine(float *y, const float *a, float sa, float s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = sa * a[i] + s;
}

void k_affine_d(float *y, const float *a, double sa, double s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = (float)(sa * a[i] + s);
}

void k_mul(float *y, const float *a, const float *b, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = a[i] * b[i];
}

void k_div(float *y, const float *a, const float *b, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = a[i] / b[i];
}

void k_divs(float *y, const float *a, float s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = a[i] / s;
}

void k_map(int f, float *y, const float *a, size_t n, float p, float q) {
  size_t i;
  switch (f) {                /* one loop per function, so each is simple */
  case K_EXP: for (i = 0; i < n; i++) y[i] = expf(a[i]); break;
  case K_LOG: for (i = 0; i < n; i++) y[i] = logf(a[i]); break;
  case K_SQRT: for (i = 0; i < n; i++) y[i] = sqrtf(a[i]); break;
  case K_ABS: for (i = 0; i < n; i++) y[i] = fabsf(a[i]); break;
  case K_POW:
    if (p == 2) for (i = 0; i < n; i++) y[i] = a[i] * a[i];
    else for (i = 0; i < n; i++) y[i] = powf(a[i], p);
    break;
  case K_CLAMP:
    for (i = 0; i < n; i++) {
      float v = a[i];
      y[i] = v < p ? p : v > q ? q : v;       /* NaN compares false: kept */
    }
    break;
  }
}

void k_moments(const float *a, size_t n, size_t stride, double *mean,
               double *var) {
  double s = 0, d, ss = 0;
  size_t i;
  for (i = 0; i < n; i++) s += a[i * stride];
  s /= (double)n;
  for (i = 0; i < n; i++) {
    d = a[i * stride] - s;
    ss += d * d;
  }
  *mean = s;
  *var = n > 1 ? ss / (double)(n - 1) : NAN;
}

void k_col(float *y, const float *a, int r, int c, int j) {
  int i;
  for (i = 0; i < r; i++) y[i] = a[(size_t)i * c + j];
}

double k_maxabsdiff(const float *a, const float *b, size_t n) {
  double worst = 0, d;
  size_t i;
  for (i = 0; i < n; i++) {
    d = fabs((double)a[i] - (double)b[i]);
    if (d != d) return INFINITY;
    if (d > worst) worst = d;
  }
  return worst;
}

void k_transpose(float *y, const float *a, int r, int c) {
  int i, j;
  for (i = 0; i < r; i++)
    for (j = 0; j < c; j++) y[(size_t)j * r + i] = a[(size_t)i * c + j];
}

/* ---- reductions (accumulated in double) ------------------------------- */

/* In double, in 8 running sums (one chain of additions waits 4 cycles
** for each: 800,000 floats took 0.9 ms, a convolution's bias gradient),
** added pairwise at the end */
double k_sum(const float *a, size_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t = 0;
  size_t i = 0;
  int u;
#if defined(__SSE2__)                  /* the same sums, two to a register */
  __m128d v[4];
  for (u = 0; u < 4; u++) v[u] = _mm_setzero_pd();
  for (; i + 8 <= n; i += 8) {
    __m128 f0 = _mm_loadu_ps(a + i), f1 = _mm_loadu_ps(a + i + 4);
    v[0] = _mm_add_pd(v[0], _mm_cvtps_pd(f0));
    v[1] = _mm_add_pd(v[1], _mm_cvtps_pd(_mm_movehl_ps(f0, f0)));
    v[2] = _mm_add_pd(v[2], _mm_cvtps_pd(f1));
    v[3] = _mm_add_pd(v[3], _mm_cvtps_pd(_mm_movehl_ps(f1, f1)));
  }
  for (u = 0; u < 4; u++) _mm_storeu_pd(s + 2 * u, v[u]);
#endif
  for (; i + 8 <= n; i += 8)
    for (u = 0; u < 8; u++) s[u] += a[i + u];
  for (; i < n; i++) t += a[i];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])) +
         t;
}

void k_sum_rows(float *y, const float *a, int r, int c) {
  int i, j;
  for (j = 0; j < c; j++) {
    double s = 0;
    for (i = 0; i < r; i++) s += a[(size_t)i * c + j];
    y[j] = (float)s;
  }
}

void k_sum_rows_add(float *restrict y, const float *restrict a, int r, int c,
                    int lda) {
  int i, j;
  for (i = 0; i < r; i++, a += lda)
    for (j = 0; j < c; j++) y[j] += a[j];
}

void k_sum_cols(float *y, const float *a, int r, int c) {
  int i;
  for (i = 0; i < r; i++) y[i] = (float)k_sum(a + (size_t)i * c, (size_t)c);
}

size_t k_argmax(const float *a, size_t n) {
  size_t i, best = 0;
  for (i = 0; i < n; i++) {
    if (isnan(a[i])) return i;
    if (a[i] > a[best]) best = i;
  }
  return best;
}

size_t k_argmin(const float *a, size_t n) {
  size_t i, best = 0;
  for (i = 0; i < n; i++) {
    if (isnan(a[i])) return i;
    if (a[i] < a[best]) best = i;
  }
  return best;
}

double k_dot(const float *a, const float *b, size_t n) {
  double s = 0;
  size_t i;
  for (i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

int k_allfinite(const float *a, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!isfinite(a[i])) return 0;
  return 1;
}

void k_gather_rows(float *y, const float *x, const int32_t *idx, int k,
                   int c) {
  int i;
  for (i = 0; i < k; i++)
    memcpy(y + (size_t)i * c, x + (size_t)idx[i] * c, (size_t)c * sizeof *y);
}

/* ---- matrix products ----------------------------------------------------- */

#ifdef NN_BLAS_NONE
void k_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
            int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  k_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#else
void k_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
            int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  const enum CBLAS_TRANSPOSE no = CblasNoTrans, tr = CblasTrans;
  int i;
  if ((M == 1 || N == 1) && K > 0) {
    if (beta == 0)                 /* sgemv may scale old NaNs by 0 */
      for (i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, N * sizeof *C);
    if (M == 1) {                  /* c[N] = op(B)^T a, a = op(A)'s row */
      if (tb) cblas_sgemv(CblasRowMajor, no, N, K, alpha, B, ldb, A,
                          ta ? lda : 1, beta, C, 1);
      else cblas_sgemv(CblasRowMajor, tr, K, N, alpha, B, ldb, A,
                       ta ? lda : 1, beta, C, 1);
    } else {                       /* c[M] = op(A) b, b = op(B)'s column */
      if (ta) cblas_sgemv(CblasRowMajor, tr, K, M, alpha, A, lda, B,
                          tb ? 1 : ldb, beta, C, ldc);
      else cblas_sgemv(CblasRowMajor, no, M, K, alpha, A, lda, B,
                       tb ? 1 : ldb, beta, C, ldc);
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? tr : no, tb ? tr : no, M, N, K, alpha, A,
              lda, B, ldb, beta, C, ldc);
}
#endif

void k_copy2d(float *restrict y, size_t ldy, const float *restrict x,
              size_t ldx, int r, int c) {
  int i;
  for (i = 0; i < r; i++)
    memcpy(y + (size_t)i * ldy, x + (size_t)i * ldx, (size_t)c * sizeof *y);
}
