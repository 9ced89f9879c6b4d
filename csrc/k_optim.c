/*
** k_optim.c: optimizer updates, one pass over one parameter each.  The
** order of operations follows PyTorch's (torch.optim, single-tensor path)
** so that results agree to float rounding.
*/
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#define SSE(op) _mm_##op##_ps
#endif
/* Adam, RMSprop, Adagrad and SGD also in 8 lanes where the CPU has AVX (not
** AVX2): no FMA for the compiler to contract a multiply and an add into,
** which would round once where PyTorch rounds twice.  The first three
** are bound by division and square roots: Adam's update of a batch-64
** MLP's 235,146 parameters took 186 us in SSE2's 4 lanes, 100 in AVX's 8
** (Zen 4); SGD's by moving the arrays (below). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define OPT_AVX 1
#define AVX1 __attribute__((target("avx")))
#define AVX(op) _mm256_##op##_ps
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
** weight decay), STEP what is subtracted from p times lr; name_avx is the
** same loop in AVX's 8 lanes (the compiler's, from the same C), where the
** CPU has it.  A step is bound by moving p, g and the momentum through
** the caches, and AVX moves them in half the loads and stores: the
** batch-64 MLP's 235,146 parameters took 42 to 45 us in SSE2's lanes and
** 37 in AVX's on Zen 4, 1 thread. */
#define SGD_LOOP(name, ATTR, D, STEP)                                       \
  static K_NOINLINE ATTR void name(float *restrict p,                      \
                                   const float *restrict g,                \
                                   float *restrict buf, size_t n,          \
                                   float lr, float mom, float keep,        \
                                   float wd) {                             \
    (void)buf; (void)mom; (void)keep; (void)wd;                             \
    K_FOR(i, n, {                                                           \
      float d = (D);                                                        \
                                                                            \
      STEP;                                                                 \
    });                                                                     \
  }
#if defined(OPT_AVX)
#define SGD_FN(name, D, STEP)                                               \
  SGD_LOOP(name, , D, STEP)                                                 \
  SGD_LOOP(name##_avx, AVX1, D, STEP)
#define SGD_PICK(name) (__builtin_cpu_supports("avx") ? name##_avx : name)
#else
#define SGD_FN(name, D, STEP) SGD_LOOP(name, , D, STEP)
#define SGD_PICK(name) name
#endif

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
    (decay ? SGD_PICK(sgd_plain_wd) : SGD_PICK(sgd_plain))(p, g, NULL, n, lr,
                                                           0, 1, wd);
    return;
  }
  if (first) {               /* buf = d: mom * 0 + 1 * d is d exactly */
    memset(buf, 0, n * sizeof *buf);
    keep = 1;
  }
  fp = flush();
  if (nesterov)
    (decay ? SGD_PICK(sgd_nesterov_wd) : SGD_PICK(sgd_nesterov))(
        p, g, buf, n, lr, mom, keep, wd);
  else
    (decay ? SGD_PICK(sgd_mom_wd) : SGD_PICK(sgd_mom))(p, g, buf, n, lr, mom,
                                                       keep, wd);
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

