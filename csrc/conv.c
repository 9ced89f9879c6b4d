/*
** conv.c: the image layers' descriptors: Conv2d, MaxPool2d, AvgPool2d.
** A batch of images is an n x (C*H*W) Matrix, each row one image in
** PyTorch's (C, H, W) order, so that a network's image part feeds
** nn.Linear directly and weights move to and from PyTorch unchanged.
** Kernels in k_conv.c.
**
** The settings are a WinSet (below); m->in is the input's (C, H, W), 0
** until known.
*/
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "module.h"
#include "pool.h"

typedef struct WinSet {
  int inC, outC;              /* Conv2d's channels */
  int win[8];                 /* kh, kw, sh, sw, ph, pw, dh, dw: a KWindow */
  int bias;                   /* Conv2d */
  int inpad;                  /* AvgPool2d: the padding counts in the divisor */
} WinSet;

#define WS(m) NN_SET(m, WinSet)
#define CWS(m) NN_CSET(m, WinSet)

/* what each kind is (its constant data) */
typedef struct WinKind {
  int conv;                   /* weights, bias and channels (Conv2d) */
  int dilation;               /* takes dilation (not AvgPool2d) */
  int inpad;                  /* takes countIncludePad (AvgPool2d) */
  const char *const *options; /* the options it takes */
} WinKind;

#define WK(m) ((const WinKind *)(m)->kind->data)

static KWindow window(const Module *m) {
  KWindow w;
  memcpy(&w, CWS(m)->win, sizeof w);
  return w;
}

static int whole(lua_State *L, int idx, int lo, const char *fn,
                 const char *what) {
  int isint = 0;
  lua_Integer n = 0;
  if (lua_type(L, idx) == LUA_TNUMBER) n = lua_tointegerx(L, idx, &isint);
  if (!isint || n < lo || n > 65535)
    luaL_error(L, "%s: %s must be a whole number from %d to 65535 or {h, w}"
               ", got %s", fn, what, lo, nn_argdesc(L, idx));
  return (int)n;
}

/* a size given as n or {h, w}, into v[0], v[1]; each at least lo */
static void pair(lua_State *L, int idx, int *v, int lo, const char *fn,
                 const char *what) {
  int i;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) {
    v[0] = v[1] = whole(L, idx, lo, fn, what);
    return;
  }
  if (lua_rawlen(L, idx) != 2)
    luaL_error(L, "%s: %s must be a number or {h, w}", fn, what);
  for (i = 0; i < 2; i++) {
    lua_rawgeti(L, idx, i + 1);
    v[i] = whole(L, -1, lo, fn, what);
    lua_pop(L, 1);
  }
}

/* the options each kind takes */
static const char *const conv_options[] = {"stride", "padding", "dilation",
                                           "bias", "init", "input", NULL};
static const char *const maxpool_options[] = {"stride", "padding",
                                              "dilation", "input", NULL};
static const char *const avgpool_options[] = {"stride", "padding",
                                              "countIncludePad", "input",
                                              NULL};

/* one option of a window (nn_options has checked that the kind takes it) */
static void window_option(lua_State *L, void *ud, const char *fn,
                          const char *k) {
  Module *m = (Module *)ud;
  if (strcmp(k, "stride") == 0) pair(L, -1, WS(m)->win + 2, 1, fn, k);
  else if (strcmp(k, "padding") == 0)
    pair(L, -1, WS(m)->win + 4, 0, fn, k);
  else if (strcmp(k, "dilation") == 0)
    pair(L, -1, WS(m)->win + 6, 1, fn, k);
  else if (strcmp(k, "bias") == 0) WS(m)->bias = nn_optboolean(L, -1, fn, k);
  else if (strcmp(k, "countIncludePad") == 0)
    WS(m)->inpad = nn_optboolean(L, -1, fn, k);
  else if (strcmp(k, "init") == 0) m->init = nn_checkinit(L, -1, fn);
  else {                                      /* input = {C, H, W} or {H, W} */
    int n = lua_type(L, -1) == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0, i;
    if (n != 3 && n != 2)
      luaL_error(L, "%s: option input must be {C, H, W} or {H, W}", fn);
    for (i = 0; i < n; i++) {
      lua_rawgeti(L, -1, i + 1);
      m->in[3 - n + i] = (int)nn_checkwhole(L, -1, fn, "each size of input", 1,
                                            NN_MAXELEMS);
      lua_pop(L, 1);
    }
    if (n == 2) m->in[0] = CWS(m)->inC;
    if (m->in[0] == 0)
      luaL_error(L, "%s: option input must be {C, H, W}", fn);
  }
}

