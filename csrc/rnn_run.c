/*
** rnn_run.c: a run of the recurrent layers (rnn.c has their
** descriptors, rnn.h what the two share): the run's table in the
** module's second scratch slot (the forward's saved arrays, backward's
** scratch, the states, each reused while its size fits), where
** everything is in it, forward and backward through k_rnn.c's kernels,
** and the state's methods (setState, state, step, gradState).
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"
#include "rnn.h"

/* The products on the state's threads: the own SGEMM, split as the
** Linear layers' are (pool.c), so the bits are the same on any count */
static void poolgemm(void *ctx, int ta, int tb, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B,
                     int ldb, float beta, float *C, int ldc) {
  nn_pgemm((Pool *)ctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* a step's parts on the state's threads */
static void poolpar(void *ctx, KTask fn, void *arg, int nparts) {
  nn_parallel((Pool *)ctx, fn, arg, nparts);
}

/* what k_rnn.c is told of one direction of one layer, D its input's
** width, on the state's threads, W_hh packed into wp (or NULL) */
static KRnn kspec(const Ctx *c, const RNNSet *s, int T, int n, int D,
                  int rev, float *wp) {
  KRnn ks;
  ks.cell = s->cell;
  ks.T = T;
  ks.n = n;
  ks.D = D;
  ks.H = s->H;
  ks.rev = rev;
  ks.gemm = poolgemm;
  ks.gctx = c->pool;
  ks.wp = wp;
  ks.par = poolpar;
  ks.parts = nn_poolsize(c->pool);
  return ks;
}

/* ---- the run's table: saved arrays, scratch and states ------------------ */

/* pushes the module's table (at 1), made the first time */
static int runtable(lua_State *L) {
  if (lua_getiuservalue(L, 1, UV_SCRATCH2) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 8);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, UV_SCRATCH2);
  }
  return lua_gettop(L);
}

