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
** one GEMM, then h' W_hh^T is one GEMM per step, for the whole batch,
** with W_hh packed once for the pass (k_sgemm_pack) and not again each
** step.  With threads a step is one job in parts of the batch's rows,
** each part its rows' product and then their gates.  Before, packing
** took 16% of the bench's LSTM step (batch 32, H 256) and the gates ran
** on the caller alone: a second thread gave 1.3x, now 1.3-1.8x.  The
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

/* after the pragma: a function compiled under other options is not
** inlined into these */
#include "k_math.h"

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

/* ---- sigmoid and tanh that vectorize (k_fexp: k_math.h) ---------------- */

static inline float fsig(float x) {
  return 1.0f / (1.0f + k_fexp(-x));
}

/* the odd polynomial below |x| = 0.625, 1 - 2 / (e^2|x| + 1) above */
static inline float ftanh(float x) {
  float a = fabsf(x), z = x * x, s, l;
  s = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z -
         5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
       3.33332819422e-1f) * z * x + x;
  l = 1.0f - 2.0f / (k_fexp(2.0f * a) + 1.0f);
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

/* ---- a step in parts of the batch's rows --------------------------------- */

/* What a step's parts share: the arrays of k_rnn_forward's or
** k_rnn_backward's call, the step, and the rows of a part */
typedef struct Step {
  const KRnn *s;
  int t, per;
  const float *bias, *g, *dy;
  float *hs, *cs, *gw, *hh, *hn, *dg, *dgh, *dh0, *dc0;
  int ldy;
} Step;

size_t k_rnn_packsize(int cell, int H, int grad) {
  int GH = k_rnn_gates(cell) * H;
  return grad ? k_sgemm_packsize(H, GH) : k_sgemm_packsize(GH, H);
}

/* the parts of a step whose product is n x N x K: rows in fours, at most
** s->parts; one without wp or par, or where the product is short of a
** megaflop (a hand-over would cost more than it saves).  Not whole
** micro-tiles: a packed product gives each row the same bits whatever
** rows it is asked for, the kernels' time goes with the rows they take,
** and 32 rows in tiles of 12 (AVX-512) made parts of 24 and 8: a batch-32
** LSTM step gained 1.34x from a second thread in the bench (Zen 4). */
static int splitrows(const KRnn *s, int N, int K, int *per) {
  int fours = (s->n + 3) / 4, parts = s->parts < fours ? s->parts : fours;
  *per = s->n;
  if (!s->wp || !s->par || parts < 2 || 2.0 * s->n * N * K < 1e6) return 1;
  *per = (fours + parts - 1) / parts * 4;
  return (s->n + *per - 1) / *per;
}

static void runstep(const KRnn *s, KTask fn, Step *st, int N, int K) {
  int nparts = splitrows(s, N, K, &st->per);
  if (nparts > 1) s->par(s->gctx, fn, st, nparts);
  else fn(st, 0, 0);
}

/* forward, rows r0 .. r1 - 1 of step t: h' W_hh^T (with wp; else the
** caller's product did it for every row), then the gates */
static void fwdrows(const Step *st, int r0, int r1) {
  const KRnn *s = st->s;
  int n = s->n, H = s->H, GH = k_rnn_gates(s->cell) * H, t = st->t, b;
  int m = r1 - r0;
  const float *hp = st->hs + slotbefore(s, t);
  float *h = st->hs + slotafter(s, t);
  if (s->cell == K_RNN_TANH || s->cell == K_RNN_RELU) {
    if (s->wp)
      k_sgemm_packed(0, m, H, H, 1.0f, hp + (size_t)r0 * H, H, s->wp, H, 0,
                     1.0f, h + (size_t)r0 * H, H);
    for (b = r0; b < r1; b++) {
      if (s->cell == K_RNN_TANH) rnn_tanh_row(h + (size_t)b * H, st->bias, H);
      else rnn_relu_row(h + (size_t)b * H, st->bias, H);
    }
  } else if (s->cell == K_LSTM) {
    float *gt = st->gw + (size_t)t * n * GH;
    const float *cp = st->cs + slotbefore(s, t);
    float *c = st->cs + slotafter(s, t);
    if (s->wp)
      k_sgemm_packed(0, m, GH, H, 1.0f, hp + (size_t)r0 * H, H, s->wp, GH, 0,
                     1.0f, gt + (size_t)r0 * GH, GH);
    for (b = r0; b < r1; b++) {
      float *r = gt + (size_t)b * GH;
      size_t o = (size_t)b * H;
      lstm_row(r, r + H, r + 2 * H, r + 3 * H, st->bias, cp + o, c + o,
               h + o, H);
    }
  } else {                                              /* GRU */
    float *gt = st->gw + (size_t)t * n * GH;
    float *hnt = st->hn + (size_t)t * n * H;
    if (s->wp)
      k_sgemm_packed(0, m, GH, H, 1.0f, hp + (size_t)r0 * H, H, s->wp, GH, 0,
                     0.0f, st->hh + (size_t)r0 * GH, GH);
    for (b = r0; b < r1; b++) {
      float *r = gt + (size_t)b * GH;
      size_t o = (size_t)b * H;
      gru_row(r, r + H, r + 2 * H, st->hh + (size_t)b * GH, st->bias,
              st->bias + GH, hp + o, hnt + o, h + o, H);
    }
  }
}