/* the input or output, a x b x c elements, refused past NN_MAXELEMS by
** name (a, b, c >= 1 and each at most INT_MAX, so a b fits) */
static void checkimage(lua_State *L, const char *fn, const char *what,
                       lua_Integer a, lua_Integer b, lua_Integer c) {
  if (a * b > NN_MAXELEMS / c)
    luaL_error(L, "%s: the %s, %I x %I x %I, is too large (at most %d "
               "elements)", fn, what, a, b, c, (int)NN_MAXELEMS);
}

/* OH, OW for m->in through the window; checks that the window fits */
static void outsize(lua_State *L, Module *m, const char *fn, int oc) {
  KWindow w = window(m);
  lua_Integer H = m->in[1], W = m->in[2];
  lua_Integer eh = (lua_Integer)w.dh * (w.kh - 1) + 1;
  lua_Integer ew = (lua_Integer)w.dw * (w.kw - 1) + 1;
  lua_Integer ph = H + 2 * (lua_Integer)w.ph, pw = W + 2 * (lua_Integer)w.pw;
  lua_Integer oh, ow;
  if (ph > INT_MAX || pw > INT_MAX)     /* k_conv.c's bound (2) */
    luaL_error(L, "%s: the padded input (%I x %I) is too large (at most %d "
               "a side)", fn, ph, pw, INT_MAX);
  if (ph < eh || pw < ew)
    luaL_error(L, "%s: the kernel (%d x %d, %I x %I with dilation) is larger "
               "than the padded input (%I x %I)", fn, w.kh, w.kw, eh, ew, ph,
               pw);
  oh = (ph - eh) / w.sh + 1;
  ow = (pw - ew) / w.sw + 1;
  checkimage(L, fn, "input", m->in[0], H, W);
  checkimage(L, fn, "output", oc, oh, ow);
  m->out[0] = oc;
  m->out[1] = (int)oh;
  m->out[2] = (int)ow;
  m->nin = (int)(m->in[0] * H * W);
  m->nout = (int)(oc * oh * ow);
}

static void pushpair(lua_State *L, const int *v) {
  lua_createtable(L, 2, 0);
  nn_setint(L, 1, v[0]);
  nn_setint(L, 2, v[1]);
}

/* the options of the config: {stride, padding, dilation, ..., input} */
static void pushoptions(lua_State *L, const Module *m) {
  int conv = WK(m)->conv;
  lua_createtable(L, 0, 6);
  pushpair(L, CWS(m)->win + 2);
  lua_setfield(L, -2, "stride");
  pushpair(L, CWS(m)->win + 4);
  lua_setfield(L, -2, "padding");
  if (WK(m)->dilation) {
    pushpair(L, CWS(m)->win + 6);
    lua_setfield(L, -2, "dilation");
  }
  if (conv) {
    lua_pushboolean(L, CWS(m)->bias);
    lua_setfield(L, -2, "bias");
  } else if (WK(m)->inpad) {
    lua_pushboolean(L, CWS(m)->inpad);
    lua_setfield(L, -2, "countIncludePad");
  }
  if (m->in[0]) {
    lua_createtable(L, 3, 0);
    nn_setint(L, 1, m->in[0]);
    nn_setint(L, 2, m->in[1]);
    nn_setint(L, 3, m->in[2]);
    lua_setfield(L, -2, "input");
  }
}