/* the block of n floats under key of the table at tbl, reused while big
** enough; with make 0, NULL unless it is there */
static float *tblock(lua_State *L, int tbl, const char *key, size_t n,
                     int make, const char *fn) {
  size_t need = n > (size_t)-1 / sizeof(float) ? (size_t)-1
                                               : (n ? n : 1) * sizeof(float);
  float *p;
  if (lua_getfield(L, tbl, key) == LUA_TUSERDATA && lua_rawlen(L, -1) >= need) {
    p = (float *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return p;
  }
  lua_pop(L, 1);
  if (!make) return NULL;
  p = (float *)nn_newblock(L, n ? n : 1, sizeof(float), fn, "scratch",
                           "floats");
  lua_setfield(L, tbl, key);
  return p;
}

/* the matrix under key, or NULL */
static Matrix *tmatrix(lua_State *L, int tbl, const char *key) {
  Matrix *M;
  lua_getfield(L, tbl, key);
  M = nn_tomatrix(L, -1);
  lua_pop(L, 1);
  return M;
}

/* the rows x cols matrix under key, made (zeros) unless it is there */
static Matrix *tstate(lua_State *L, int tbl, const char *key, int rows,
                      int cols) {
  Matrix *M = tmatrix(L, tbl, key);
  if (M && M->rows == rows && M->cols == cols) return M;
  M = nn_newzeros(L, rows, cols);
  lua_setfield(L, tbl, key);
  return M;
}

/* ---- where everything is ------------------------------------------------ */

/* The forward's arrays, one block: the time-major input of layer 0, of
** each layer after it (with its dropout mask), and per layer and
** direction the states, cells, gates and GRU's hidden part; then the
** kernel's scratch.  Backward's, another block: dL/d(a layer's output)
** and dL/d(its input), dL/d(gates) (GRU: both parts), dL/dh0 and dL/dc0
** of each layer and direction. */
typedef struct Work {
  size_t total, gtotal;
  float *x0, *xl[NN_MAXTENSORS], *mask[NN_MAXTENSORS];
  float *hs[NN_MAXTENSORS], *cs[NN_MAXTENSORS], *g[NN_MAXTENSORS];
  float *hn[NN_MAXTENSORS], *tmp, *wp;
  float *da, *db, *dg, *dgh, *dh0, *dc0, *gwp;
} Work;

/* W_hh is packed once a pass (KRnn's wp) unless the pass is one step of
** one row, a matrix-vector product that reads W_hh once anyway */
static int packs(int T, int n) {
  return (size_t)T * n > 1;
}

typedef struct Layout {
  size_t off;
  int ok;
} Layout;

/* a region of a*b*c floats at the layout's end (its offset into *at);
** lo->ok becomes 0 if a size overflows */
static void region(Layout *lo, size_t *at, size_t a, size_t b, size_t c) {
  size_t n;
  if (b && a > (size_t)-1 / b) lo->ok = 0;
  n = a * b;
  if (c && n > (size_t)-1 / c) lo->ok = 0;
  n *= c;
  /* a multiple of 16 floats: arrays keep the block's alignment mod 64 */
  n = (n + 15) & ~(size_t)15;
  if (lo->off > (size_t)-1 - n) lo->ok = 0;
  *at = lo->off;
  lo->off += n;
}

/* the offsets of a run of T steps of n: forward's (grad 0) or
** backward's (grad 1) */
static size_t layout(const RNNSet *s, int T, int n, int drop, int grad,
                     size_t *at, lua_State *L, const char *fn) {
  Layout lo = {0, 1};
  size_t S = (size_t)T * n, Hd = (size_t)s->dirs * s->H;
  size_t G = (size_t)k_rnn_gates(s->cell), H = (size_t)s->H;
  size_t wide = (size_t)s->D > Hd ? (size_t)s->D : Hd;
  int Ld = s->L * s->dirs, l, k, i = 0;
  if (!grad) {
    region(&lo, &at[i++], S, (size_t)s->D, 1);              /* x0 */
    for (l = 1; l < s->L; l++) {
      region(&lo, &at[i++], S, Hd, 1);                      /* xl */
      region(&lo, &at[i++], drop ? S : 0, Hd, 1);           /* mask */
    }
    for (k = 0; k < Ld; k++) {
      region(&lo, &at[i++], (size_t)T + 1, (size_t)n, H);   /* hs */
      region(&lo, &at[i++], isLSTM(s) ? (size_t)T + 1 : 0, (size_t)n, H);
      region(&lo, &at[i++], s->cell >= K_LSTM ? S : 0, G, H);     /* g */
      region(&lo, &at[i++], s->cell == K_GRU ? S : 0, H, 1);      /* hn */
    }
    region(&lo, &at[i++], (2 + (size_t)n) * G, H, 1);       /* tmp */
    region(&lo, &at[i++], packs(T, n) ? k_rnn_packsize(s->cell, H, 0) : 0,
           1, 1);                                           /* wp */
  } else {
    region(&lo, &at[i++], S, wide, 1);                      /* da */
    region(&lo, &at[i++], S, wide, 1);                      /* db */
    region(&lo, &at[i++], S, G, H);                         /* dg */
    region(&lo, &at[i++], s->cell == K_GRU ? S : 0, G, H);  /* dgh */
    region(&lo, &at[i++], (size_t)Ld, (size_t)n, H);        /* dh0 */
    region(&lo, &at[i++], isLSTM(s) ? (size_t)Ld : 0, (size_t)n, H);
    region(&lo, &at[i++], packs(T, n) ? k_rnn_packsize(s->cell, H, 1) : 0,
           1, 1);                                           /* gwp */
  }
  if (!lo.ok || lo.off > (size_t)-1 / sizeof(float))
    luaL_error(L, "%s: %d steps of a batch of %d need more memory than "
               "there is", fn, T, n);
  return lo.off;
}

/* the forward's block (made, or NULL when make is 0 and it is not there
** in full) and its pointers */
static float *forwardwork(lua_State *L, int tbl, const RNNSet *s, int T,
                          int n, int drop, Work *w, int make,
                          const char *fn) {
  size_t at[4 * NN_MAXTENSORS + 2 * NN_MAXTENSORS + 3];
  int Ld = s->L * s->dirs, l, k, i = 0;
  float *b;
  w->total = layout(s, T, n, drop, 0, at, L, fn);
  b = tblock(L, tbl, "work", w->total, make, fn);
  if (!b) return NULL;
  w->x0 = b + at[i++];
  for (l = 1; l < s->L; l++) {
    w->xl[l] = b + at[i++];
    w->mask[l] = b + at[i++];
  }
  for (k = 0; k < Ld; k++) {
    w->hs[k] = b + at[i++];
    w->cs[k] = isLSTM(s) ? b + at[i] : NULL;
    i++;
    w->g[k] = s->cell >= K_LSTM ? b + at[i] : NULL;
    i++;
    w->hn[k] = s->cell == K_GRU ? b + at[i] : NULL;
    i++;
  }
  w->tmp = b + at[i++];
  w->wp = packs(T, n) ? b + at[i] : NULL;
  return b;
}

static void backwardwork(lua_State *L, int tbl, const RNNSet *s, int T,
                         int n, Work *w, const char *fn) {
  size_t at[8];
  float *b;
  w->gtotal = layout(s, T, n, 0, 1, at, L, fn);
  b = tblock(L, tbl, "grad", w->gtotal, 1, fn);
  w->da = b + at[0];
  w->db = b + at[1];
  w->dg = b + at[2];
  w->dgh = s->cell == K_GRU ? b + at[3] : NULL;
  w->dh0 = b + at[4];
  w->dc0 = isLSTM(s) ? b + at[5] : NULL;
  w->gwp = packs(T, n) ? b + at[6] : NULL;
}

/* the slot of h0 of direction d, and of its final state (k_rnn.c) */
static size_t slot0(int d, int T, int n, int H) {
  return d ? (size_t)T * n * H : 0;
}

static size_t slotfinal(int d, int T, int n, int H) {
  return d ? 0 : (size_t)T * n * H;
}

/* the outputs of direction d: T n rows of H */
static float *outputs(const Work *w, int k, int d, int n, int H) {
  return w->hs[k] + (d ? 0 : (size_t)n * H);
}

/* ---- forward and backward ---------------------------------------------- */

/* the state a forward starts from: where h0 (and c0) are, NULL for zeros */
static void startstate(Ctx *c, int tbl, RNNSet *s, const Matrix **h0,
                       const Matrix **c0) {
  const char *name = c->m->kind->name;
  *h0 = *c0 = NULL;
  if (s->carry && s->hascur) {
    *h0 = tmatrix(c->L, tbl, "h");
    *c0 = isLSTM(s) ? tmatrix(c->L, tbl, "c") : NULL;
    if (*h0 && (*h0)->rows != c->n)
      luaL_error(c->L, "%s:step: the state has %d rows, the input %d "
                 "(setState() starts again from zeros)", name, (*h0)->rows,
                 c->n);
  } else if (s->hasinit) {
    *h0 = tmatrix(c->L, tbl, "h0");
    *c0 = isLSTM(s) ? tmatrix(c->L, tbl, "c0") : NULL;
    if (*h0 && (*h0)->rows != c->n)
      luaL_error(c->L, "%s:%s: the state setState gave has %d rows, the "
                 "input %d", name, s->carry ? "step" : "forward",
                 (*h0)->rows, c->n);
  }
}

void nn_rnn_forward(Ctx *c) {
  lua_State *L = c->L;
  RNNSet *s = RS(c->m);
  const char *name = c->m->kind->name;
  int T = c->cols / s->D, n = c->n, H = s->H, D = s->D, dirs = s->dirs;
  int Hd = dirs * H, LdH = s->L * Hd, l, d, t, np = pertensor(s);
  int drop = c->m->train && s->dropout > 0 && s->L > 1;
  int tbl = runtable(L);
  const Matrix *h0, *c0;
  Matrix *hN, *cN = NULL;
  Work w;
  char fn[48];
  snprintf(fn, sizeof fn, "%s:forward", name);
  s->fwdn = s->fwdT = 0;                 /* nothing saved until it is */
  startstate(c, tbl, s, &h0, &c0);
  forwardwork(L, tbl, s, T, n, drop, &w, 1, fn);
  /* the final state's matrices: made before any is written */
  hN = tstate(L, tbl, "h", n, LdH);
  if (isLSTM(s)) cN = tstate(L, tbl, "c", n, LdH);
  /* layer 0's input, time-major */
  for (t = 0; t < T; t++)
    k_copy2d(w.x0 + (size_t)t * n * D, (size_t)D, c->x + (size_t)t * D,
             (size_t)T * D, n, D);
  for (l = 0; l < s->L; l++) {
    const float *in = l ? w.xl[l] : w.x0;
    for (d = 0; d < dirs; d++) {
      int k = l * dirs + d;
      float *const *p = c->p + (size_t)k * np;
      KRnn ks = kspec(c, s, T, n, l ? Hd : D, d, w.wp);
      /* h0 (c0) into its slot: rows of the state's block k */
      if (h0) k_copy2d(w.hs[k] + slot0(d, T, n, H), (size_t)H,
                       h0->data + (size_t)k * H, (size_t)LdH, n, H);
      else k_fill(w.hs[k] + slot0(d, T, n, H), (size_t)n * H, 0);
      if (isLSTM(s)) {
        if (c0) k_copy2d(w.cs[k] + slot0(d, T, n, H), (size_t)H,
                         c0->data + (size_t)k * H, (size_t)LdH, n, H);
        else k_fill(w.cs[k] + slot0(d, T, n, H), (size_t)n * H, 0);
      }
      k_rnn_forward(&ks, in, p[0], p[1], s->bias ? p[2] : NULL,
                    s->bias ? p[3] : NULL, w.hs[k], w.cs[k], w.g[k],
                    w.hn[k], w.tmp);
    }
    if (l + 1 < s->L) {                   /* the next layer's input */
      float *next = w.xl[l + 1];
      size_t m = (size_t)T * n * Hd;
      for (d = 0; d < dirs; d++)
        k_copy2d(next + (size_t)d * H, (size_t)Hd,
                 outputs(&w, l * dirs + d, d, n, H), (size_t)H, T * n, H);
      if (drop) {
        k_dropout_mask(nn_rng(L), w.mask[l + 1], m, s->dropout);
        k_mul(next, next, w.mask[l + 1], m);
      }
    }
  }
  /* the output, batch first: every step of the top layer, or its final
  ** states; and the final state of every layer */
  l = s->L - 1;
  for (d = 0; d < dirs; d++) {
    int k = l * dirs + d;
    if (s->last)
      k_copy2d(c->out + (size_t)d * H, (size_t)Hd,
               w.hs[k] + slotfinal(d, T, n, H), (size_t)H, n, H);
    else
      for (t = 0; t < T; t++)
        k_copy2d(c->out + (size_t)t * Hd + (size_t)d * H, (size_t)T * Hd,
                 outputs(&w, k, d, n, H) + (size_t)t * n * H, (size_t)H, n,
                 H);
  }
  for (l = 0; l < s->L * dirs; l++) {
    d = l % dirs;
    k_copy2d(hN->data + (size_t)l * H, (size_t)LdH,
             w.hs[l] + slotfinal(d, T, n, H), (size_t)H, n, H);
    if (cN)
      k_copy2d(cN->data + (size_t)l * H, (size_t)LdH,
               w.cs[l] + slotfinal(d, T, n, H), (size_t)H, n, H);
  }
  s->hascur = 1;
  s->fwdT = T;
  s->fwdn = n;
  s->fwddrop = drop;
  lua_settop(L, tbl - 1);
}

void nn_rnn_backward(Ctx *c) {
  lua_State *L = c->L;
  RNNSet *s = RS(c->m);
  const char *name = c->m->kind->name;
  int T = c->cols / s->D, n = c->n, H = s->H, D = s->D, dirs = s->dirs;
  int Hd = dirs * H, LdH = s->L * Hd, l, d, t, np = pertensor(s);
  int tbl = runtable(L);
  size_t S = (size_t)T * n;
  float *dout, *dx;
  Matrix *gh, *gc = NULL;
  Work w;
  char fn[48];
  snprintf(fn, sizeof fn, "%s:backward", name);
  if (s->fwdn != n || s->fwdT != T ||
      !forwardwork(L, tbl, s, T, n, s->fwddrop, &w, 0, fn))
    luaL_error(L, "%s: no forward on a %d x %d input to go back through "
               "(call forward first)", fn, n, c->cols);
  backwardwork(L, tbl, s, T, n, &w, fn);
  gh = tstate(L, tbl, "dh0", n, LdH);
  if (isLSTM(s)) gc = tstate(L, tbl, "dc0", n, LdH);
  s->hasgrad = 0;
  /* dL/d(the top layer's outputs), time-major */
  dout = w.da;
  dx = w.db;
  if (s->last) {
    k_fill(dout, S * Hd, 0);
    for (d = 0; d < dirs; d++)     /* the final state: step T, or 1 */
      k_copy2d(dout + (d ? 0 : (size_t)(T - 1) * n * Hd) + (size_t)d * H,
               (size_t)Hd, c->gy + (size_t)d * H, (size_t)Hd, n, H);
  } else {
    for (t = 0; t < T; t++)
      k_copy2d(dout + (size_t)t * n * Hd, (size_t)Hd, c->gy + (size_t)t * Hd,
               (size_t)T * Hd, n, Hd);
  }
  for (l = s->L - 1; l >= 0; l--) {
    const float *in = l ? w.xl[l] : w.x0;
    int wantdx = l > 0 || c->gx != NULL;
    for (d = 0; d < dirs; d++) {
      int k = l * dirs + d;
      float *const *p = c->p + (size_t)k * np;
      float *const *g = c->g + (size_t)k * np;
      KRnn ks = kspec(c, s, T, n, l ? Hd : D, d, w.gwp);
      k_rnn_backward(&ks, in, p[0], p[1], w.hs[k], w.cs[k], w.g[k], w.hn[k],
                     dout + (size_t)d * H, Hd, wantdx ? dx : NULL, d > 0,
                     g[0], g[1], s->bias ? g[2] : NULL,
                     s->bias ? g[3] : NULL, w.dh0 + (size_t)k * n * H,
                     isLSTM(s) ? w.dc0 + (size_t)k * n * H : NULL, w.dg,
                     w.dgh);
    }
    if (l > 0) {                   /* through the dropout, to layer l - 1 */
      float *swap = dout;
      if (s->fwddrop) k_mul(dx, dx, w.mask[l], S * Hd);
      dout = dx;
      dx = swap;
    } else if (c->gx) {            /* batch first */
      for (t = 0; t < T; t++)
        k_copy2d(c->gx + (size_t)t * D, (size_t)T * D,
                 dx + (size_t)t * n * D, (size_t)D, n, D);
    }
  }
  for (l = 0; l < s->L * dirs; l++) {
    k_copy2d(gh->data + (size_t)l * H, (size_t)LdH,
             w.dh0 + (size_t)l * n * H, (size_t)H, n, H);
    if (gc)
      k_copy2d(gc->data + (size_t)l * H, (size_t)LdH,
               w.dc0 + (size_t)l * n * H, (size_t)H, n, H);
  }
  s->hasgrad = 1;
  lua_settop(L, tbl - 1);
}

/* ---- the state's methods ------------------------------------------------- */

static Module *checkrnn(lua_State *L, const char *method, char *fn,
                        size_t len) {
  Module *m = (Module *)nn_checkudata(L, 1, NN_MODULE, NN_TAG_MODULE,
                                      sizeof(Module));
  if (m->kind->forward != nn_rnn_forward)
    luaL_error(L, "%s: not a recurrent layer", method);
  snprintf(fn, len, "%s:%s", m->kind->name, method);
  return m;
}

/* a state argument: an nn.Matrix of layers*dirs*H columns */
static Matrix *statearg(lua_State *L, int arg, const Module *m,
                        const char *fn, const char *what) {
  const RNNSet *s = CRS(m);
  int LdH = s->L * s->dirs * s->H;
  Matrix *M = nn_tomatrix(L, arg);
  if (!M)
    luaL_error(L, "%s: %s must be an nn.Matrix (n x %d: %d layer%s x %d "
               "direction%s x %d), got %s", fn, what, LdH, s->L,
               s->L > 1 ? "s" : "", s->dirs, s->dirs > 1 ? "s" : "", s->H,
               luaL_typename(L, arg));
  if (M->cols != LdH)
    luaL_error(L, "%s: %s has %d columns, expected %d (%d layer%s x %d "
               "direction%s x %d)", fn, what, M->cols, LdH, s->L,
               s->L > 1 ? "s" : "", s->dirs, s->dirs > 1 ? "s" : "", s->H);
  return M;
}

/* m:setState([h [, c]]): where forward (and the next step) starts: h (and
** the LSTM's c), copied in; none: zeros.  Returns m. */
static int rnn_setstate(lua_State *L) {
  char fn[48];
  Module *m = checkrnn(L, "setState", fn, sizeof fn);
  RNNSet *s = RS(m);
  int LdH = s->L * s->dirs * s->H, tbl;
  Matrix *h, *c = NULL, *dst;
  lua_settop(L, 3);
  tbl = runtable(L);                                         /* at 4 */
  if (lua_isnil(L, 2)) {
    if (!lua_isnil(L, 3))
      return luaL_error(L, "%s: c without h", fn);
    s->hasinit = s->hascur = 0;
    lua_settop(L, 1);
    return 1;
  }
  h = statearg(L, 2, m, fn, "h");
  if (isLSTM(s)) {
    if (lua_isnil(L, 3))
      return luaL_error(L, "%s: an LSTM's state is h and c (each n x %d)",
                        fn, LdH);
    c = statearg(L, 3, m, fn, "c");
    if (c->rows != h->rows)
      return luaL_error(L, "%s: h has %d rows, c %d", fn, h->rows, c->rows);
  } else if (!lua_isnil(L, 3)) {
    return luaL_error(L, "%s: takes h only (only an LSTM has a cell state)",
                      fn);
  }
  /* the initial state and the current one, both copies */
  dst = tstate(L, tbl, "h0", h->rows, LdH);
  memmove(dst->data, h->data, nn_numel(h) * sizeof(float));
  dst = tstate(L, tbl, "h", h->rows, LdH);
  memmove(dst->data, h->data, nn_numel(h) * sizeof(float));
  if (c) {
    dst = tstate(L, tbl, "c0", c->rows, LdH);
    memmove(dst->data, c->data, nn_numel(c) * sizeof(float));
    dst = tstate(L, tbl, "c", c->rows, LdH);
    memmove(dst->data, c->data, nn_numel(c) * sizeof(float));
  }
  s->hasinit = s->hascur = 1;
  lua_settop(L, 1);
  return 1;
}

/* pushes the table's h and c (LSTM) under the keys, or nothing if flag
** is 0; returns the count */
static int pushstate(lua_State *L, const Module *m, int flag,
                     const char *hk, const char *ck) {
  int tbl;
  lua_settop(L, 1);
  if (!flag) return 0;
  tbl = runtable(L);
  lua_getfield(L, tbl, hk);
  if (!isLSTM(CRS(m))) return 1;
  lua_getfield(L, tbl, ck);
  return 2;
}

/* m:state() -> h [, c]: the state the last forward or step ended in (or
** setState's); nil if there is none.  The layer's own matrices. */
static int rnn_state(lua_State *L) {
  char fn[48];
  Module *m = checkrnn(L, "state", fn, sizeof fn);
  return pushstate(L, m, CRS(m)->hascur, "h", "c");
}

/* m:gradState() -> dL/dh0 [, dL/dc0] of the last backward; nil before */
static int rnn_gradstate(lua_State *L) {
  char fn[48];
  Module *m = checkrnn(L, "gradState", fn, sizeof fn);
  return pushstate(L, m, CRS(m)->hasgrad, "dh0", "dc0");
}

/* m:step(x): forward from the current state (state()), not from the
** initial one: x is the next steps (often one) of the same sequences */
static int rnn_step(lua_State *L) {
  char fn[48];
  Module *m = checkrnn(L, "step", fn, sizeof fn);
  int ok;
  lua_settop(L, 2);
  lua_getfield(L, 1, "forward");
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  RS(m)->carry = 1;
  ok = lua_pcall(L, 2, 1, 0);
  RS(m)->carry = 0;
  if (ok != LUA_OK) {
    if (lua_type(L, -1) == LUA_TSTRING) {   /* forward's name for it: step */
      const char *e = lua_tostring(L, -1), *at;
      char head[48];
      snprintf(head, sizeof head, "%s:forward", m->kind->name);
      at = strstr(e, head);
      if (at) {
        lua_pushlstring(L, e, (size_t)(at - e));
        lua_pushstring(L, fn);
        lua_pushstring(L, at + strlen(head));
        lua_concat(L, 3);
      }
    }
    return lua_error(L);
  }
  return 1;
}

const luaL_Reg nn_rnn_methods[] = {
  {"setState", rnn_setstate}, {"state", rnn_state}, {"step", rnn_step},
  {"gradState", rnn_gradstate}, {NULL, NULL}
};
