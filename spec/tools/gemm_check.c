/*
** gemm_check.c: csrc/k_gemm.c's k_sgemm against a naive triple loop in
** double, for spec/gemm_spec.lua (which compiles it with k_gemm.c and
** k_gemm_kernels.c alone and runs it once per micro-kernel, through NN_GEMM).
**
**   gemm_check [step]     every step-th size of the list for N and K
**
** Shapes: every M, N, K of an awkward list (1, 2, 3, 7, 8, ... 257), and
** a few up to 1500 to cross the kc and mc blocking, the four transpose
** combinations, alpha 1 / 0.75 / -2, beta 0 / 1 / -0.5, leading
** dimensions wider than the rows; beta 0 must overwrite the NaNs C starts
** with, and nothing outside the M x N window may change.  Then the edge
** cases: alpha 0 reads neither A nor B (NaN there stays out), K = 0,
** M or N = 0.  Prints the kernel, one line per failure (the first 20), and
** "N cases, N bad"; exits non-zero on any failure.  Each product is
** also taken with k_sgemm_ws's workspace, which must give the same bits,
** and with op(B) packed once (k_sgemm_pack, into a buffer one float off
** the alignment): k_sgemm_packed must be as right, and the same bits when
** asked for in four pieces (two blocks of rows by columns 0 .. 31 and
** the rest), as the recurrent layers' steps ask for it, and in windows
** of columns that end inside a full sliver (0 .. 39, 32 .. 39), where
** the kernel must still read the sliver as it was packed.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

static unsigned long long state = 88172645463325252ULL;

static float rnd(void) {     /* xorshift64: uniform on [-1, 1) */
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (float)((state >> 40) / 8388608.0 - 1.0);
}

static int bad, cases;

static void fail(const char *what, int M, int N, int K, int ta, int tb,
                 int i, int j, float got, double want) {
  if (bad++ < 20)
    printf("M %d N %d K %d ta %d tb %d: %s at (%d, %d): %.9g, expected %.9g\n",
           M, N, K, ta, tb, what, i, j, got, want);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) { puts("out of memory"); exit(2); }
  return p;
}

/* one product; A and B with pads of 3 and 1 floats after every row, C 2 */
static void check(int M, int N, int K, int ta, int tb, float alpha,
                  float beta) {
  int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  int lda = ac + 3, ldb = bc + 1, ldc = N + 2, i, j, k;
  float *A = xmalloc(sizeof(float) * ar * lda);
  float *B = xmalloc(sizeof(float) * br * ldb);
  float *C = xmalloc(sizeof(float) * M * ldc);
  float *C0 = xmalloc(sizeof(float) * M * ldc), *Cp, *Cq;
  for (i = 0; i < ar * lda; i++) A[i] = rnd();
  for (i = 0; i < br * ldb; i++) B[i] = rnd();
  for (i = 0; i < M * ldc; i++) C0[i] = beta == 0 ? NAN : rnd();
  memcpy(C, C0, sizeof(float) * M * ldc);
  k_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  {     /* with the workspace, and with one a float short (unused): the
        ** same bits, pads included */
    size_t nws = k_sgemm_wsize(M, N, K), w;
    float *ws = xmalloc(sizeof(float) * (nws + 1));
    float *C1 = xmalloc(sizeof(float) * M * ldc);
    for (w = 0; w < 2; w++) {
      memcpy(C1, C0, sizeof(float) * M * ldc);
      k_sgemm_ws(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc,
                 nws ? ws + w : NULL, nws - w);
      for (i = 0; i < M * ldc; i++)
        if (memcmp(&C1[i], &C[i], sizeof *C)) {
          fail(w ? "short workspace differs" : "workspace differs", M, N, K,
               ta, tb, i / ldc, i % ldc, C1[i], C[i]);
          break;
        }
    }
    free(ws); free(C1);
  }
  {     /* op(B) packed once: all of C, then in pieces */
    float *bp = xmalloc(sizeof(float) * (k_sgemm_packsize(N, K) + 1));
    int m0 = M / 2, n0 = N < 32 ? N : 32, q;
    Cp = xmalloc(sizeof(float) * M * ldc);
    Cq = xmalloc(sizeof(float) * M * ldc);
    memcpy(Cp, C0, sizeof(float) * M * ldc);
    memcpy(Cq, C0, sizeof(float) * M * ldc);
    k_sgemm_pack(tb, N, K, B, ldb, bp + 1);
    k_sgemm_packed(ta, M, N, K, alpha, A, lda, bp + 1, N, 0, beta, Cp, ldc);
    for (q = 0; q < 4; q++) {
      int r0 = q & 1 ? m0 : 0, r1 = q & 1 ? M : m0;
      int c0 = q & 2 ? n0 : 0, c1 = q & 2 ? N : n0;
      k_sgemm_packed(ta, r1 - r0, c1 - c0, K, alpha,
                     ta ? A + r0 : A + (size_t)r0 * lda, lda, bp + 1, N, c0,
                     beta, Cq + (size_t)r0 * ldc + c0, ldc);
    }
    for (i = 0; i < M * ldc; i++)
      if (memcmp(&Cq[i], &Cp[i], sizeof *C)) {
        fail("packed in pieces differs", M, N, K, ta, tb, i / ldc, i % ldc,
             Cq[i], Cp[i]);
        break;
      }
    for (q = 0; q < 3; q++) {   /* windows: C0 outside, Cp's bits inside */
      int c0 = q ? 32 : 0, c1 = q < 2 ? (N < 40 ? N : 40) : N;
      if (c0 >= c1) continue;
      memcpy(Cq, C0, sizeof(float) * M * ldc);
      k_sgemm_packed(ta, M, c1 - c0, K, alpha, A, lda, bp + 1, N, c0, beta,
                     Cq + c0, ldc);
      for (i = 0; i < M * ldc; i++) {
        int in = i % ldc >= c0 && i % ldc < c1;
        if (memcmp(&Cq[i], in ? &Cp[i] : &C0[i], sizeof *C)) {
          fail("packed window differs", M, N, K, ta, tb, i / ldc, i % ldc,
               Cq[i], in ? Cp[i] : C0[i]);
          break;
        }
      }
    }
    free(bp);
  }
  for (i = 0; i < M; i++)
    for (j = 0; j < ldc; j++) {
      double s = 0, mag = 0, want;
      float got = C[i * ldc + j], gotp = Cp[i * ldc + j];
      if (j >= N) {           /* the pad: untouched, NaN or not */
        if (memcmp(&got, &C0[i * ldc + j], sizeof got))
          fail("pad written", M, N, K, ta, tb, i, j, got, C0[i * ldc + j]);
        if (memcmp(&gotp, &C0[i * ldc + j], sizeof got))
          fail("packed: pad written", M, N, K, ta, tb, i, j, gotp,
               C0[i * ldc + j]);
        continue;
      }
      for (k = 0; k < K; k++) {
        double p = (double)(ta ? A[k * lda + i] : A[i * lda + k]) *
                   (tb ? B[j * ldb + k] : B[k * ldb + j]);
        s += p;
        mag += fabs(p);
      }
      want = alpha * s + (beta == 0 ? 0 : beta * (double)C0[i * ldc + j]);
      /* float accumulation over K terms: a few ulps of the magnitude */
      if (!(fabs(got - want) <= 1e-6 * (8 + K) * (fabs(alpha) * mag + 1)))
        fail("wrong", M, N, K, ta, tb, i, j, got, want);
      if (!(fabs(gotp - want) <= 1e-6 * (8 + K) * (fabs(alpha) * mag + 1)))
        fail("packed: wrong", M, N, K, ta, tb, i, j, gotp, want);
    }
  cases++;
  free(A); free(B); free(C); free(C0); free(Cp); free(Cq);
}