/* ", what n" or ", what hxw", for a pair that is not its default */
static size_t addpair(char *s, size_t len, size_t size, const char *what,
                      const int *v) {
  if (v[0] == v[1])
    return len + (size_t)snprintf(s + len, size - len, ", %s %d", what, v[0]);
  return len + (size_t)snprintf(s + len, size - len, ", %s %dx%d", what, v[0],
                                v[1]);
}

/* "(head khxkw[, stride s][, pad p][, dilation d][, no bias]...)" */
static void describe(luaL_Buffer *b, const Module *m, const char *head) {
  char s[160];
  const int *w = CWS(m)->win;
  int conv = WK(m)->conv;
  size_t len = (size_t)snprintf(s, sizeof s, "(%s%dx%d", head, w[0], w[1]);
  if (conv ? (w[2] != 1 || w[3] != 1) : (w[2] != w[0] || w[3] != w[1]))
    len = addpair(s, len, sizeof s, "stride", w + 2);
  if (w[4] || w[5]) len = addpair(s, len, sizeof s, "pad", w + 4);
  if (w[6] != 1 || w[7] != 1) len = addpair(s, len, sizeof s, "dilation", w + 6);
  if (conv && !CWS(m)->bias)
    len += (size_t)snprintf(s + len, sizeof s - len, ", no bias");
  if (WK(m)->inpad && !CWS(m)->inpad)
    len += (size_t)snprintf(s + len, sizeof s - len, ", padding not counted");
  snprintf(s + len, sizeof s - len, ")");
  luaL_addstring(b, s);
}

/* ---- Conv2d -------------------------------------------------------------- */

/* nn.Conv2d(inC, outC, k [, {stride = 1, padding = 0, dilation = 1,
** bias = true, init = "kaiming", input = {C, H, W}}]) */
static void conv_init(lua_State *L, Module *m, const char *fn, int a) {
  int *w = WS(m)->win;
  WS(m)->inC = (int)nn_checkwhole(L, a, fn, "argument 1 (inC)", 1,
                                  NN_MAXELEMS);
  WS(m)->outC = (int)nn_checkwhole(L, a + 1, fn, "argument 2 (outC)", 1,
                                   NN_MAXELEMS);
  pair(L, a + 2, w, 1, fn, "argument 3 (kernel size)");
  w[2] = w[3] = 1;
  w[4] = w[5] = 0;
  w[6] = w[7] = 1;
  WS(m)->bias = 1;
  nn_options(L, a + 3, fn, conv_options, window_option, m);
  if (m->in[0] && m->in[0] != CWS(m)->inC)
    luaL_error(L, "%s: input has %d channels, the layer takes inC = %d", fn,
               m->in[0], CWS(m)->inC);
  if ((lua_Integer)CWS(m)->outC * CWS(m)->inC >
      NN_MAXELEMS / ((lua_Integer)w[0] * w[1] + 1))
    luaL_error(L, "%s: the weight (outC x inC x kh x kw = %d x %d x %d x %d) "
               "and bias are too large (at most %d elements)", fn,
               CWS(m)->outC, CWS(m)->inC, w[0], w[1], (int)NN_MAXELEMS);
  if (m->in[0]) m->kind->shape(L, m, fn);
}

static void conv_shape(lua_State *L, Module *m, const char *fn) {
  if (m->in[0] != CWS(m)->inC)
    luaL_error(L, "%s: input has %d channels, the layer takes inC = %d", fn,
               m->in[0], CWS(m)->inC);
  outsize(L, m, fn, CWS(m)->outC);
}

/* weight outC x (inC*kh*kw), PyTorch's (outC, inC, kh, kw); bias 1 x outC,
** PyTorch's (outC) */
static int conv_tensors(const Module *m, int buf, Tensor *t) {
  const WinSet *s = CWS(m);
  if (buf) return 0;
  nn_tensor(&t[0], "weight", NULL, s->outC, s->inC * s->win[0] * s->win[1]);
  nn_torchshape(&t[0], 4, s->outC, s->inC, s->win[0], s->win[1]);
  nn_tensor(&t[1], "bias", NULL, 1, s->outC);
  nn_torchshape(&t[1], 1, s->outC, 0, 0, 0);
  return s->bias ? 2 : 1;
}

