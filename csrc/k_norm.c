/*
** k_norm.c: batch normalization per channel, forward and backward (norm.c
** holds the layers).  Plain C on float arrays; see kernels.h.
*/
#include <math.h>

#include "kernels.h"

/* Sums over one plane of S floats, in float in 8 running sums (GCC keeps
** them in registers), the plane's total returned as a double: the sum of
** x, of (x - mu)^2, of g, of g (x - mu) */
static double plane_sum(const float *restrict x, int S) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t = 0;
  int i, u;
  for (i = 0; i + 8 <= S; i += 8)
    for (u = 0; u < 8; u++) s[u] += x[i + u];
  for (; i < S; i++) t += x[i];
  return (double)(((s[0] + s[4]) + (s[1] + s[5])) +
                  ((s[2] + s[6]) + (s[3] + s[7])) + t);
}

static double plane_sq(const float *restrict x, int S, float mu) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t = 0;
  int i, u;
  for (i = 0; i + 8 <= S; i += 8)
    for (u = 0; u < 8; u++) {
      float d = x[i + u] - mu;
      s[u] += d * d;
    }
  for (; i < S; i++) t += (x[i] - mu) * (x[i] - mu);
  return (double)(((s[0] + s[4]) + (s[1] + s[5])) +
                  ((s[2] + s[6]) + (s[3] + s[7])) + t);
}

static void plane_gsums(const float *restrict g, const float *restrict x,
                        int S, float mu, double *sg, double *sgx) {
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float ta = 0, tb = 0;
  int i, u;
  for (i = 0; i + 8 <= S; i += 8)
    for (u = 0; u < 8; u++) {
      a[u] += g[i + u];
      b[u] += g[i + u] * (x[i + u] - mu);
    }
  for (; i < S; i++) {
    ta += g[i];
    tb += g[i] * (x[i] - mu);
  }
  *sg += (double)(((a[0] + a[4]) + (a[1] + a[5])) +
                  ((a[2] + a[6]) + (a[3] + a[7])) + ta);
  *sgx += (double)(((b[0] + b[4]) + (b[1] + b[5])) +
                   ((b[2] + b[6]) + (b[3] + b[7])) + tb);
}

/* y = x a + b over one plane */
static K_NOINLINE void plane_affine(float *restrict y, const float *restrict x,
                                    int S, float a, float b) {
  K_FOR(j, S, y[j] = x[j] * a + b);
}

/* gx = a (g - mb - (x - mu) c) over one plane */
static K_NOINLINE void plane_grad(float *restrict o, const float *restrict g,
                                  const float *restrict x, int S, float a,
                                  float mb, float mu, float c) {
  K_FOR(j, S, o[j] = a * (g[j] - mb - (x[j] - mu) * c));
}

/* channel c's y = x a + b: a = invstd gamma, b = beta - mean a */
static void coefs(const float *gamma, const float *beta, const float *mean,
                  const float *invstd, int c, float *a, float *b) {
  *a = invstd[c] * (gamma ? gamma[c] : 1.0f);
  *b = (beta ? beta[c] : 0.0f) - mean[c] * *a;
}

/* Ioffe & Szegedy 2015, as PyTorch: in training each channel is
** normalized by its batch mean and biased variance, and the running
** statistics move by momentum toward the mean and the unbiased variance.
** mean and invstd keep what was used, for backward.  Channel by channel,
** each normalized right after its statistics, while its planes are still
** in cache; two passes for the statistics (the mean, then the squares
** about it), each plane's sum in float and the planes' in double. */
void k_batchnorm_forward(float *restrict y, const float *restrict x,
                         const float *gamma, const float *beta,
                         float *restrict rmean, float *restrict rvar,
                         float *restrict mean, float *restrict invstd, int n,
                         int C, int S, int c0, int c1, float eps,
                         float momentum) {
  size_t cs = (size_t)C * S, m = (size_t)n * S;
  int i, c;
  for (c = c0; c < c1; c++) {
    const float *xc = x + (size_t)c * S;
    float *yc = y + (size_t)c * S;
    double s = 0, q = 0, mu, var;
    float a, b;
    for (i = 0; i < n; i++) s += plane_sum(xc + i * cs, S);
    mu = s / m;
    for (i = 0; i < n; i++) q += plane_sq(xc + i * cs, S, (float)mu);
    var = q / m;
    rmean[c] = (float)((1 - momentum) * rmean[c] + momentum * mu);
    rvar[c] = (float)((1 - momentum) * rvar[c] +
                      momentum * (m > 1 ? q / (m - 1) : var));
    mean[c] = (float)mu;
    invstd[c] = (float)(1 / sqrt(var + eps));
    coefs(gamma, beta, mean, invstd, c, &a, &b);
    for (i = 0; i < n; i++) plane_affine(yc + i * cs, xc + i * cs, S, a, b);
  }
}

/* In evaluation: the running statistics as mean and invstd, then rows i0
** .. i1 - 1 normalized, every channel of each in turn (a row is one
** image: its planes are where the layer before wrote them) */
void k_batchnorm_evalstats(const float *rmean, const float *rvar,
                           float *mean, float *invstd, int C, float eps) {
  int c;
  for (c = 0; c < C; c++) {
    mean[c] = rmean[c];
    invstd[c] = (float)(1 / sqrt((double)rvar[c] + eps));
  }
}