/* alpha 0 or K 0: C = beta C exactly, A and B unread (NaN) */
static void edge(int M, int N, int K, float alpha, float beta) {
  float A[64], B[64], C[64], C0[64];
  int i;
  for (i = 0; i < 64; i++) {
    A[i] = B[i] = NAN;
    C0[i] = beta == 0 ? NAN : rnd();
  }
  memcpy(C, C0, sizeof C);
  k_sgemm(0, 0, M, N, K, alpha, A, 8, B, 8, beta, C, 8);
  for (i = 0; i < 64; i++) {
    int r = i / 8, c = i % 8;
    float want = r < M && c < N ? (beta == 0 ? 0 : beta * C0[i]) : C0[i];
    if (memcmp(&C[i], &want, sizeof want))
      fail("edge", M, N, K, 0, 0, r, c, C[i], want);
  }
  cases++;
}

int main(int argc, char **argv) {
  static const int sizes[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65,
                              127, 129, 255, 257};
  /* beyond the list: K over several depth blocks, M over several row
  ** blocks, N over many slivers */
  static const int big[][3] = {{1100, 33, 600}, {37, 1100, 700},
                               {600, 129, 1100}, {257, 257, 1500},
                               {2, 1300, 1100}, {1300, 2, 900}};
  const int ns = sizeof sizes / sizeof *sizes;
  const float alphas[] = {1, 0.75f, -2}, betas[] = {0, 1, -0.5f};
  int step = argc > 1 ? atoi(argv[1]) : 1, a, b, c, t, n = 0;
  if (step < 1) step = 1;
  printf("kernel %s\n", k_sgemm_kernel());
  for (a = 0; a < ns; a++)
    for (b = 0; b < ns; b += step)
      for (c = 0; c < ns; c += step) {
        int M = sizes[a], N = sizes[b], K = sizes[c];
        if ((double)M * N * K > 4e6) continue;    /* the naive loop's time */
        for (t = 0; t < 4; t++, n++)
          check(M, N, K, t & 1, t >> 1, alphas[n % 3], betas[(n / 3) % 3]);
      }
  for (a = 0; a < (int)(sizeof big / sizeof *big); a++)
    for (t = 0; t < 4; t++, n++)
      check(big[a][0], big[a][1], big[a][2], t & 1, t >> 1, alphas[n % 3],
            betas[(n / 3) % 3]);
  edge(3, 5, 4, 0, 0);
  edge(3, 5, 4, 0, 1);
  edge(8, 8, 4, 0, -0.5f);
  edge(3, 5, 0, 1, 0);
  edge(8, 1, 0, 1, 2);
  edge(1, 8, 0, 1, 0);
  edge(0, 5, 4, 1, 0);
  edge(3, 0, 4, 1, 0);
  printf("%d cases, %d bad\n", cases, bad);
  return bad != 0;
}
