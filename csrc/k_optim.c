/*
** k_optim.c: optimizer updates, one pass over one parameter each.  The
** order of operations follows PyTorch's (torch.optim, single-tensor path)
** so that results agree to float rounding.
*/
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernels.h"

/* Subnormal state.  The momentum (or Adam's moments) of a weight whose
** gradient stays 0, a dead ReLU unit's, decays by a factor each step down
** through the subnormal range, where x86's SSE arithmetic takes some 100
** cycles an operation: SGD with momentum on the batch-64 MLP measured 82
** us a step with subnormals flushed and 290 to 320 us without, most of
** the training step.  So each update runs with FTZ and DAZ set (results
** under FLT_MIN become zero, and are read as zero) and the caller's MXCSR
** restored after: a state under 1.2e-38 is zero here where PyTorch keeps
** it, a difference below anything either can print.  Each call sets and
** restores its own, so a thread's results do not depend on which thread
** ran before. */
#if defined(__SSE2__)
typedef unsigned Fp;
static Fp flush(void) {
  Fp m = _mm_getcsr();
  _mm_setcsr(m | 0x8040);            /* FTZ (bit 15), DAZ (bit 6) */
  return m;
}
static void unflush(Fp m) { _mm_setcsr(m); }
#else
typedef int Fp;
static Fp flush(void) { return 0; }
static void unflush(Fp m) { (void)m; }
#endif

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
  Fp fp;
  if (!buf) {
    (decay ? sgd_plain_wd : sgd_plain)(p, g, NULL, n, lr, 0, 1, wd);
    return;
  }
  if (first) {               /* buf = d: mom * 0 + 1 * d is d exactly */
    memset(buf, 0, n * sizeof *buf);
    keep = 1;
  }
  fp = flush();
  if (nesterov)
    (decay ? sgd_nesterov_wd : sgd_nesterov)(p, g, buf, n, lr, mom, keep, wd);
  else
    (decay ? sgd_mom_wd : sgd_mom)(p, g, buf, n, lr, mom, keep, wd);
  unflush(fp);
}

/* One Adam element, in PyTorch's order; the SSE2 loop below does the same
** operations four at a time (no FMA at -std=c99, so the results match). */
static float adam_one(float *p, float g, float *m, float *v, float *vmax,
                      float step, float b1, float b2, float bc2s, float eps,
                      float decay, float wd) {
  float denom;
  if (decay != 1) *p *= decay;                  /* AdamW */
  else if (wd != 0) g += wd * *p;               /* Adam: L2 in the grad */
  *m = *m * b1 + (1 - b1) * g;
  *v = *v * b2 + (1 - b2) * g * g;
  if (vmax) {
    if (*v > *vmax) *vmax = *v;
    denom = sqrtf(*vmax) / bc2s + eps;
  } else {
    denom = sqrtf(*v) / bc2s + eps;
  }
  return *p - step * (*m / denom);
}

void k_adam(float *restrict p, const float *restrict g, float *restrict m,
            float *restrict v, float *restrict vmax, size_t n, float lr, float b1, float b2, float eps, float wd,
            int decoupled, int64_t t) {
  double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
  float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2);
  float decay = decoupled ? 1 - lr * wd : 1, l2 = decoupled ? 0 : wd;
  size_t i = 0;
  Fp fp = flush();
#if defined(__SSE2__)
  /* sqrtf cannot vectorize at -O2 (it may set errno); _mm_sqrt_ps is the
  ** same IEEE square root, four lanes at a time */
  const __m128 vb1 = _mm_set1_ps(b1), vb1c = _mm_set1_ps(1 - b1);
  const __m128 vb2 = _mm_set1_ps(b2), vb2c = _mm_set1_ps(1 - b2);
  const __m128 vbc2s = _mm_set1_ps(bc2s), veps = _mm_set1_ps(eps);
  const __m128 vstep = _mm_set1_ps(step), vdecay = _mm_set1_ps(decay);
  const __m128 vl2 = _mm_set1_ps(l2);
  for (; i + 4 <= n; i += 4) {
    __m128 pi = _mm_loadu_ps(p + i), gi = _mm_loadu_ps(g + i), mi, vi, d;
    if (decay != 1) pi = _mm_mul_ps(pi, vdecay);
    else if (l2 != 0) gi = _mm_add_ps(gi, _mm_mul_ps(vl2, pi));
    mi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(m + i), vb1), _mm_mul_ps(vb1c, gi));
    vi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(v + i), vb2),
                    _mm_mul_ps(_mm_mul_ps(vb2c, gi), gi));
    _mm_storeu_ps(m + i, mi);
    _mm_storeu_ps(v + i, vi);
    if (vmax) {
      vi = _mm_max_ps(vi, _mm_loadu_ps(vmax + i));  /* NaN v keeps vmax */
      _mm_storeu_ps(vmax + i, vi);
    }
    d = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(vi), vbc2s), veps);
    _mm_storeu_ps(p + i, _mm_sub_ps(pi, _mm_mul_ps(vstep, _mm_div_ps(mi, d))));
  }