/* fan-in C kh kw, fan-out O kh kw, as PyTorch counts them */
static void conv_reset(Rng *r, const Module *m, float *const *p,
                       float *const *b) {
  int k = CWS(m)->win[0] * CWS(m)->win[1];
  (void)b;
  nn_initweights(r, m->init, p[0], (size_t)CWS(m)->outC * CWS(m)->inC * k,
                 CWS(m)->bias ? p[1] : NULL, CWS(m)->outC, CWS(m)->inC * k,
                 CWS(m)->outC * k);
}

/* ---- the direct kernels on the state's threads ------------------------- */

/* Forward and dL/dx split the images, in up to 4 parts a thread (parts
** are taken as threads come free).  dL/dW and dL/db go in two jobs: the
** first sums each chunk of images (k_dconv_wchunks, fixed by the shape)
** into sums of its own, a part a chunk, or a part a chunk and group of
** tiles where there are fewer chunks than threads; the second adds the
** chunks in order, split by tiles.  Each part writes outputs of its
** own, and every sum runs in the same order on any number of threads,
** so the results are the same bits on 1 thread or 16. */
typedef struct ConvJob {
  const KConvShape *s;
  float *out, *gw, *gb;
  const float *in, *wt, *b, *gy;
  float *shared, *priv;
  size_t npriv;               /* the private floats of each thread */
  int nparts, ntiles, ngroups; /* ngroups: dL/dW's tile groups a chunk */
} ConvJob;

/* the part's share [*a, *b) of n */
static void share(int n, int part, int nparts, int *a, int *b) {
  *a = (int)((long long)n * part / nparts);
  *b = (int)((long long)n * (part + 1) / nparts);
}

static void fwdpart(void *arg, int part, int thread) {
  const ConvJob *j = (const ConvJob *)arg;
  int i0, i1;
  share(j->s->n, part, j->nparts, &i0, &i1);
  k_dconv_forward(j->out, j->in, j->b, j->shared, j->priv + thread * j->npriv,
                  j->s, i0, i1);
}

static void dxpart(void *arg, int part, int thread) {
  const ConvJob *j = (const ConvJob *)arg;
  int i0, i1;
  share(j->s->n, part, j->nparts, &i0, &i1);
  k_dconv_backx(j->out, j->gy, j->shared, j->priv + thread * j->npriv, j->s,
                i0, i1);
}

/* dL/dW's tiles and dL/db's channels of this part: group part % ngroups
** of chunk part / ngroups */
static void dwpart(void *arg, int part, int thread) {
  const ConvJob *j = (const ConvJob *)arg;
  int t0, t1, o0, o1, grp = part % j->ngroups;
  share(j->ntiles, grp, j->ngroups, &t0, &t1);
  share(j->s->O, grp, j->ngroups, &o0, &o1);
  k_dconv_backw(j->shared, j->in, j->gy, j->priv + thread * j->npriv, j->s,
                part / j->ngroups, t0, t1, o0, o1, j->gb != NULL);
}

static void dwreduce(void *arg, int part, int thread) {
  const ConvJob *j = (const ConvJob *)arg;
  int t0, t1, o0, o1;
  (void)thread;
  share(j->ntiles, part, j->nparts, &t0, &t1);
  share(j->s->O, part, j->nparts, &o0, &o1);
  k_dconv_wreduce(j->gw, j->gb, j->shared, j->s, t0, t1, o0, o1);
}

/* the scratch of direction dir for nt threads: the shared part, then each
** thread's */
static float *directscratch(Ctx *c, const KConvShape *s, int dir, int nt,
                            ConvJob *j) {
  size_t sh = k_dconv_shared(s, dir);
  float *scr;
  j->npriv = k_dconv_private(s, dir);
  scr = nn_scratch(c, UV_SCRATCH, sh + nt * j->npriv, 1);
  j->shared = scr;
  j->priv = scr + sh;
  return scr;
}

