/*
** k_layers.c: forward and backward of each layer, side by side.
** Plain C on float arrays; see kernels.h for shapes.
*/
#include <math.h>
#include <string.h>

#include "kernels.h"

/* ---- Linear: y = x W^T + b --------------------------------------------- */

void k_linear_forward(float *y, const float *x, const float *w,
                      const float *b, int n, int nin, int nout) {
  int i;
  if (b) {                      /* y = b in every row, then y += x W^T */
    for (i = 0; i < n; i++) memcpy(y + (size_t)i * nout, b, nout * sizeof *y);
  }
  k_gemm(0, 1, n, nout, nin, 1.0f, x, nin, w, nin, b ? 1.0f : 0.0f, y, nout);
}

/* dL/dW = gy^T x, dL/db = column sums of gy, dL/dx = gy W: for y = x W^T
** + b, dL/dx_ik = sum_j dL/dy_ij W_jk and dL/dW_jk = sum_i dL/dy_ij x_ik */
void k_linear_backward(float *gx, float *gw, float *restrict gb,
                       const float *x, const float *w,
                       const float *restrict gy, int n, int nin, int nout) {
  int i, j;
  k_gemm(1, 0, nout, nin, n, 1.0f, gy, nout, x, nin, 1.0f, gw, nin);
  if (gb)
    for (i = 0; i < n; i++)
      for (j = 0; j < nout; j++) gb[j] += gy[(size_t)i * nout + j];
  if (gx)
    k_gemm(0, 0, n, nin, nout, 1.0f, gy, nout, w, nin, 0.0f, gx, nin);
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

/* The cheap activations, one out-of-line loop each so that it vectorizes
** (see K_NOINLINE); forward y = f(x), backward gx = gy f'(x) from x or y. */
#define PW_FORWARD(name, body)                                              \
  static K_NOINLINE void name(float *restrict y, const float *restrict x,   \
                              size_t n, float a) {                          \
    (void)a;                                                                \
    K_FOR(j, n, body);                                                      \
  }
#define PW_BACKWARD(name, body)                                             \
  static K_NOINLINE void name(float *restrict gx, const float *x,           \
                              const float *y, const float *gy, size_t n,    \
                              float a) {                                    \
    (void)x; (void)y; (void)a;                                              \
    K_FOR(j, n, body);                                                      \
  }

PW_FORWARD(relu_f, y[j] = x[j] > 0 ? x[j] : 0.0f)
PW_FORWARD(leaky_f, float v = x[j]; float av = a * v; y[j] = v > 0 ? v : av)
/* Heaviside with 1/2 at 0, and sign; NaN stays NaN */
PW_FORWARD(step_f, y[j] = x[j] > 0 ? 1.0f : x[j] < 0 ? 0.0f
                          : x[j] == 0 ? 0.5f : x[j])
PW_FORWARD(sign_f, y[j] = x[j] > 0 ? 1.0f : x[j] < 0 ? -1.0f
                          : x[j] == 0 ? 0.0f : x[j])
/* 0 below -1/2, z + 1/2 between, 1 above 1/2 */
PW_FORWARD(piecewise_f, float t = x[j] + 0.5f; t = t < 0 ? 0.0f : t;
           y[j] = t > 1 ? 1.0f : t)

PW_BACKWARD(sigmoid_b, gx[j] = gy[j] * y[j] * (1.0f - y[j]))
PW_BACKWARD(tanh_b, gx[j] = gy[j] * (1.0f - y[j] * y[j]))
/* Loads and arithmetic come before the condition, which then only picks
** a value: GCC does not vectorize a load, or (with -ftrapping-math, the
** default) a floating-point operation, made in one arm only. */
PW_BACKWARD(relu_b, float g = gy[j]; gx[j] = x[j] > 0 ? g : 0.0f)
PW_BACKWARD(leaky_b, float g = gy[j]; float ag = a * g;
            gx[j] = x[j] > 0 ? g : ag)
/* d/dx a(e^x - 1) = a e^x = y + a */
PW_BACKWARD(elu_b, float g = gy[j]; float ge = g * (y[j] + a);
            gx[j] = x[j] > 0 ? g : ge)
PW_BACKWARD(piecewise_b, float g = gy[j]; float v = x[j];
            gx[j] = (v > -0.5f && v < 0.5f) ? g : 0.0f)

void k_pointwise_forward(int kind, float a, float *restrict y,
                         const float *restrict x, size_t n) {
  size_t i;
  switch (kind) {
  case K_IDENTITY: memcpy(y, x, n * sizeof *y); break;
  case K_SIGMOID: for (i = 0; i < n; i++) y[i] = sigmoid(x[i]); break;
  case K_TANH: for (i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
  case K_RELU: relu_f(y, x, n, a); break;
  case K_LEAKYRELU: leaky_f(y, x, n, a); break;
  case K_ELU:
    for (i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : a * expm1f(x[i]);
    break;
  case K_SOFTPLUS: for (i = 0; i < n; i++) y[i] = softplus(x[i], a); break;
  case K_STEP: step_f(y, x, n, a); break;
  case K_SIGN: sign_f(y, x, n, a); break;
  case K_PIECEWISE: piecewise_f(y, x, n, a); break;
  }
}

/* Step and Sign have derivative 0 wherever it exists. */
void k_pointwise_backward(int kind, float a, float *restrict gx,
                          const float *x, const float *y, const float *gy,
                          size_t n) {
  size_t i;
  switch (kind) {
  case K_IDENTITY: memcpy(gx, gy, n * sizeof *gx); break;
  case K_SIGMOID: sigmoid_b(gx, x, y, gy, n, a); break;
  case K_TANH: tanh_b(gx, x, y, gy, n, a); break;
  case K_RELU: relu_b(gx, x, y, gy, n, a); break;
  case K_LEAKYRELU: leaky_b(gx, x, y, gy, n, a); break;
  case K_ELU: elu_b(gx, x, y, gy, n, a); break;
  case K_SOFTPLUS:
    for (i = 0; i < n; i++) gx[i] = gy[i] * sigmoid(a * x[i]);
    break;
  case K_STEP:
  case K_SIGN: memset(gx, 0, n * sizeof *gx); break;
  case K_PIECEWISE: piecewise_b(gx, x, y, gy, n, a); break;
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

void k_softmax_forward(float *restrict y, const float *restrict x, int n,
                       int c) {
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

void k_softmax_backward(float *restrict gx, const float *y, const float *gy,
                        int n, int c) {
  int i, j;
  for (i = 0; i < n; i++) {
    const float *yi = y + (size_t)i * c, *gi = gy + (size_t)i * c;
    float *o = gx + (size_t)i * c;
    double d = 0;
    for (j = 0; j < c; j++) d += (double)gi[j] * yi[j];
    for (j = 0; j < c; j++) o[j] = yi[j] * (gi[j] - (float)d);
  }
}

void k_logsoftmax_forward(float *restrict y, const float *restrict x, int n,
                          int c) {
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

void k_logsoftmax_backward(float *restrict gx, const float *y,
                           const float *gy, int n, int c) {
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