/* The vector loop of k_adam, T a vector of W floats and X(op) its
** intrinsic (_mm_op_ps, _mm256_op_ps): the same operations as adam_one,
** W elements at a time, from element i; the index after the last whole
** vector.  sqrtf cannot vectorize at -O2 (it may set errno); the sqrt
** intrinsics are the same IEEE square root. */
#define ADAM_LOOP(T, X, W)                                                  \
  {                                                                         \
    const T vb1 = X(set1)(b1), vb1c = X(set1)(1 - b1);                     \
    const T vb2 = X(set1)(b2), vb2c = X(set1)(1 - b2);                     \
    const T vbc2s = X(set1)(bc2s), veps = X(set1)(eps);                    \
    const T vstep = X(set1)(step), vdecay = X(set1)(decay);                \
    const T vl2 = X(set1)(l2);                                             \
    for (; i + W <= n; i += W) {                                           \
      T pi = X(loadu)(p + i), gi = X(loadu)(g + i), mi, vi, d;             \
      if (decay != 1) pi = X(mul)(pi, vdecay);                             \
      else if (l2 != 0) gi = X(add)(gi, X(mul)(vl2, pi));                  \
      mi = X(add)(X(mul)(X(loadu)(m + i), vb1), X(mul)(vb1c, gi));         \
      vi = X(add)(X(mul)(X(loadu)(v + i), vb2),                            \
                  X(mul)(X(mul)(vb2c, gi), gi));                           \
      X(storeu)(m + i, mi);                                                \
      X(storeu)(v + i, vi);                                                \
      if (vmax) {                                                          \
        vi = X(max)(vi, X(loadu)(vmax + i));  /* NaN v keeps vmax */       \
        X(storeu)(vmax + i, vi);                                           \
      }                                                                    \
      d = X(add)(X(div)(X(sqrt)(vi), vbc2s), veps);                        \
      X(storeu)(p + i, X(sub)(pi, X(mul)(vstep, X(div)(mi, d))));          \
    }                                                                      \
    return i;                                                              \
  }

/* name_sse and name_avx: LOOP in SSE2's 4 lanes and AVX's 8, on ARGS */
#if defined(OPT_AVX)
#define VFUNCS(name, LOOP, ARGS)                                            \
  static size_t name##_sse(ARGS) LOOP(__m128, SSE, 4)                      \
  static AVX1 size_t name##_avx(ARGS) LOOP(__m256, AVX, 8)
/* i past what name's vector loops take: AVX's where the CPU has it, then
** SSE2's */
#define VLOOPS(name, ...)                                                   \
  do {                                                                      \
    if (__builtin_cpu_supports("avx")) i = name##_avx(__VA_ARGS__);        \
    i = name##_sse(__VA_ARGS__);                                           \
  } while (0)
#elif defined(__SSE2__)
#define VFUNCS(name, LOOP, ARGS)                                            \
  static size_t name##_sse(ARGS) LOOP(__m128, SSE, 4)
#define VLOOPS(name, ...) (i = name##_sse(__VA_ARGS__))
#else
#define VFUNCS(name, LOOP, ARGS)
#define VLOOPS(name, ...) ((void)0)
#endif

#define ADAM_ARGS                                                           \
  float *restrict p, const float *restrict g, float *restrict m,           \
      float *restrict v, float *restrict vmax, size_t n, size_t i,         \
      float step, float b1, float b2, float bc2s, float eps, float decay,  \
      float l2

#if defined(__SSE2__)
static size_t adam_sse(ADAM_ARGS) ADAM_LOOP(__m128, SSE, 4)
#endif

#ifdef OPT_AVX
static AVX1 size_t adam_avx(ADAM_ARGS) ADAM_LOOP(__m256, AVX, 8)
#endif

void k_adam(float *restrict p, const float *restrict g, float *restrict m,
            float *restrict v, float *restrict vmax, size_t n, float lr,
            float b1, float b2, float eps, float wd, int decoupled,
            int64_t t) {
  double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
  float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2);
  float decay = decoupled ? 1 - lr * wd : 1, l2 = decoupled ? 0 : wd;
  size_t i = 0;
  Fp fp = flush();
  VLOOPS(adam, p, g, m, v, vmax, n, i, step, b1, b2, bc2s, eps, decay, l2);
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