static int imageparts(int n, int nt) {
  return nt == 1 ? 1 : n < 4 * nt ? n : 4 * nt;
}

static void directforward(Ctx *c, const KConvShape *s) {
  int nt = nn_poolsize(c->pool);
  ConvJob j;
  memset(&j, 0, sizeof j);
  j.s = s;
  directscratch(c, s, 0, nt, &j);
  j.out = c->out;
  j.in = c->x;
  j.b = c->p[1];
  j.nparts = imageparts(s->n, nt);
  k_dconv_prepare(j.shared, c->p[0], s, 0);
  nn_parallel(c->pool, fwdpart, &j, j.nparts);
}

static void directbackward(Ctx *c, const KConvShape *s) {
  int nt = nn_poolsize(c->pool), nch;
  ConvJob j;
  memset(&j, 0, sizeof j);
  j.s = s;
  j.gy = c->gy;
  if (c->gx) {
    directscratch(c, s, 1, nt, &j);
    j.out = c->gx;
    j.nparts = imageparts(s->n, nt);
    k_dconv_prepare(j.shared, c->p[0], s, 1);
    nn_parallel(c->pool, dxpart, &j, j.nparts);
  }
  directscratch(c, s, 2, nt, &j);
  j.in = c->x;
  j.gw = c->g[0];
  j.gb = c->g[1];
  j.ntiles = k_dconv_wtiles(s);
  nch = k_dconv_wchunks(s);
  j.ngroups = nch >= nt ? 1 : (nt + nch - 1) / nch;
  if (j.ngroups > j.ntiles) j.ngroups = j.ntiles;
  nn_parallel(c->pool, dwpart, &j, nch * j.ngroups);
  j.nparts = nt < j.ntiles ? nt : j.ntiles;
  nn_parallel(c->pool, dwreduce, &j, j.nparts);
}

/* ---- im2col + GEMM (k_conv.c) on the state's threads -------------------- */

/* The same split: images for forward and dL/dx, the kernel's input
** channels for dL/dW (as many parts as threads), dL/db's channels; each
** thread unrolls into cols of its own (K x P floats) */
static void colsfpart(void *arg, int part, int thread) {
  const ConvJob *j = (const ConvJob *)arg;
  const KConvShape *s = j->s;
  int i0, i1;
  share(s->n, part, j->nparts, &i0, &i1);
  k_conv2d_forward(j->out, j->in, j->wt, j->b, j->priv + thread * j->npriv,
                   i0, i1, s->C, s->H, s->W, s->O, &s->w, s->OH, s->OW);
}

static void colsxpart(void *arg, int part, int thread) {
  const ConvJob *j = (const ConvJob *)arg;
  const KConvShape *s = j->s;
  int i0, i1;
  share(s->n, part, j->nparts, &i0, &i1);
  k_conv2d_backx(j->out, j->wt, j->gy, j->priv + thread * j->npriv, i0, i1,
                 s->C, s->H, s->W, s->O, &s->w, s->OH, s->OW);
}

static void colswpart(void *arg, int part, int thread) {
  const ConvJob *j = (const ConvJob *)arg;
  const KConvShape *s = j->s;
  size_t P = (size_t)s->OH * s->OW;
  int c0, c1, o0, o1, i, o;
  share(s->C, part, j->nparts, &c0, &c1);
  if (c1 > c0)
    k_conv2d_backw(j->gw, j->in, j->gy, j->priv + thread * j->npriv, s->n,
                   c0, c1, s->C, s->H, s->W, s->O, &s->w, s->OH, s->OW);
  if (!j->gb) return;
  share(s->O, part, j->nparts, &o0, &o1);
  for (i = 0; i < s->n; i++)
    for (o = o0; o < o1; o++)
      j->gb[o] += (float)k_sum(j->gy + ((size_t)i * s->O + o) * P, P);
}