static void fwdpart(void *arg, int part, int thread) {
  const Step *st = (const Step *)arg;
  int r0 = part * st->per, r1 = r0 + st->per;
  (void)thread;
  fwdrows(st, r0, r1 < st->s->n ? r1 : st->s->n);
}

void k_rnn_forward(const KRnn *s, const float *x, const float *wih,
                   const float *whh, const float *bih, const float *bhh,
                   float *hs, float *cs, float *g, float *hn, float *tmp) {
  int T = s->T, n = s->n, D = s->D, H = s->H, G = k_rnn_gates(s->cell);
  int GH = G * H, step, rnn = s->cell == K_RNN_TANH || s->cell == K_RNN_RELU;
  size_t rows = (size_t)T * n;
  float *bias = tmp;
  Step st;
  memset(&st, 0, sizeof st);
  st.s = s;
  st.bias = bias;
  st.hs = hs;
  st.cs = cs;
  st.gw = g;
  st.hn = hn;
  st.hh = tmp + 2 * (size_t)GH;
  biases(s, bih, bhh, bias);
  /* the input's part of every step at once: into the gates, or for RNN
  ** straight into the states' slots (T n contiguous rows either way) */
  if (rnn)
    gemm(s, 0, 1, (int)rows, H, D, 1.0f, x, D, wih, D, 0.0f,
         hs + (s->rev ? 0 : (size_t)n * H), H);
  else
    gemm(s, 0, 1, (int)rows, GH, D, 1.0f, x, D, wih, D, 0.0f, g, GH);
  if (s->wp) k_sgemm_pack(1, GH, H, whh, H, s->wp);
  for (step = 0; step < T; step++) {
    int t = s->rev ? T - 1 - step : step;
    st.t = t;
    if (!s->wp) {                       /* the step's product, every row */
      const float *hp = hs + slotbefore(s, t);
      if (rnn)
        gemm(s, 0, 1, n, H, H, 1.0f, hp, H, whh, H, 1.0f,
             hs + slotafter(s, t), H);
      else if (s->cell == K_LSTM)
        gemm(s, 0, 1, n, GH, H, 1.0f, hp, H, whh, H, 1.0f,
             g + (size_t)t * n * GH, GH);
      else
        gemm(s, 0, 1, n, GH, H, 1.0f, hp, H, whh, H, 0.0f, st.hh, GH);
    }
    runstep(s, fwdpart, &st, GH, H);
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

/* db[j] (and db2[j], unless NULL) += the sum of d[i c + j] over the
** rows i, for columns c0 .. c1 - 1: summed apart, then added */
static K_NOINLINE void colsums(float *restrict db, float *restrict db2,
                               const float *restrict d, size_t rows, int c,
                               int c0, int c1) {
  float acc[256];
  int j0;
  for (j0 = c0; j0 < c1; j0 += 256) {
    int w = c1 - j0 < 256 ? c1 - j0 : 256;
    size_t i;
    memset(acc, 0, (size_t)w * sizeof *acc);
    for (i = 0; i < rows; i++) {
      const float *r = d + i * c + j0;
      K_FOR(j, w, acc[j] += r[j]);
    }
    K_FOR(j, w, db[j0 + j] += acc[j]);
    if (db2) K_FOR(j, w, db2[j0 + j] += acc[j]);
  }
}

typedef struct Sums {
  float *db, *db2;
  const float *d;
  size_t rows;
  int c, per;
} Sums;

static void sumspart(void *arg, int part, int thread) {
  const Sums *u = (const Sums *)arg;
  int c0 = part * u->per, c1 = c0 + u->per;
  (void)thread;
  colsums(u->db, u->db2, u->d, u->rows, u->c, c0, c1 < u->c ? c1 : u->c);
}

/* the bias gradients: column sums of d[rows, c], split by columns in
** whole vectors where there are threads (each column summed the same way
** on any number) */
static void biasgrads(const KRnn *s, float *db, float *db2, const float *d,
                      size_t rows, int c) {
  Sums u;
  int nparts = s->par && s->parts > 1 && rows * (size_t)c >= 65536
                   ? s->parts : 1;
  u.db = db;
  u.db2 = db2;
  u.d = d;
  u.rows = rows;
  u.c = c;
  u.per = ((c + nparts - 1) / nparts + 15) / 16 * 16;
  nparts = (c + u.per - 1) / u.per;
  if (nparts > 1) s->par(s->gctx, sumspart, &u, nparts);
  else sumspart(&u, 0, 0);
}

/* backward, rows r0 .. r1 - 1 of step t: dL/d(pre-activation), then
** dL/dh' through W_hh (with wp; else the caller's product does it for
** every row): GRU adds it to z dh, the others replace */
static void bwdrows(const Step *st, int r0, int r1) {
  const KRnn *s = st->s;
  int n = s->n, H = s->H, GH = k_rnn_gates(s->cell) * H, t = st->t, b;
  const float *dyt = st->dy + (size_t)t * n * st->ldy;
  float *dgt = st->dg + (size_t)t * n * GH;
  const float *h = st->hs + slotafter(s, t), *hp = st->hs + slotbefore(s, t);
  float *dh0 = st->dh0, *dc0 = st->dc0;
  for (b = r0; b < r1; b++) {
    size_t o = (size_t)b * H, go = (size_t)b * GH;
    const float *dyb = dyt + (size_t)b * st->ldy;
    switch (s->cell) {
    case K_RNN_TANH:
      rnn_tanh_back(dgt + go, h + o, dyb, dh0 + o, H);
      break;
    case K_RNN_RELU:
      rnn_relu_back(dgt + go, h + o, dyb, dh0 + o, H);
      break;
    case K_LSTM: {
      const float *gt = st->g + (size_t)t * n * GH + go;
      float *d = dgt + go;
      lstm_back(d, d + H, d + 2 * H, d + 3 * H, gt, gt + H, gt + 2 * H,
                gt + 3 * H, st->cs + slotbefore(s, t) + o,
                st->cs + slotafter(s, t) + o, dyb, dh0 + o, dc0 + o, H);
      break;
    }
    default: {                                 /* GRU */
      const float *gt = st->g + (size_t)t * n * GH + go;
      float *d = dgt + go, *e = st->dgh + (size_t)t * n * GH + go;
      gru_back(d, d + H, d + 2 * H, e, e + H, e + 2 * H, gt, gt + H,
               gt + 2 * H, st->hn + (size_t)t * n * H + o, hp + o, dyb,
               dh0 + o, H);
      break;
    }
    }
  }
  if (s->wp) {
    const float *dhead = s->cell == K_GRU ? st->dgh : st->dg;
    k_sgemm_packed(0, r1 - r0, H, GH, 1.0f,
                   dhead + ((size_t)t * n + r0) * GH, GH, s->wp, H, 0,
                   s->cell == K_GRU ? 1.0f : 0.0f, dh0 + (size_t)r0 * H, H);
  }
}

static void bwdpart(void *arg, int part, int thread) {
  const Step *st = (const Step *)arg;
  int r0 = part * st->per, r1 = r0 + st->per;
  (void)thread;
  bwdrows(st, r0, r1 < st->s->n ? r1 : st->s->n);
}

void k_rnn_backward(const KRnn *s, const float *x, const float *wih,
                    const float *whh, const float *hs, const float *cs,
                    const float *g, const float *hn, const float *dy,
                    int ldy, float *dx, int accx, float *dwih, float *dwhh,
                    float *dbih, float *dbhh, float *dh0, float *dc0,
                    float *dg, float *dgh) {
  int T = s->T, n = s->n, D = s->D, H = s->H, G = k_rnn_gates(s->cell);
  int GH = G * H, step;
  size_t rows = (size_t)T * n, nH = (size_t)n * H;
  const float *hprev = hs + (s->rev ? nH : 0);   /* h' of every step */
  float *dhead = s->cell == K_GRU ? dgh : dg;    /* what W_hh's side gets */
  Step st;
  memset(&st, 0, sizeof st);
  st.s = s;
  st.g = g;
  st.cs = (float *)(uintptr_t)cs;     /* read only, as hs and hn */
  st.dy = dy;
  st.ldy = ldy;
  st.hs = (float *)(uintptr_t)hs;
  st.hn = (float *)(uintptr_t)hn;
  st.dg = dg;
  st.dgh = dgh;
  st.dh0 = dh0;
  st.dc0 = dc0;
  memset(dh0, 0, nH * sizeof *dh0);              /* dL/dh of step T + 1 */
  if (dc0) memset(dc0, 0, nH * sizeof *dc0);
  if (s->wp) k_sgemm_pack(0, H, GH, whh, H, s->wp);
  for (step = 0; step < T; step++) {
    int t = s->rev ? step : T - 1 - step;        /* back from the last */
    st.t = t;
    runstep(s, bwdpart, &st, H, GH);
    if (!s->wp)
      gemm(s, 0, 0, n, H, GH, 1.0f, dhead + (size_t)t * n * GH, GH, whh, H,
           s->cell == K_GRU ? 1.0f : 0.0f, dh0, H);
  }
  /* the weights' gradients, each one GEMM over every step */
  gemm(s, 1, 0, GH, D, (int)rows, 1.0f, dg, GH, x, D, 1.0f, dwih, D);
  gemm(s, 1, 0, GH, H, (int)rows, 1.0f, dhead, GH, hprev, H, 1.0f, dwhh, H);
  if (dhead == dg && dbih && dbhh)               /* the same sums for both */
    biasgrads(s, dbih, dbhh, dg, rows, GH);
  else {
    if (dbih) biasgrads(s, dbih, NULL, dg, rows, GH);
    if (dbhh) biasgrads(s, dbhh, NULL, dhead, rows, GH);
  }
  if (dx)
    gemm(s, 0, 0, (int)rows, D, GH, 1.0f, dg, GH, wih, D, accx ? 1.0f : 0.0f,
           dx, D);
}
