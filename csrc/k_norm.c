/*
** k_norm.c: batch normalization per channel, forward and backward (norm.c
** holds the layers).  Plain C on float arrays; see kernels.h.
*/
#include <math.h>

#include "kernels.h"

/* Ioffe & Szegedy 2015, as PyTorch: in training each channel is
** normalized by its batch mean and biased variance, and the running
** statistics move by momentum toward the mean and the unbiased variance;
** in evaluation the running statistics are used.  mean and invstd keep
** what was used, for backward. */
void k_batchnorm_forward(float *restrict y, const float *restrict x,
                         const float *gamma, const float *beta,
                         float *restrict rmean, float *restrict rvar,
                         float *restrict mean, float *restrict invstd, int n,
                         int C, int S, float eps, float momentum, int train) {
  size_t cs = (size_t)C * S, m = (size_t)n * S;
  int i, c;
  for (c = 0; c < C; c++) {
    double mu, var;
    if (train) {
      double s = 0, q = 0;
      for (i = 0; i < n; i++) s += k_sum(x + i * cs + (size_t)c * S, S);
      mu = s / m;
      for (i = 0; i < n; i++) {
        const float *xc = x + i * cs + (size_t)c * S;
        int j;
        for (j = 0; j < S; j++) q += (xc[j] - mu) * (xc[j] - mu);
      }
      var = q / m;
      rmean[c] = (float)((1 - momentum) * rmean[c] + momentum * mu);
      rvar[c] = (float)((1 - momentum) * rvar[c] +
                        momentum * (m > 1 ? q / (m - 1) : var));
    } else {
      mu = rmean[c];
      var = rvar[c];
    }
    mean[c] = (float)mu;
    invstd[c] = (float)(1 / sqrt(var + eps));
  }
  for (i = 0; i < n; i++)
    for (c = 0; c < C; c++) {
      const float *xc = x + i * cs + (size_t)c * S;
      float *yc = y + i * cs + (size_t)c * S;
      float a = invstd[c] * (gamma ? gamma[c] : 1.0f);
      float b = (beta ? beta[c] : 0.0f) - mean[c] * a;
      K_FOR(j, S, yc[j] = xc[j] * a + b);
    }
}

/* With xhat = (x - mean) invstd: dL/dbeta = sum gy, dL/dgamma = sum gy
** xhat; in training dL/dx = gamma invstd (gy - dbeta/m - xhat
** dgamma/m), m = n S the count per channel; in evaluation gamma invstd
** gy.  ggamma, gbeta and gx may be NULL. */
void k_batchnorm_backward(float *restrict gx, float *ggamma, float *gbeta,
                          const float *restrict x, const float *restrict gy,
                          const float *gamma, const float *mean,
                          const float *invstd, int n, int C, int S,
                          int train) {
  size_t cs = (size_t)C * S, m = (size_t)n * S;
  int i, c, j;
  for (c = 0; c < C; c++) {
    double db = 0, dg = 0;
    float g = gamma ? gamma[c] : 1.0f, mu = mean[c], is = invstd[c];
    for (i = 0; i < n; i++) {
      const float *xc = x + i * cs + (size_t)c * S;
      const float *gc = gy + i * cs + (size_t)c * S;
      for (j = 0; j < S; j++) {
        db += gc[j];
        dg += (double)gc[j] * (xc[j] - mu) * is;
      }
    }
    if (gbeta) gbeta[c] += (float)db;
    if (ggamma) ggamma[c] += (float)dg;
    if (!gx) continue;
    for (i = 0; i < n; i++) {
      const float *xc = x + i * cs + (size_t)c * S;
      const float *gc = gy + i * cs + (size_t)c * S;
      float *o = gx + i * cs + (size_t)c * S;
      if (train) {
        float a = g * is, mb = (float)(db / m), mg = (float)(dg / m);
        for (j = 0; j < S; j++)
          o[j] = a * (gc[j] - mb - (xc[j] - mu) * is * mg);
      } else {
        float a = g * is;
        K_FOR(k, S, o[k] = a * gc[k]);
      }
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