/* cols for each thread */
static void colsscratch(Ctx *c, const KConvShape *s, int nt, ConvJob *j) {
  j->npriv = (size_t)s->C * s->w.kh * s->w.kw * s->OH * s->OW;
  j->priv = nn_scratch(c, UV_SCRATCH, nt * j->npriv, 1);
}

static void colsforward(Ctx *c, const KConvShape *s) {
  int nt = nn_poolsize(c->pool);
  ConvJob j;
  memset(&j, 0, sizeof j);
  j.s = s;
  colsscratch(c, s, nt, &j);
  j.out = c->out;
  j.in = c->x;
  j.wt = c->p[0];
  j.b = c->p[1];
  j.nparts = imageparts(s->n, nt);
  nn_parallel(c->pool, colsfpart, &j, j.nparts);
}

/* dL/dW splits the channels only where each part keeps two columns of gw
** or more (a product of one column is summed in another order) and gw
** has two rows or more, so the sums are the same on any count */
static void colsbackward(Ctx *c, const KConvShape *s) {
  int nt = nn_poolsize(c->pool), khw = s->w.kh * s->w.kw;
  ConvJob j;
  memset(&j, 0, sizeof j);
  j.s = s;
  colsscratch(c, s, nt, &j);
  j.gy = c->gy;
  j.wt = c->p[0];
  if (c->gx) {
    j.out = c->gx;
    j.nparts = imageparts(s->n, nt);
    nn_parallel(c->pool, colsxpart, &j, j.nparts);
  }
  j.in = c->x;
  j.gw = c->g[0];
  j.gb = c->g[1];
  j.nparts = khw < 2 || s->O < 2 ? 1 : nt < s->C ? nt : s->C;
  nn_parallel(c->pool, colswpart, &j, j.nparts);
}

/* the convolution's shapes for the direct kernels (k_direct.c) */
static KConvShape convshape(const Ctx *c) {
  const Module *m = c->m;
  KConvShape s;
  s.n = c->n;
  s.C = m->in[0];
  s.H = m->in[1];
  s.W = m->in[2];
  s.O = CWS(m)->outC;
  s.OH = m->out[1];
  s.OW = m->out[2];
  s.w = window(m);
  return s;
}

static void conv_forward(Ctx *c) {
  KConvShape s = convshape(c);
  if (k_dconv_fits(&s)) directforward(c, &s);
  else colsforward(c, &s);
}

static void conv_backward(Ctx *c) {
  KConvShape s = convshape(c);
  if (k_dconv_fits(&s)) directbackward(c, &s);
  else colsbackward(c, &s);
}

static void conv_config(lua_State *L, const Module *m) {
  nn_setint(L, 1, CWS(m)->inC);
  nn_setint(L, 2, CWS(m)->outC);
  pushpair(L, CWS(m)->win);
  lua_rawseti(L, -2, 3);
  pushoptions(L, m);
  lua_rawseti(L, -2, 4);
}

static void conv_describe(luaL_Buffer *b, const Module *m) {
  char head[48];
  snprintf(head, sizeof head, "%d -> %d, ", CWS(m)->inC, CWS(m)->outC);
  describe(b, m, head);
}

/* ---- MaxPool2d and AvgPool2d ------------------------------------------- */

/* nn.MaxPool2d(k [, {stride = k, padding = 0, dilation = 1, input}]),
** nn.AvgPool2d(k [, {stride = k, padding = 0, countIncludePad = true,
** input}]); the padding at most half the kernel, as PyTorch requires */
static void pool_init(lua_State *L, Module *m, const char *fn, int a) {
  int *w = WS(m)->win, i;
  pair(L, a, w, 1, fn, "argument 1 (kernel size)");
  w[2] = w[0];
  w[3] = w[1];
  w[4] = w[5] = 0;
  w[6] = w[7] = 1;
  WS(m)->inpad = 1;
  nn_options(L, a + 1, fn, WK(m)->options, window_option, m);
  for (i = 0; i < 2; i++)
    if (2 * w[4 + i] > w[i])
      luaL_error(L, "%s: padding %d is more than half the kernel size %d",
                 fn, w[4 + i], w[i]);
  if (m->in[0]) m->kind->shape(L, m, fn);
}