void k_batchnorm_rows(float *restrict y, const float *restrict x,
                      const float *gamma, const float *beta,
                      const float *mean, const float *invstd, int C, int S,
                      int i0, int i1) {
  size_t cs = (size_t)C * S;
  int i, c;
  float a, b;
  for (i = i0; i < i1; i++)
    for (c = 0; c < C; c++) {
      coefs(gamma, beta, mean, invstd, c, &a, &b);
      plane_affine(y + i * cs + (size_t)c * S, x + i * cs + (size_t)c * S, S,
                   a, b);
    }
}

/* With xhat = (x - mean) invstd: dL/dbeta = sum gy, dL/dgamma = sum gy
** xhat; in training dL/dx = gamma invstd (gy - dbeta/m - xhat
** dgamma/m), m = n S the count per channel; in evaluation gamma invstd
** gy.  ggamma, gbeta and gx may be NULL.  Channel by channel, as
** forward. */
void k_batchnorm_backward(float *restrict gx, float *ggamma, float *gbeta,
                          const float *restrict x, const float *restrict gy,
                          const float *gamma, const float *mean,
                          const float *invstd, int n, int C, int S, int c0,
                          int c1, int train) {
  size_t cs = (size_t)C * S, m = (size_t)n * S;
  int i, c;
  for (c = c0; c < c1; c++) {
    const float *xc = x + (size_t)c * S, *gc = gy + (size_t)c * S;
    double db = 0, dg = 0;
    float g = gamma ? gamma[c] : 1.0f, mu = mean[c], is = invstd[c];
    for (i = 0; i < n; i++) plane_gsums(gc + i * cs, xc + i * cs, S, mu, &db, &dg);
    dg *= is;
    if (gbeta) gbeta[c] += (float)db;
    if (ggamma) ggamma[c] += (float)dg;
    if (!gx) continue;
    for (i = 0; i < n; i++) {
      float *o = gx + i * cs + (size_t)c * S;
      if (train)
        plane_grad(o, gc + i * cs, xc + i * cs, S, g * is, (float)(db / m), mu,
                   is * (float)(dg / m));
      else
        plane_affine(o, gc + i * cs, S, g * is, 0.0f);
    }
  }
}

/* ---- layer normalization ------------------------------------------------ */

/* mean and 1/sqrt(biased variance + eps) of one vector of D, two passes in
** double */
static void moments(const float *x, int D, float eps, double *mean,
                    double *invstd) {
  double s = 0, q = 0;
  int j;
  for (j = 0; j < D; j++) s += x[j];
  s /= D;
  for (j = 0; j < D; j++) q += (x[j] - s) * (x[j] - s);
  *mean = s;
  *invstd = 1 / sqrt(q / D + eps);
}

/* Ba, Kiros & Hinton 2016, as PyTorch's LayerNorm over the last
** dimension: each of the m vectors of D is normalized by its own mean and
** biased variance, then scaled by gamma and shifted by beta (each [D], or
** NULL). */
void k_layernorm_forward(float *restrict y, const float *restrict x,
                         const float *gamma, const float *beta, size_t m,
                         int D, float eps) {
  size_t i;
  int j;
  for (i = 0; i < m; i++) {
    const float *xi = x + i * D;
    float *yi = y + i * D;
    double mu, is;
    moments(xi, D, eps, &mu, &is);
    for (j = 0; j < D; j++) {
      float v = (float)((xi[j] - mu) * is);
      yi[j] = v * (gamma ? gamma[j] : 1.0f) + (beta ? beta[j] : 0.0f);
    }
  }
}

/* With xhat = (x - mean) invstd and g = gy gamma: dL/dx = invstd (g -
** mean(g) - xhat mean(g xhat)), dL/dgamma += sum over the vectors of gy
** xhat, dL/dbeta += sum of gy.  The statistics are computed again from x.
** gx, ggamma and gbeta may be NULL. */
void k_layernorm_backward(float *restrict gx, float *ggamma, float *gbeta,
                          const float *restrict x, const float *restrict gy,
                          const float *gamma, size_t m, int D, float eps) {
  size_t i;
  int j;
  for (i = 0; i < m; i++) {
    const float *xi = x + i * D, *gi = gy + i * D;
    double mu, is, sg = 0, sgx = 0;
    moments(xi, D, eps, &mu, &is);
    for (j = 0; j < D; j++) {
      double xh = (xi[j] - mu) * is, g = (double)gi[j] * (gamma ? gamma[j] : 1);
      sg += g;
      sgx += g * xh;
      if (ggamma) ggamma[j] += (float)(gi[j] * xh);
      if (gbeta) gbeta[j] += gi[j];
    }
    if (!gx) continue;
    sg /= D;
    sgx /= D;
    for (j = 0; j < D; j++) {
      double xh = (xi[j] - mu) * is, g = (double)gi[j] * (gamma ? gamma[j] : 1);
      gx[i * D + j] = (float)(is * (g - sg - xh * sgx));
    }
  }
}