/* k_rmsprop's vector loop, as ADAM_LOOP */
#define RMSPROP_LOOP(T, X, W)                                               \
  {                                                                         \
    const T va = X(set1)(alpha), vac = X(set1)(1 - alpha);                 \
    const T veps = X(set1)(eps), vlr = X(set1)(lr);                        \
    const T vwd = X(set1)(wd), vmom = X(set1)(mom);                        \
    for (; i + W <= n; i += W) {                                           \
      T pi = X(loadu)(p + i), gi = X(loadu)(g + i), vi, avg, d;            \
      if (wd != 0) gi = X(add)(gi, X(mul)(vwd, pi));                       \
      vi = X(add)(X(mul)(X(loadu)(v + i), va), X(mul)(X(mul)(vac, gi), gi)); \
      X(storeu)(v + i, vi);                                                \
      if (ga) {                                                            \
        T gai = X(add)(X(mul)(X(loadu)(ga + i), va), X(mul)(vac, gi));     \
        X(storeu)(ga + i, gai);                                            \
        vi = X(sub)(vi, X(mul)(gai, gai));                                 \
      }                                                                    \
      avg = X(add)(X(sqrt)(vi), veps);                                     \
      d = X(div)(gi, avg);                                                 \
      if (buf) {                                                           \
        d = X(add)(X(mul)(X(loadu)(buf + i), vmom), d);                    \
        X(storeu)(buf + i, d);                                             \
      }                                                                    \
      X(storeu)(p + i, X(sub)(pi, X(mul)(vlr, d)));                        \
    }                                                                      \
    return i;                                                              \
  }

#define RMSPROP_ARGS                                                        \
  float *restrict p, const float *restrict g, float *restrict v,           \
      float *restrict ga, float *restrict buf, size_t n, size_t i,         \
      float lr, float alpha, float eps, float wd, float mom

VFUNCS(rmsprop, RMSPROP_LOOP, RMSPROP_ARGS)

void k_rmsprop(float *restrict p, const float *restrict g, float *restrict v,
               float *restrict ga, float *restrict buf, size_t n, float lr,
               float alpha, float eps, float wd, float mom) {
  size_t i = 0;
  Fp fp = flush();
  VLOOPS(rmsprop, p, g, v, ga, buf, n, i, lr, alpha, eps, wd, mom);
  for (; i < n; i++)
    p[i] = rmsprop_one(p[i], g[i], v + i, ga ? ga + i : NULL,
                       buf ? buf + i : NULL, lr, alpha, eps, wd, mom);
  unflush(fp);
}

/* k_adagrad's vector loop, as ADAM_LOOP */
#define ADAGRAD_LOOP(T, X, W)                                               \
  {                                                                         \
    const T vclr = X(set1)(clr), veps = X(set1)(eps), vwd = X(set1)(wd);   \
    for (; i + W <= n; i += W) {                                           \
      T pi = X(loadu)(p + i), gi = X(loadu)(g + i), si;                    \
      if (wd != 0) gi = X(add)(gi, X(mul)(vwd, pi));                       \
      si = X(add)(X(loadu)(sum + i), X(mul)(gi, gi));                      \
      X(storeu)(sum + i, si);                                              \
      si = X(add)(X(sqrt)(si), veps);                                      \
      X(storeu)(p + i, X(sub)(pi, X(mul)(vclr, X(div)(gi, si))));          \
    }                                                                      \
    return i;                                                              \
  }

#define ADAGRAD_ARGS                                                        \
  float *restrict p, const float *restrict g, float *restrict sum,         \
      size_t n, size_t i, float clr, float eps, float wd

VFUNCS(adagrad, ADAGRAD_LOOP, ADAGRAD_ARGS)

void k_adagrad(float *restrict p, const float *restrict g,
               float *restrict sum, size_t n, float clr, float eps, float wd) {
  size_t i = 0;
  VLOOPS(adagrad, p, g, sum, n, i, clr, eps, wd);
  for (; i < n; i++) {
    float gi = g[i];
    if (wd != 0) gi += wd * p[i];
    sum[i] += gi * gi;
    p[i] -= clr * (gi / (sqrtf(sum[i]) + eps));
  }
}

/* ---- gradient clipping --------------------------------------------------- */

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