#endif
  for (; i < n; i++)
    p[i] = adam_one(p + i, g[i], m + i, v + i, vmax ? vmax + i : NULL, step,
                    b1, b2, bc2s, eps, decay, l2);
  unflush(fp);
}

/* One RMSprop element; the SSE2 loop does the same four at a time. */
static float rmsprop_one(float p, float g, float *v, float *ga, float *buf,
                         float lr, float alpha, float eps, float wd,
                         float mom) {
  float avg;
  if (wd != 0) g += wd * p;
  *v = *v * alpha + (1 - alpha) * g * g;
  if (ga) {
    *ga = *ga * alpha + (1 - alpha) * g;
    avg = sqrtf(*v - *ga * *ga) + eps;
  } else {
    avg = sqrtf(*v) + eps;
  }
  if (buf) {
    *buf = *buf * mom + g / avg;
    return p - lr * *buf;
  }
  return p - lr * (g / avg);
}

void k_rmsprop(float *restrict p, const float *restrict g, float *restrict v,
               float *restrict ga, float *restrict buf, size_t n, float lr, float alpha, float eps, float wd,
               float mom) {
  size_t i = 0;
  Fp fp = flush();
#if defined(__SSE2__)
  const __m128 va = _mm_set1_ps(alpha), vac = _mm_set1_ps(1 - alpha);
  const __m128 veps = _mm_set1_ps(eps), vlr = _mm_set1_ps(lr);
  const __m128 vwd = _mm_set1_ps(wd), vmom = _mm_set1_ps(mom);
  for (; i + 4 <= n; i += 4) {
    __m128 pi = _mm_loadu_ps(p + i), gi = _mm_loadu_ps(g + i), vi, avg, d;
    if (wd != 0) gi = _mm_add_ps(gi, _mm_mul_ps(vwd, pi));
    vi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(v + i), va),
                    _mm_mul_ps(_mm_mul_ps(vac, gi), gi));
    _mm_storeu_ps(v + i, vi);
    if (ga) {
      __m128 gai = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(ga + i), va),
                              _mm_mul_ps(vac, gi));
      _mm_storeu_ps(ga + i, gai);
      vi = _mm_sub_ps(vi, _mm_mul_ps(gai, gai));
    }
    avg = _mm_add_ps(_mm_sqrt_ps(vi), veps);
    d = _mm_div_ps(gi, avg);
    if (buf) {
      d = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(buf + i), vmom), d);
      _mm_storeu_ps(buf + i, d);
    }
    _mm_storeu_ps(p + i, _mm_sub_ps(pi, _mm_mul_ps(vlr, d)));
  }
#endif
  for (; i < n; i++)
    p[i] = rmsprop_one(p[i], g[i], v + i, ga ? ga + i : NULL,
                       buf ? buf + i : NULL, lr, alpha, eps, wd, mom);
  unflush(fp);
}

void k_adagrad(float *restrict p, const float *restrict g,
               float *restrict sum, size_t n, float clr, float eps, float wd) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128 vclr = _mm_set1_ps(clr), veps = _mm_set1_ps(eps);
  const __m128 vwd = _mm_set1_ps(wd);
  for (; i + 4 <= n; i += 4) {
    __m128 pi = _mm_loadu_ps(p + i), gi = _mm_loadu_ps(g + i), si;
    if (wd != 0) gi = _mm_add_ps(gi, _mm_mul_ps(vwd, pi));
    si = _mm_add_ps(_mm_loadu_ps(sum + i), _mm_mul_ps(gi, gi));
    _mm_storeu_ps(sum + i, si);
    si = _mm_add_ps(_mm_sqrt_ps(si), veps);
    _mm_storeu_ps(p + i, _mm_sub_ps(pi, _mm_mul_ps(vclr, _mm_div_ps(gi, si))));
  }
#endif
  for (; i < n; i++) {
    float gi = g[i];
    if (wd != 0) gi += wd * p[i];
    sum[i] += gi * gi;
    p[i] -= clr * (gi / (sqrtf(sum[i]) + eps));
  }
}

/* ---- gradient clipping ---------------------------------------------------- */

double k_gradnorm(const float *g, size_t n, double p) {
  double s = 0;
  size_t i;
  if (isinf(p)) {
    for (i = 0; i < n; i++) {
      double a = fabs(g[i]);
      if (a > s || a != a) s = a;
      if (s != s) break;
    }
  } else if (p == 2) {
    for (i = 0; i < n; i++) s += (double)g[i] * g[i];
  } else if (p == 1) {
    for (i = 0; i < n; i++) s += fabs(g[i]);
  } else {
    for (i = 0; i < n; i++) s += pow(fabs(g[i]), p);
  }
  return s;
}
