/*
** k_layers.c: forward and backward of each layer, side by side.
** Plain C on float arrays; see kernels.h for shapes.
*/
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "kernels.h"

/* ---- Linear: y = x W^T + b --------------------------------------------- */

void k_linear_forward(float *y, const float *x, const float *w,
                      const float *b, int n, int nin, int nout) {
  int i;
  if (b) {                      /* y = b in every row, then y += x W^T */
    for (i = 0; i < n; i++) memcpy(y + (size_t)i * nout, b, nout * sizeof *y);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nout, nin, 1.0f, x,
              nin, w, nin, b ? 1.0f : 0.0f, y, nout);
}

/* dL/dW = gy^T x, dL/db = column sums of gy, dL/dx = gy W
** (the course's "input gradient" and "weight gradient" slides) */
void k_linear_backward(float *gx, float *gw, float *gb, const float *x,
                       const float *w, const float *gy, int n, int nin,
                       int nout) {
  int i, j;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, n, 1.0f,
              gy, nout, x, nin, 1.0f, gw, nin);
  if (gb)
    for (i = 0; i < n; i++)
      for (j = 0; j < nout; j++) gb[j] += gy[(size_t)i * nout + j];
  if (gx)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nin, nout, 1.0f,
                gy, nout, w, nin, 0.0f, gx, nin);
}

/* ---- pointwise activations -------------------------------------------- */

static float sigmoid(float x) {          /* no overflow for any x */
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  {
    float e = expf(x);
    return e / (1.0f + e);
  }
}

/* softplus with slope beta: log(1 + exp(beta x)) / beta, stable */
static float softplus(float x, float beta) {
  float z = beta * x;
  return (fmaxf(z, 0.0f) + log1pf(expf(-fabsf(z)))) / beta;
}

void k_pointwise_forward(int kind, float a, float *y, const float *x,
                         size_t n) {
  size_t i;
  switch (kind) {
  case K_IDENTITY:
    if (y != x) memcpy(y, x, n * sizeof *y);
    break;
  case K_SIGMOID:
    for (i = 0; i < n; i++) y[i] = sigmoid(x[i]);
    break;
  case K_TANH:
    for (i = 0; i < n; i++) y[i] = tanhf(x[i]);
    break;
  case K_RELU:
    for (i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
    break;
  case K_LEAKYRELU:
    for (i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : a * x[i];
    break;
  case K_ELU:
    for (i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : a * expm1f(x[i]);
    break;
  case K_SOFTPLUS:
    for (i = 0; i < n; i++) y[i] = softplus(x[i], a);
    break;
  case K_STEP:                              /* Heaviside, 1/2 at 0 */
    for (i = 0; i < n; i++)
      y[i] = x[i] > 0 ? 1.0f : x[i] < 0 ? 0.0f : x[i] == 0 ? 0.5f : x[i];
    break;
  case K_SIGN:
    for (i = 0; i < n; i++)
      y[i] = x[i] > 0 ? 1.0f : x[i] < 0 ? -1.0f : x[i] == 0 ? 0.0f : x[i];
    break;
  case K_PIECEWISE:                 /* 0 below -1/2, z + 1/2, 1 above 1/2 */
    for (i = 0; i < n; i++)
      y[i] = x[i] < -0.5f ? 0.0f : x[i] > 0.5f ? 1.0f : x[i] + 0.5f;
    break;
  }
}

/* gx = gy * f'(x), using y = f(x) where that is cheaper.  Step and Sign
** have derivative 0 wherever it exists. */
void k_pointwise_backward(int kind, float a, float *gx, const float *x,
                          const float *y, const float *gy, size_t n) {
  size_t i;
  switch (kind) {
  case K_IDENTITY:
    if (gx != gy) memcpy(gx, gy, n * sizeof *gx);
    break;
  case K_SIGMOID:
    for (i = 0; i < n; i++) gx[i] = gy[i] * y[i] * (1.0f - y[i]);
    break;
  case K_TANH:
    for (i = 0; i < n; i++) gx[i] = gy[i] * (1.0f - y[i] * y[i]);
    break;
  case K_RELU:
    for (i = 0; i < n; i++) gx[i] = x[i] > 0 ? gy[i] : 0.0f;
    break;
  case K_LEAKYRELU:
    for (i = 0; i < n; i++) gx[i] = x[i] > 0 ? gy[i] : a * gy[i];
    break;
  case K_ELU:                       /* d/dx a(e^x - 1) = a e^x = y + a */
    for (i = 0; i < n; i++) gx[i] = x[i] > 0 ? gy[i] : gy[i] * (y[i] + a);
    break;
  case K_SOFTPLUS:
    for (i = 0; i < n; i++) gx[i] = gy[i] * sigmoid(a * x[i]);
    break;
  case K_STEP:
  case K_SIGN:
    memset(gx, 0, n * sizeof *gx);
    break;
  case K_PIECEWISE:
    for (i = 0; i < n; i++)
      gx[i] = (x[i] > -0.5f && x[i] < 0.5f) ? gy[i] : 0.0f;
    break;
  }
}

/* ---- softmax and log-softmax over each row ----------------------------- */

static float rowmax(const float *x, int c) {
  float m = x[0];
  int j;
  for (j = 1; j < c; j++)
    if (x[j] > m) m = x[j];
  return m;
}

void k_softmax_forward(float *y, const float *x, int n, int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * c;
    float *yi = y + (size_t)i * c;
    float m = rowmax(xi, c);
    double s = 0;
    for (j = 0; j < c; j++) s += (yi[j] = expf(xi[j] - m));
    for (j = 0; j < c; j++) yi[j] = (float)(yi[j] / s);
  }
}

void k_softmax_backward(float *gx, const float *y, const float *gy, int n,
                        int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *yi = y + (size_t)i * c, *gi = gy + (size_t)i * c;
    float *o = gx + (size_t)i * c;
    double d = 0;
    for (j = 0; j < c; j++) d += (double)gi[j] * yi[j];
    for (j = 0; j < c; j++) o[j] = yi[j] * (gi[j] - (float)d);
  }
}

void k_logsoftmax_forward(float *y, const float *x, int n, int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * c;
    float *yi = y + (size_t)i * c;
    float m = rowmax(xi, c), lse;
    double s = 0;
    for (j = 0; j < c; j++) s += expf(xi[j] - m);
    lse = m + (float)log(s);
    for (j = 0; j < c; j++) yi[j] = xi[j] - lse;
  }
}

void k_logsoftmax_backward(float *gx, const float *y, const float *gy, int n,
                           int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *yi = y + (size_t)i * c, *gi = gy + (size_t)i * c;
    float *o = gx + (size_t)i * c;
    double s = 0;
    for (j = 0; j < c; j++) s += gi[j];
    for (j = 0; j < c; j++) o[j] = gi[j] - expf(yi[j]) * (float)s;
  }
}

/* ---- dropout ---------------------------------------------------------- */

void k_dropout_mask(Rng *r, float *mask, size_t n, float p) {
  size_t i;
  float keep = 1.0f / (1.0f - p);
  for (i = 0; i < n; i++) mask[i] = k_rng_uniform(r) < p ? 0.0f : keep;
}
