/*
** k_rnn.c: the recurrent layers' kernels (rnn.c holds the layers): one
** direction of one layer of an Elman RNN, an LSTM or a GRU over T steps of
** a batch, forward and backward through time, as a pair of plain functions
** on float arrays.  PyTorch's equations and gate order:
**
**   RNN:  h = act(x W_ih^T + b_ih + h' W_hh^T + b_hh), act tanh or ReLU
**   LSTM: i, f, g, o = sig, sig, tanh, sig of x W_ih^T + b_ih + h' W_hh^T
**         + b_hh (in that order along the 4H gates);
**         c = f c' + i g;  h = o tanh(c)
**   GRU:  r, z = sig(x W_ir^T + b_ir + h' W_hr^T + b_hr), (the same for z)
**         n = tanh(x W_in^T + b_in + r (h' W_hn^T + b_hn));
**         h = (1 - z) n + z h'
**
** (h', c': the state before the step).  Everything is time-major inside:
** the rows of a step are the n rows of the batch, contiguous, so that the
** inputs of all steps are one (T n) x D matrix: x W_ih^T for every step is
** one GEMM, then h' W_hh^T is one GEMM per step, for the whole batch.  The
** backward pass keeps dL/d(pre-activation) of every step and turns it into
** the weight gradients with one GEMM each (dW_ih += dG^T x, dW_hh += dG^T
** h'), as llm.c does.
*/
#include <math.h>
#include <string.h>

#include "kernels.h"

