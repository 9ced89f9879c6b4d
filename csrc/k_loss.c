/*
** k_loss.c: losses.  Each forward returns the sum over the batch; each
** backward writes scale * dL/dx, so the caller picks mean or sum.
*/
#include <math.h>

#include "kernels.h"

/* log(sum(exp(x))) of one row, stable */
static double logsumexp(const float *x, int c) {
  float m = x[0];
  double s = 0;
  int j;
  for (j = 1; j < c; j++)
    if (x[j] > m) m = x[j];
  for (j = 0; j < c; j++) s += exp((double)x[j] - m);
  return m + log(s);
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
    double lse;
    if (t && t[i] < 0) continue;
    lse = logsumexp(xi, c);
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

void k_xent_backward(float *restrict g, const float *x, const int32_t *t,
                     const float *y, int n, int c, float scale) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * c;
    float *gi = g + (size_t)i * c;
    double lse, ysum = 1;
    if (t && t[i] < 0) {
      for (j = 0; j < c; j++) gi[j] = 0;
      continue;
    }
    lse = logsumexp(xi, c);
    if (!t) {
      ysum = 0;
      for (j = 0; j < c; j++) ysum += y[(size_t)i * c + j];
    }
    for (j = 0; j < c; j++) {
      double p = exp((double)xi[j] - lse) * ysum;
      double yj = t ? (j == t[i]) : y[(size_t)i * c + j];
      gi[j] = (float)(scale * (p - yj));
    }
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
