/*
** k_optim.c: optimizer updates, one pass over one parameter each.  The
** order of operations follows PyTorch's (torch.optim, single-tensor path)
** so that results agree to float rounding.
*/
#include <math.h>

#include "kernels.h"

void k_sgd(float *p, const float *g, float *buf, size_t n, float lr,
           float mom, float damp, float wd, int nesterov, int first) {
  size_t i;
  for (i = 0; i < n; i++) {
    float d = g[i];
    if (wd != 0) d += wd * p[i];
    if (buf) {
      buf[i] = first ? d : mom * buf[i] + (1 - damp) * d;
      d = nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
}

void k_adam(float *p, const float *g, float *m, float *v, float *vmax,
            size_t n, float lr, float b1, float b2, float eps, float wd,
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

void k_rmsprop(float *p, const float *g, float *v, float *ga, float *buf,
               size_t n, float lr, float alpha, float eps, float wd,
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

void k_adagrad(float *p, const float *g, float *sum, size_t n, float clr,
               float eps, float wd) {
  size_t i;
  for (i = 0; i < n; i++) {
    float gi = g[i];
    if (wd != 0) gi += wd * p[i];
    sum[i] += gi * gi;
    p[i] -= clr * (gi / (sqrtf(sum[i]) + eps));
  }
}
