/*
** k_optim.c: optimizer updates, one pass over one parameter each.  The
** order of operations follows PyTorch's (torch.optim, single-tensor path)
** so that results agree to float rounding.
*/
#include <math.h>
#include <string.h>

#include "kernels.h"

/* The SGD variants, one vectorizable loop each: d is the gradient (plus
** weight decay), STEP what is subtracted from p times lr. */
#define SGD_FN(name, D, STEP)                                               \
  static K_NOINLINE void name(float *restrict p, const float *restrict g,   \
                              float *restrict buf, size_t n, float lr,      \
                              float mom, float keep, float wd) {            \
    (void)buf; (void)mom; (void)keep; (void)wd;                             \
    K_FOR(i, n, {                                                           \
      float d = (D);                                                        \
                                                                            \
      STEP;                                                                 \
    });                                                                     \
  }

SGD_FN(sgd_plain, g[i], p[i] -= lr * d)
SGD_FN(sgd_plain_wd, g[i] + wd * p[i], p[i] -= lr * d)
SGD_FN(sgd_mom, g[i],
       (buf[i] = mom * buf[i] + keep * d, p[i] -= lr * buf[i]))
SGD_FN(sgd_mom_wd, g[i] + wd * p[i],
       (buf[i] = mom * buf[i] + keep * d, p[i] -= lr * buf[i]))
SGD_FN(sgd_nesterov, g[i],
       (buf[i] = mom * buf[i] + keep * d, p[i] -= lr * (d + mom * buf[i])))
SGD_FN(sgd_nesterov_wd, g[i] + wd * p[i],
       (buf[i] = mom * buf[i] + keep * d, p[i] -= lr * (d + mom * buf[i])))

void k_sgd(float *restrict p, const float *restrict g, float *restrict buf,
           size_t n, float lr, float mom, float damp, float wd, int nesterov,
           int first) {
  float keep = 1 - damp;
  int decay = wd != 0;
  if (!buf) {
    (decay ? sgd_plain_wd : sgd_plain)(p, g, NULL, n, lr, 0, 1, wd);
    return;
  }
  if (first) {               /* buf = d: mom * 0 + 1 * d is d exactly */
    memset(buf, 0, n * sizeof *buf);
    keep = 1;
  }
  if (nesterov)
    (decay ? sgd_nesterov_wd : sgd_nesterov)(p, g, buf, n, lr, mom, keep, wd);
  else
    (decay ? sgd_mom_wd : sgd_mom)(p, g, buf, n, lr, mom, keep, wd);
}

void k_adam(float *restrict p, const float *restrict g, float *restrict m,
            float *restrict v, float *restrict vmax, size_t n, float lr, float b1, float b2, float eps, float wd,
            int decoupled, long t) {
  double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
  float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2);
  size_t i;
  for (i = 0; i < n; i++) {
    float gi = g[i], denom;
    if (decoupled) p[i] *= 1 - lr * wd;           /* AdamW */
    else if (wd != 0) gi += wd * p[i];            /* Adam: L2 in the grad */
    m[i] = m[i] * b1 + (1 - b1) * gi;
    v[i] = v[i] * b2 + (1 - b2) * gi * gi;
    if (vmax) {
      if (v[i] > vmax[i]) vmax[i] = v[i];
      denom = sqrtf(vmax[i]) / bc2s + eps;
    } else {
      denom = sqrtf(v[i]) / bc2s + eps;
    }
    p[i] -= step * (m[i] / denom);
  }
}

void k_rmsprop(float *restrict p, const float *restrict g, float *restrict v,
               float *restrict ga, float *restrict buf, size_t n, float lr, float alpha, float eps, float wd,
               float mom) {
  size_t i;
  for (i = 0; i < n; i++) {
    float gi = g[i], avg;
    if (wd != 0) gi += wd * p[i];
    v[i] = v[i] * alpha + (1 - alpha) * gi * gi;
    if (ga) {
      ga[i] = ga[i] * alpha + (1 - alpha) * gi;
      avg = sqrtf(v[i] - ga[i] * ga[i]) + eps;
    } else {
      avg = sqrtf(v[i]) + eps;
    }
    if (buf) {
      buf[i] = buf[i] * mom + gi / avg;
      p[i] -= lr * buf[i];
    } else {
      p[i] -= lr * (gi / avg);
    }
  }
}

void k_adagrad(float *restrict p, const float *restrict g,
               float *restrict sum, size_t n, float clr, float eps, float wd) {
  size_t i;
  for (i = 0; i < n; i++) {
    float gi = g[i];
    if (wd != 0) gi += wd * p[i];
    sum[i] += gi * gi;
    p[i] -= clr * (gi / (sqrtf(sum[i]) + eps));
  }
}