static void pool_shape(lua_State *L, Module *m, const char *fn) {
  outsize(L, m, fn, m->in[0]);
}

/* Pooling splits the planes (image and channel) across the state's
** threads, each part a run of whole planes */
typedef struct PoolJob {
  const Ctx *c;
  KWindow w;
  int nparts;
} PoolJob;

/* the part's planes, [*a, *b) of n C; the plane sizes in and out */
static void planes(const PoolJob *j, int part, int *a, int *b, size_t *in,
                   size_t *out) {
  const Module *m = j->c->m;
  share(j->c->n * m->in[0], part, j->nparts, a, b);
  *in = (size_t)m->in[1] * m->in[2];
  *out = (size_t)m->out[1] * m->out[2];
}

static void maxfpart(void *arg, int part, int thread) {
  const PoolJob *j = (const PoolJob *)arg;
  const Ctx *c = j->c;
  const Module *m = c->m;
  int a, b;
  size_t in, out;
  (void)thread;
  planes(j, part, &a, &b, &in, &out);
  k_maxpool2d_forward(c->out + a * out, c->x + a * in, 1, b - a, m->in[1],
                      m->in[2], &j->w, m->out[1], m->out[2]);
}

static void maxbpart(void *arg, int part, int thread) {
  const PoolJob *j = (const PoolJob *)arg;
  const Ctx *c = j->c;
  const Module *m = c->m;
  int a, b;
  size_t in, out;
  (void)thread;
  planes(j, part, &a, &b, &in, &out);
  k_maxpool2d_backward(c->gx + a * in, c->x + a * in, c->y + a * out,
                       c->gy + a * out, 1, b - a, m->in[1], m->in[2], &j->w,
                       m->out[1], m->out[2]);
}

static void avgfpart(void *arg, int part, int thread) {
  const PoolJob *j = (const PoolJob *)arg;
  const Ctx *c = j->c;
  const Module *m = c->m;
  int a, b;
  size_t in, out;
  (void)thread;
  planes(j, part, &a, &b, &in, &out);
  k_avgpool2d_forward(c->out + a * out, c->x + a * in, 1, b - a, m->in[1],
                      m->in[2], &j->w, m->out[1], m->out[2], CWS(m)->inpad);
}

static void avgbpart(void *arg, int part, int thread) {
  const PoolJob *j = (const PoolJob *)arg;
  const Ctx *c = j->c;
  const Module *m = c->m;
  int a, b;
  size_t in, out;
  (void)thread;
  planes(j, part, &a, &b, &in, &out);
  k_avgpool2d_backward(c->gx + a * in, c->gy + a * out, 1, b - a, m->in[1],
                       m->in[2], &j->w, m->out[1], m->out[2], CWS(m)->inpad);
}

/* runs f over the planes: up to 4 parts a thread, one for little work */
static void poolrun(const Ctx *c, nn_Task f) {
  const Module *m = c->m;
  int np = c->n * m->in[0], most = 4 * nn_poolsize(c->pool);
  PoolJob j;
  j.c = c;
  j.w = window(m);
  j.nparts = (size_t)np * m->in[1] * m->in[2] < 32768 ? 1
             : np < most ? np : most;
  nn_parallel(c->pool, f, &j, j.nparts);
}

static void maxpool_forward(Ctx *c) { poolrun(c, maxfpart); }
static void maxpool_backward(Ctx *c) { poolrun(c, maxbpart); }
static void avgpool_forward(Ctx *c) { poolrun(c, avgfpart); }
static void avgpool_backward(Ctx *c) { poolrun(c, avgbpart); }

static void pool_config(lua_State *L, const Module *m) {
  pushpair(L, CWS(m)->win);
  lua_rawseti(L, -2, 1);
  pushoptions(L, m);
  lua_rawseti(L, -2, 2);
}

static void pool_describe(luaL_Buffer *b, const Module *m) {
  describe(b, m, "");
}

