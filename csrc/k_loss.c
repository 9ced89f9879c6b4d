/*
** k_loss.c: losses.  Each forward returns the sum over the batch; each
** backward writes scale * dL/dx, so the caller picks mean or sum.
*/
#include <math.h>

#include "kernels.h"

/* k_fexp's selects vectorize only where a comparison may be taken not to
** trap (see k_rnn.c) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* after the pragma: a function compiled under other options is not
** inlined into these */
#include "k_math.h"

/* Softmax in float, k_fexp a whole row at a time: libm's exp in double,
** called per element, took 98 us of a batch-256 MLP step's cross-entropy
** (256 x 10). */
enum { XROW = 256 };          /* floats of a row's exponentials on the stack */

static float rowmax(const float *x, int c) {
  float m = x[0];
  int j;
  for (j = 1; j < c; j++)
    if (x[j] > m) m = x[j];
  return m;
}

/* e[j] = exp(x[j] - m), j < c <= XROW, 0 below e^-87 (k_fexp stops at
** it: a masked logit of -inf must get no probability, and no subnormal
** gradient); returns their sum, in double (the exp is 2 ulp; a float sum
** of 256 terms took the gradient to 34) */
static K_NOINLINE double expsum(float *restrict e, const float *restrict x,
                                float m, int c) {
  double s = 0;
  int j;
  K_FOR(j, c, float d = x[j] - m; e[j] = d < -87.0f ? 0.0f : k_fexp(d));
  for (j = 0; j < c; j++) s += e[j];
  return s;
}

/* sum_j exp(x[j] - m) of one row, XROW at a time */
static double rowsum(const float *x, float m, int c) {
  float e[XROW];
  double s = 0;
  int j;
  for (j = 0; j < c; j += XROW)
    s += expsum(e, x + j, m, c - j < XROW ? c - j : XROW);
  return s;
}

/* Cross-entropy on logits: L = -sum_j y_j log softmax(x)_j; with class
** indices y is one-hot.  dL/dx_k = softmax(x)_k sum_j y_j - y_k, which is
** P - Y for one-hot or probability targets.  A row whose class index is
** negative (ignored) adds nothing and has gradient 0. */
double k_xent_forward(const float *x, const int32_t *t, const float *y,
                      int n, int c) {
  double loss = 0;
  int i, j;
  for (i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * c;
    float m;
    double lse;
    if (t && t[i] < 0) continue;
    m = rowmax(xi, c);
    lse = m + log(rowsum(xi, m, c));
    if (t) {
      loss += lse - xi[t[i]];
    } else {
      const float *yi = y + (size_t)i * c;
      for (j = 0; j < c; j++)
        if (yi[j] != 0) loss += yi[j] * (lse - xi[j]);
    }
  }
  return loss;
}

/* g = scale (p ysum - y), p = e / s: e[j] = exp(x[j] - m) */
static K_NOINLINE void xentgrad(float *restrict g, const float *restrict e,
                                const float *restrict y, int c, float k,
                                float scale) {
  if (y) K_FOR(j, c, g[j] = scale * (e[j] * k - y[j]));
  else K_FOR(j, c, g[j] = scale * e[j] * k);
}

void k_xent_backward(float *restrict g, const float *x, const int32_t *t,
                     const float *y, int n, int c, float scale) {
  float e[XROW];
  int i, j;
  for (i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * c, *yi = y ? y + (size_t)i * c : NULL;
    float *gi = g + (size_t)i * c, m;
    double s, ysum = 1;
    float k;
    if (t && t[i] < 0) {
      for (j = 0; j < c; j++) gi[j] = 0;
      continue;
    }
    if (yi) {
      ysum = 0;
      for (j = 0; j < c; j++) ysum += yi[j];
    }
    m = rowmax(xi, c);
    /* a row that fits: its exponentials once; else twice, XROW at a time */
    s = c <= XROW ? expsum(e, xi, m, c) : rowsum(xi, m, c);
    k = (float)(ysum / s);
    for (j = 0; j < c; j += XROW) {
      int w = c - j < XROW ? c - j : XROW;
      if (c > XROW) expsum(e, xi + j, m, w);
      xentgrad(gi + j, e, yi ? yi + j : NULL, w, k, scale);
    }
    if (t) gi[t[i]] -= scale;
  }
}