/* The selects below (a clamp, a sign) vectorize only where a comparison
** may be taken not to trap: it changes no result, only whether the
** floating-point exception flags would be raised (nothing here reads
** them).  Clang vectorizes them as they are. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* the products: the caller's, or k_gemm */
static void gemm(const KRnn *s, int ta, int tb, int M, int N, int K,
                 float alpha, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc) {
  if (s->gemm)
    s->gemm(s->gctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    k_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

int k_rnn_gates(int cell) {
  return cell == K_LSTM ? 4 : cell == K_GRU ? 3 : 1;
}

/* ---- exp, sigmoid and tanh that vectorize -------------------------------
** libm's expf and tanhf are calls, one element at a time; these are
** Cephes' single-precision polynomials (S. L. Moshier, Methods and
** Programs for Mathematical Functions, 1989), about 2 ulp, in arithmetic
** and selects only, so GCC vectorizes a loop of them at -O2.  NaN stays
** NaN; no conversion to an integer type (2^n is built in the exponent's
** bits from a float that holds n in its low bits). */

typedef union { float f; uint32_t u; } Bits;

static inline float fexp(float x) {
  Bits z, p;
  float r, q;
  x = x < -87.0f ? -87.0f : x;           /* e^-87 is still normal */
  x = x > 88.0f ? 88.0f : x;             /* n <= 127 below */
  /* 1.5 * 2^23 + n: round(x log2 e) in the mantissa's low bits */
  z.f = x * 1.44269504088896341f + 12582912.0f;
  r = z.f - 12582912.0f;
  x = x - r * 0.693359375f;              /* x - n ln 2, in two parts */
  x = x - r * -2.12194440e-4f;
  q = ((((1.9875691500e-4f * x + 1.3981999507e-3f) * x + 8.3334519073e-3f) *
        x + 4.1665795894e-2f) * x + 1.6666665459e-1f) * x + 5.0000001201e-1f;
  q = q * x * x + x + 1.0f;
  p.u = (z.u - 0x4B400000u + 127u) << 23;        /* 2^n */
  return q * p.f;
}

static inline float fsig(float x) {
  return 1.0f / (1.0f + fexp(-x));
}

/* the odd polynomial below |x| = 0.625, 1 - 2 / (e^2|x| + 1) above */
static inline float ftanh(float x) {
  float a = fabsf(x), z = x * x, s, l;
  s = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z -
         5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
       3.33332819422e-1f) * z * x + x;
  l = 1.0f - 2.0f / (fexp(2.0f * a) + 1.0f);
  l = x < 0 ? -l : l;
  return a < 0.625f ? s : l;
}

/* y[n] = tanh(x[n]), sigmoid: for the exported forms and the specs */
K_NOINLINE void k_tanh_fast(float *restrict y, const float *restrict x,
                            size_t n) {
  K_FOR(j, n, y[j] = ftanh(x[j]));
}

K_NOINLINE void k_sigmoid_fast(float *restrict y, const float *restrict x,
                               size_t n) {
  K_FOR(j, n, y[j] = fsig(x[j]));
}

/* ---- one row of a step, forward ----------------------------------------- */

/* RNN: h = act(h + b), h holding x W_ih^T + h' W_hh^T */
static K_NOINLINE void rnn_tanh_row(float *restrict h,
                                    const float *restrict b, int H) {
  K_FOR(j, H, h[j] = ftanh(h[j] + b[j]));
}

static K_NOINLINE void rnn_relu_row(float *restrict h,
                                    const float *restrict b, int H) {
  K_FOR(j, H, float v = h[j] + b[j]; h[j] = v > 0 ? v : 0.0f);
}

/* LSTM: the pre-activations (less the bias b) become the gates i, f, g,
** o; c = f cp + i g, h = o tanh(c) */
static K_NOINLINE void lstm_row(float *restrict gi, float *restrict gf,
                                float *restrict gg, float *restrict go,
                                const float *restrict b,
                                const float *restrict cp, float *restrict c,
                                float *restrict h, int H) {
  K_FOR(j, H,
        float i = fsig(gi[j] + b[j]);
        float f = fsig(gf[j] + b[H + j]);
        float g = ftanh(gg[j] + b[2 * H + j]);
        float o = fsig(go[j] + b[3 * H + j]);
        float cc = f * cp[j] + i * g;
        gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
        c[j] = cc;
        h[j] = o * ftanh(cc));
}

/* GRU: gx the input's part (x W_i^T) becomes r, z, n; hh the hidden part
** h' W_h^T; bx, bh the biases; hn (out) = h' W_hn^T + b_hn */
static K_NOINLINE void gru_row(float *restrict gr, float *restrict gz,
                               float *restrict gn, const float *restrict hh,
                               const float *restrict bx,
                               const float *restrict bh,
                               const float *restrict hp, float *restrict hn,
                               float *restrict h, int H) {
  K_FOR(j, H,
        float r = fsig(gr[j] + bx[j] + hh[j] + bh[j]);
        float z = fsig(gz[j] + bx[H + j] + hh[H + j] + bh[H + j]);
        float m = hh[2 * H + j] + bh[2 * H + j];
        float nn = ftanh(gn[j] + bx[2 * H + j] + r * m);
        gr[j] = r; gz[j] = z; gn[j] = nn;
        hn[j] = m;
        h[j] = (1.0f - z) * nn + z * hp[j]);
}

/* the slot of the state before step t, and after it (see kernels.h) */
static size_t slotbefore(const KRnn *s, int t) {
  return (size_t)(s->rev ? t + 1 : t) * s->n * s->H;
}

static size_t slotafter(const KRnn *s, int t) {
  return (size_t)(s->rev ? t : t + 1) * s->n * s->H;
}

/* bias[2 G H]: for RNN and LSTM the first G H are b_ih + b_hh; for GRU
** b_ih then b_hh; zeros for no bias */
static void biases(const KRnn *s, const float *bih, const float *bhh,
                   float *bias) {
  int GH = k_rnn_gates(s->cell) * s->H, j;
  for (j = 0; j < GH; j++) {
    float a = bih ? bih[j] : 0.0f, b = bhh ? bhh[j] : 0.0f;
    if (s->cell == K_GRU) {
      bias[j] = a;
      bias[GH + j] = b;
    } else {
      bias[j] = a + b;
    }
  }
}

void k_rnn_forward(const KRnn *s, const float *x, const float *wih,
                   const float *whh, const float *bih, const float *bhh,
                   float *hs, float *cs, float *g, float *hn, float *tmp) {
  int T = s->T, n = s->n, D = s->D, H = s->H, G = k_rnn_gates(s->cell);
  int GH = G * H, step, b;
  size_t rows = (size_t)T * n;
  float *bias = tmp, *hh = tmp + 2 * (size_t)GH;
  biases(s, bih, bhh, bias);
  /* the input's part of every step at once: into the gates, or for RNN
  ** straight into the states' slots (T n contiguous rows either way) */
  if (s->cell == K_RNN_TANH || s->cell == K_RNN_RELU) {
    float *out = hs + (s->rev ? 0 : (size_t)n * H);
    gemm(s, 0, 1, (int)rows, H, D, 1.0f, x, D, wih, D, 0.0f, out, H);
    for (step = 0; step < T; step++) {
      int t = s->rev ? T - 1 - step : step;
      float *h = hs + slotafter(s, t);
      gemm(s, 0, 1, n, H, H, 1.0f, hs + slotbefore(s, t), H, whh, H, 1.0f, h,
             H);
      for (b = 0; b < n; b++) {
        if (s->cell == K_RNN_TANH) rnn_tanh_row(h + (size_t)b * H, bias, H);
        else rnn_relu_row(h + (size_t)b * H, bias, H);
      }
    }
    return;
  }
  gemm(s, 0, 1, (int)rows, GH, D, 1.0f, x, D, wih, D, 0.0f, g, GH);
  for (step = 0; step < T; step++) {
    int t = s->rev ? T - 1 - step : step;
    float *gt = g + (size_t)t * n * GH;
    const float *hp = hs + slotbefore(s, t);
    float *h = hs + slotafter(s, t);
    if (s->cell == K_LSTM) {
      const float *cp = cs + slotbefore(s, t);
      float *c = cs + slotafter(s, t);
      gemm(s, 0, 1, n, GH, H, 1.0f, hp, H, whh, H, 1.0f, gt, GH);
      for (b = 0; b < n; b++) {
        float *r = gt + (size_t)b * GH;
        size_t o = (size_t)b * H;
        lstm_row(r, r + H, r + 2 * H, r + 3 * H, bias, cp + o, c + o, h + o,
                 H);
      }
    } else {                                            /* GRU */
      float *hnt = hn + (size_t)t * n * H;
      gemm(s, 0, 1, n, GH, H, 1.0f, hp, H, whh, H, 0.0f, hh, GH);
      for (b = 0; b < n; b++) {
        float *r = gt + (size_t)b * GH;
        size_t o = (size_t)b * H;
        gru_row(r, r + H, r + 2 * H, hh + (size_t)b * GH, bias, bias + GH,
                hp + o, hnt + o, h + o, H);
      }
    }
  }
}

/* ---- one row of a step, backward ---------------------------------------- */

/* dh = dy + dhn (dL/dh of this step: from the output and from the step
** after); each writes dL/d(pre-activation) into d and the part of dL/dh'
** that does not go through W_hh into dhn (nothing, for RNN and LSTM) */
static K_NOINLINE void rnn_tanh_back(float *restrict d,
                                     const float *restrict h,
                                     const float *restrict dy,
                                     const float *restrict dhn, int H) {
  K_FOR(j, H, float v = h[j]; d[j] = (dy[j] + dhn[j]) * (1.0f - v * v));
}

static K_NOINLINE void rnn_relu_back(float *restrict d,
                                     const float *restrict h,
                                     const float *restrict dy,
                                     const float *restrict dhn, int H) {
  K_FOR(j, H, float v = dy[j] + dhn[j]; d[j] = h[j] > 0 ? v : 0.0f);
}

/* dcn: dL/dc of this step from the step after, in; dL/dc' out */
static K_NOINLINE void lstm_back(float *restrict di, float *restrict df,
                                 float *restrict dg, float *restrict dO,
                                 const float *restrict gi,
                                 const float *restrict gf,
                                 const float *restrict gg,
                                 const float *restrict go,
                                 const float *restrict cp,
                                 const float *restrict c,
                                 const float *restrict dy,
                                 const float *restrict dhn,
                                 float *restrict dcn, int H) {
  K_FOR(j, H,
        float i = gi[j]; float f = gf[j]; float g = gg[j]; float o = go[j];
        float dh = dy[j] + dhn[j];
        float tc = ftanh(c[j]);
        float dc = dcn[j] + dh * o * (1.0f - tc * tc);
        di[j] = dc * g * i * (1.0f - i);
        df[j] = dc * cp[j] * f * (1.0f - f);
        dg[j] = dc * i * (1.0f - g * g);
        dO[j] = dh * tc * o * (1.0f - o);
        dcn[j] = dc * f);
}

/* d: dL/d(the input's pre-activations), dh: the hidden part's (r, z
** the same; n's times r); dhn in: dL/dh from the step after, out: z dh */
static K_NOINLINE void gru_back(float *restrict dr, float *restrict dz,
                                float *restrict dn, float *restrict hr,
                                float *restrict hz, float *restrict hnn,
                                const float *restrict gr,
                                const float *restrict gz,
                                const float *restrict gn,
                                const float *restrict hn,
                                const float *restrict hp,
                                const float *restrict dy,
                                float *restrict dhn, int H) {
  K_FOR(j, H,
        float r = gr[j]; float z = gz[j]; float m = gn[j];
        float dh = dy[j] + dhn[j];
        float dpn = dh * (1.0f - z) * (1.0f - m * m);
        float dpr = dpn * hn[j] * r * (1.0f - r);
        float dpz = dh * (hp[j] - m) * z * (1.0f - z);
        dr[j] = dpr; dz[j] = dpz; dn[j] = dpn;
        hr[j] = dpr; hz[j] = dpz; hnn[j] = dpn * r;
        dhn[j] = dh * z);
}

/* db[c] += the column sums of d[rows, c] */
static void colsums(float *restrict db, const float *restrict d, size_t rows,
                    int c) {
  size_t i;
  for (i = 0; i < rows; i++) {
    const float *r = d + i * c;
    K_FOR(j, c, db[j] += r[j]);
  }
}

void k_rnn_backward(const KRnn *s, const float *x, const float *wih,
                    const float *whh, const float *hs, const float *cs,
                    const float *g, const float *hn, const float *dy,
                    int ldy, float *dx, int accx, float *dwih, float *dwhh,
                    float *dbih, float *dbhh, float *dh0, float *dc0,
                    float *dg, float *dgh) {
  int T = s->T, n = s->n, D = s->D, H = s->H, G = k_rnn_gates(s->cell);
  int GH = G * H, step, b;
  size_t rows = (size_t)T * n, nH = (size_t)n * H;
  const float *hprev = hs + (s->rev ? nH : 0);   /* h' of every step */
  float *dhead = s->cell == K_GRU ? dgh : dg;    /* what W_hh's side gets */
  memset(dh0, 0, nH * sizeof *dh0);              /* dL/dh of step T + 1 */
  if (dc0) memset(dc0, 0, nH * sizeof *dc0);
  for (step = 0; step < T; step++) {
    int t = s->rev ? step : T - 1 - step;        /* back from the last */
    const float *dyt = dy + (size_t)t * n * ldy;
    float *dgt = dg + (size_t)t * n * GH;
    const float *h = hs + slotafter(s, t), *hp = hs + slotbefore(s, t);
    for (b = 0; b < n; b++) {
      size_t o = (size_t)b * H, go = (size_t)b * GH;
      const float *dyb = dyt + (size_t)b * ldy;
      switch (s->cell) {
      case K_RNN_TANH:
        rnn_tanh_back(dgt + go, h + o, dyb, dh0 + o, H);
        break;
      case K_RNN_RELU:
        rnn_relu_back(dgt + go, h + o, dyb, dh0 + o, H);
        break;
      case K_LSTM: {
        const float *gt = g + (size_t)t * n * GH + go;
        float *d = dgt + go;
        lstm_back(d, d + H, d + 2 * H, d + 3 * H, gt, gt + H, gt + 2 * H,
                  gt + 3 * H, cs + slotbefore(s, t) + o,
                  cs + slotafter(s, t) + o, dyb, dh0 + o, dc0 + o, H);
        break;
      }
      default: {                                 /* GRU */
        const float *gt = g + (size_t)t * n * GH + go;
        float *d = dgt + go, *e = dgh + (size_t)t * n * GH + go;
        gru_back(d, d + H, d + 2 * H, e, e + H, e + 2 * H, gt, gt + H,
                 gt + 2 * H, hn + (size_t)t * nH + o, hp + o, dyb, dh0 + o,
                 H);
        break;
      }
      }
    }
    /* dL/dh' through W_hh: GRU adds it to z dh, the others replace */
    gemm(s, 0, 0, n, H, GH, 1.0f, dhead + (size_t)t * n * GH, GH, whh, H,
           s->cell == K_GRU ? 1.0f : 0.0f, dh0, H);
  }
  /* the weights' gradients, each one GEMM over every step */
  gemm(s, 1, 0, GH, D, (int)rows, 1.0f, dg, GH, x, D, 1.0f, dwih, D);
  gemm(s, 1, 0, GH, H, (int)rows, 1.0f, dhead, GH, hprev, H, 1.0f, dwhh, H);
  if (dbih) colsums(dbih, dg, rows, GH);
  if (dbhh) colsums(dbhh, dhead, rows, GH);
  if (dx)
    gemm(s, 0, 0, (int)rows, D, GH, 1.0f, dg, GH, wih, D, accx ? 1.0f : 0.0f,
           dx, D);
}