static const WinKind conv_kind = {1, 1, 0, conv_options};
static const WinKind maxpool_kind = {0, 1, 0, maxpool_options};
static const WinKind avgpool_kind = {0, 0, 1, avgpool_options};

const LayerKind nn_conv_kinds[] = {
  {.name = "Conv2d",
   .sig = "nn.Conv2d(inC, outC, k [, {stride = 1, padding = 0, dilation = 1, "
          "bias = true, init = \"kaiming\", input = {C, H, W}}])",
   .doc = "2-D convolution of images in (C, H, W) rows (im2col + sgemm). "
          "weight outC x (inC*kh*kw), as PyTorch's flattened; k, stride, "
          "padding, dilation a number or {h, w}.",
   .configdoc = "inC, outC, {kh, kw}, map {`stride`, `padding`, `dilation` "
                "({h, w} each), `bias`, `input` ({C, H, W}, once the layer "
                "knows it)}",
   .paramsdoc = "weight (outC x inC*kh*kw, PyTorch's (outC, inC, kh, kw) "
                "flattened), then bias (1 x outC) unless `bias` is false",
   .examples = {{"nn.Conv2d(2, 3, 3, {padding = 1, input = {2, 5, 5}})",
                 "torch.nn.Conv2d(2, 3, 3, padding=1)", 50, 0},
                {"nn.Conv2d(1, 2, {3, 2}, {stride = {2, 1}, padding = 1, "
                 "dilation = {1, 2}, bias = false, input = {1, 6, 7}})",
                 "torch.nn.Conv2d(1, 2, (3, 2), stride=(2, 1), padding=1, "
                 "dilation=(1, 2), bias=False)", 42, 0}},
   .init = conv_init, .tensors = conv_tensors, .reset = conv_reset,
   .forward = conv_forward, .backward = conv_backward,
   .config = conv_config, .describe = conv_describe, .shape = conv_shape,
   .skipgx = 1, .data = &conv_kind},
  {.name = "MaxPool2d",
   .sig = "nn.MaxPool2d(k [, {stride = k, padding = 0, dilation = 1, "
          "input = {C, H, W}}])",
   .doc = "The maximum over each k window of each channel.",
   .configdoc = "{kh, kw}, map {`stride`, `padding`, `dilation` ({h, w} "
                "each), `input` ({C, H, W}, once the layer knows it)}",
   .examples = {{"nn.MaxPool2d(2, {stride = 1, padding = {1, 0}, "
                 "dilation = 2, input = {2, 5, 5}})",
                 "torch.nn.MaxPool2d(2, stride=1, padding=(1, 0), "
                 "dilation=2)", 50, 0}},
   .init = pool_init, .forward = maxpool_forward,
   .backward = maxpool_backward, .config = pool_config,
   .describe = pool_describe, .shape = pool_shape, .data = &maxpool_kind},
  {.name = "AvgPool2d",
   .sig = "nn.AvgPool2d(k [, {stride = k, padding = 0, countIncludePad = "
          "true, input = {C, H, W}}])",
   .doc = "The mean over each k window of each channel; with "
          "countIncludePad the padding counts in the divisor (PyTorch's "
          "default).",
   .configdoc = "{kh, kw}, map {`stride`, `padding` ({h, w} each), "
                "`countIncludePad`, `input` ({C, H, W}, once the layer "
                "knows it)}",
   .examples = {{"nn.AvgPool2d({3, 2}, {stride = 2, padding = 1, "
                 "input = {2, 5, 4}})",
                 "torch.nn.AvgPool2d((3, 2), stride=2, padding=1)", 40, 0},
                {"nn.AvgPool2d(3, {stride = 2, padding = 1, "
                 "countIncludePad = false, input = {1, 7, 7}})",
                 "torch.nn.AvgPool2d(3, stride=2, padding=1, "
                 "count_include_pad=False)", 49, 0}},
   .init = pool_init, .forward = avgpool_forward,
   .backward = avgpool_backward, .config = pool_config,
   .describe = pool_describe, .shape = pool_shape, .data = &avgpool_kind},
  {.name = NULL}
};