/* NLL on log-probabilities: L = -sum_j y_j x_j (a negative class index:
** ignored) */
double k_nll_forward(const float *x, const int32_t *t, const float *y, int n,
                     int c) {
  double loss = 0;
  int i, j;
  for (i = 0; i < n; i++) {
    if (t) {
      if (t[i] >= 0) loss -= x[(size_t)i * c + t[i]];
    } else {
      for (j = 0; j < c; j++)
        loss -= (double)y[(size_t)i * c + j] * x[(size_t)i * c + j];
    }
  }
  return loss;
}

void k_nll_backward(float *restrict g, const int32_t *t, const float *y, int n, int c,
                    float scale) {
  size_t k, nc = (size_t)n * c;
  int i;
  if (t) {
    for (k = 0; k < nc; k++) g[k] = 0;
    for (i = 0; i < n; i++)
      if (t[i] >= 0) g[(size_t)i * c + t[i]] = -scale;
  } else {
    for (k = 0; k < nc; k++) g[k] = -scale * y[k];
  }
}

/* MSE: L = sum (x - y)^2, dL/dx = 2 (x - y) */
double k_mse_forward(const float *x, const float *y, size_t n) {
  double s = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    double d = (double)x[i] - y[i];
    s += d * d;
  }
  return s;
}

void k_mse_backward(float *restrict g, const float *x, const float *y, size_t n,
                    float scale) {
  size_t i;
  for (i = 0; i < n; i++) g[i] = 2.0f * scale * (x[i] - y[i]);
}

/* L1: L = sum |x - y|, dL/dx = sign(x - y) (0 where equal) */
double k_l1_forward(const float *x, const float *y, size_t n) {
  double s = 0;
  size_t i;
  for (i = 0; i < n; i++) s += fabs((double)x[i] - y[i]);
  return s;
}

void k_l1_backward(float *restrict g, const float *x, const float *y, size_t n,
                   float scale) {
  size_t i;
  for (i = 0; i < n; i++)
  {                   /* sign(x - y); NaN stays NaN, as PyTorch's sign */
    float d = x[i] - y[i];
    g[i] = d > 0 ? scale : d < 0 ? -scale : d * scale;
  }
}

/* BCE on probabilities: L = -(y log p + (1 - y) log(1 - p)), each log
** clamped at -100 and the gradient's denominator at 1e-12, as PyTorch */
static double clamplog(double v) {
  double l = log(v);
  return l < -100 ? -100 : l;
}

double k_bce_forward(const float *p, const float *y, size_t n) {
  double s = 0;
  size_t i;
  for (i = 0; i < n; i++)
    s -= y[i] * clamplog(p[i]) + (1.0 - y[i]) * clamplog(1.0 - p[i]);
  return s;
}

void k_bce_backward(float *restrict g, const float *p, const float *y, size_t n,
                    float scale) {
  size_t i;
  for (i = 0; i < n; i++) {
    double d = (double)p[i] * (1.0 - p[i]);
    g[i] = (float)(scale * (p[i] - y[i]) / (d > 1e-12 ? d : 1e-12));
  }
}

/* BCE on logits: L = max(x, 0) - x y + log(1 + exp(-|x|)),
** dL/dx = sigmoid(x) - y */
double k_bcelogits_forward(const float *x, const float *y, size_t n) {
  double s = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    double xi = x[i];
    s += (xi > 0 ? xi : 0) - xi * y[i] + log1p(exp(-fabs(xi)));
  }
  return s;
}

void k_bcelogits_backward(float *restrict g, const float *x, const float *y, size_t n,
                          float scale) {
  size_t i;
  for (i = 0; i < n; i++) {
    double xi = x[i];
    double sg = xi >= 0 ? 1 / (1 + exp(-xi)) : exp(xi) / (1 + exp(xi));
    g[i] = (float)(scale * (sg - y[i]));
  }
}
