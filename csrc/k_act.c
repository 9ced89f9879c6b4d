/*
** k_act.c: the pointwise activations, y = f(x) and gx = gy f'(x), one pair
** of functions each (see kernels.h).  Plain C on float arrays.
*/
#include <math.h>
#include <string.h>

#include "kernels.h"

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

/* The cheap activations are one out-of-line loop each so that it
** vectorizes (see K_NOINLINE); forward y = f(x), backward gx = gy f'(x)
** from x or y. */
#define PW_FORWARD(name, body)                                              \
  K_NOINLINE void name(float *restrict y, const float *restrict x,          \
                       size_t n, float a) {                                 \
    (void)a;                                                                \
    K_FOR(j, n, body);                                                      \
  }
#define PW_BACKWARD(name, body)                                             \
  K_NOINLINE void name(float *restrict gx, const float *x, const float *y,  \
                       const float *gy, size_t n, float a) {                \
    (void)x; (void)y; (void)a;                                              \
    K_FOR(j, n, body);                                                      \
  }
/* the costly ones (a libm call each) need no such care */
#define PW_LOOP(name, body)                                                 \
  void name(float *restrict y, const float *restrict x, size_t n,           \
            float a) {                                                      \
    size_t j;                                                               \
    (void)a;                                                                \
    for (j = 0; j < n; j++) { body; }                                       \
  }
#define PW_GRADLOOP(name, body)                                             \
  void name(float *restrict gx, const float *x, const float *y,             \
            const float *gy, size_t n, float a) {                           \
    size_t j;                                                               \
    (void)x; (void)y; (void)a;                                              \
    for (j = 0; j < n; j++) { body; }                                       \
  }

void k_identity_forward(float *restrict y, const float *restrict x, size_t n,
                        float a) {
  (void)a;
  memcpy(y, x, n * sizeof *y);
}

void k_identity_backward(float *restrict gx, const float *x, const float *y,
                         const float *gy, size_t n, float a) {
  (void)x; (void)y; (void)a;
  memcpy(gx, gy, n * sizeof *gx);
}

/* Step and Sign have derivative 0 wherever it exists. */
void k_zero_backward(float *restrict gx, const float *x, const float *y,
                     const float *gy, size_t n, float a) {
  (void)x; (void)y; (void)gy; (void)a;
  memset(gx, 0, n * sizeof *gx);
}

PW_LOOP(k_sigmoid_forward, y[j] = sigmoid(x[j]))
PW_BACKWARD(k_sigmoid_backward, gx[j] = gy[j] * y[j] * (1.0f - y[j]))

PW_LOOP(k_tanh_forward, y[j] = tanhf(x[j]))
PW_BACKWARD(k_tanh_backward, gx[j] = gy[j] * (1.0f - y[j] * y[j]))

/* Loads and arithmetic come before the condition, which then only picks
** a value: GCC does not vectorize a load, or (with -ftrapping-math, the
** default) a floating-point operation, made in one arm only. */
PW_FORWARD(k_relu_forward, y[j] = x[j] > 0 ? x[j] : 0.0f)
PW_BACKWARD(k_relu_backward, float g = gy[j]; gx[j] = x[j] > 0 ? g : 0.0f)

PW_FORWARD(k_leakyrelu_forward, float v = x[j]; float av = a * v;
           y[j] = v > 0 ? v : av)
PW_BACKWARD(k_leakyrelu_backward, float g = gy[j]; float ag = a * g;
            gx[j] = x[j] > 0 ? g : ag)

PW_LOOP(k_elu_forward, y[j] = x[j] > 0 ? x[j] : a * expm1f(x[j]))
/* d/dx a(e^x - 1) = a e^x = y + a */
PW_BACKWARD(k_elu_backward, float g = gy[j]; float ge = g * (y[j] + a);
            gx[j] = x[j] > 0 ? g : ge)

PW_LOOP(k_softplus_forward, y[j] = softplus(x[j], a))
PW_GRADLOOP(k_softplus_backward, gx[j] = gy[j] * sigmoid(a * x[j]))

/* Heaviside with 1/2 at 0, and sign; NaN stays NaN */
PW_FORWARD(k_step_forward, y[j] = x[j] > 0 ? 1.0f : x[j] < 0 ? 0.0f
                           : x[j] == 0 ? 0.5f : x[j])
PW_FORWARD(k_sign_forward, y[j] = x[j] > 0 ? 1.0f : x[j] < 0 ? -1.0f
                           : x[j] == 0 ? 0.0f : x[j])

/* 0 below -1/2, z + 1/2 between, 1 above 1/2 */
PW_FORWARD(k_piecewise_forward, float t = x[j] + 0.5f; t = t < 0 ? 0.0f : t;
           y[j] = t > 1 ? 1.0f : t)
PW_BACKWARD(k_piecewise_backward, float g = gy[j]; float v = x[j];
            gx[j] = (v > -0.5f && v < 0.5f) ? g : 0.0f)

/* GELU (Hendrycks & Gimpel 2016), as PyTorch: exact, x Phi(x) with Phi the
** standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2, and
** d/dx = Phi(x) + x phi(x); or the tanh approximation,
** x (1 + tanh(u)) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3). */
#define K_SQRT1_2 0.70710678118654752f
#define K_INVSQRT2PI 0.39894228040143268f
#define K_SQRT2_PI 0.79788456080286536f

PW_LOOP(k_gelu_forward, y[j] = 0.5f * x[j] * (1.0f + erff(x[j] * K_SQRT1_2)))
PW_GRADLOOP(k_gelu_backward,
            float v = x[j];
            float cdf = 0.5f * (1.0f + erff(v * K_SQRT1_2));
            float pdf = K_INVSQRT2PI * expf(-0.5f * v * v);
            gx[j] = gy[j] * (cdf + v * pdf))

PW_LOOP(k_gelutanh_forward,
        float v = x[j];
        float u = K_SQRT2_PI * (v + 0.044715f * v * v * v);
        y[j] = 0.5f * v * (1.0f + tanhf(u)))
PW_GRADLOOP(k_gelutanh_backward,
            float v = x[j];
            float u = K_SQRT2_PI * (v + 0.044715f * v * v * v);
            float t = tanhf(u);
            float du = K_SQRT2_PI * (1.0f + 3.0f * 0.044715f * v * v);
            gx[j] = gy[j] * (0.5f * (1.0f + t) +
                             0.5f * v * (1.0f - t * t) * du))
