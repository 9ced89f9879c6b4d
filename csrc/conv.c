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

#ifdef NN_BLAS_NONE
#define openblas_get_num_threads() 1  /* the own SGEMM runs on one thread */
#else
#include <cblas.h>
#endif

#include "module.h"

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

/* Images per GEMM: one on one thread; on more, as many as keep the
** scratch (cols and the GEMM's output) within NN_CONVSCRATCH floats, at
** least one (k_conv.c has the measurements) */
#ifndef NN_CONVSCRATCH
#define NN_CONVSCRATCH (4 << 20)
#endif

static int convgroup(const Ctx *c) {
  const Module *m = c->m;
  size_t per = (size_t)(CWS(m)->inC * CWS(m)->win[0] * CWS(m)->win[1] +
                        CWS(m)->outC) * m->out[1] * m->out[2];
  size_t g = NN_CONVSCRATCH / per;
  if (openblas_get_num_threads() == 1) return 1;
  return g < 1 ? 1 : g > (size_t)c->n ? c->n : (int)g;
}

/* the scratch for g images: cols, then the GEMM's output */
static float *convscratch(Ctx *c, int g, float **tmp) {
  const Module *m = c->m;
  size_t P = (size_t)m->out[1] * m->out[2] * g;
  size_t nc = (size_t)CWS(m)->inC * CWS(m)->win[0] * CWS(m)->win[1] * P;
  float *cols = nn_scratch(c, UV_SCRATCH, nc + (size_t)CWS(m)->outC * P, 1);
  *tmp = cols + nc;
  return cols;
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
  const Module *m = c->m;
  KWindow w = window(m);
  KConvShape s = convshape(c);
  int g;
  if (k_dconv_fits(&s)) {
    size_t sh = k_dconv_shared(&s, 0);
    float *scr = nn_scratch(c, UV_SCRATCH, sh + k_dconv_private(&s, 0), 1);
    k_dconv_prepare(scr, c->p[0], &s, 0);
    k_dconv_forward(c->out, c->x, c->p[1], scr, scr + sh, &s, 0, c->n);
    return;
  }
  g = convgroup(c);
  float *tmp, *cols = convscratch(c, g, &tmp);
  k_conv2d_forward(c->out, c->x, c->p[0], c->p[1], cols, tmp, c->n, g,
                   m->in[0], m->in[1], m->in[2], CWS(m)->outC, &w, m->out[1],
                   m->out[2]);
}

/* dL/db: gb[o] += each image's sum of gy[o], image by image */
static void convbias(float *gb, const float *gy, int n, int O, size_t P) {
  int i, o;
  for (i = 0; i < n; i++)
    for (o = 0; o < O; o++)
      gb[o] += (float)k_sum(gy + ((size_t)i * O + o) * P, P);
}

static void conv_backward(Ctx *c) {
  const Module *m = c->m;
  KWindow w = window(m);
  KConvShape s = convshape(c);
  int g;
  if (k_dconv_fits(&s)) {
    size_t shx = k_dconv_shared(&s, 1), shw = k_dconv_shared(&s, 2);
    size_t nx = shx + k_dconv_private(&s, 1), nw = shw + k_dconv_private(&s, 2);
    float *scr = nn_scratch(c, UV_SCRATCH, nx > nw ? nx : nw, 1);
    if (c->gx) {
      k_dconv_prepare(scr, c->p[0], &s, 1);
      k_dconv_backx(c->gx, c->gy, scr, scr + shx, &s, 0, c->n);
    }
    k_dconv_backw(c->g[0], scr, c->x, c->gy, scr + shw, &s, 0,
                  k_dconv_wtiles(&s));
    if (c->g[1])
      convbias(c->g[1], c->gy, c->n, s.O, (size_t)s.OH * s.OW);
    return;
  }
  g = convgroup(c);
  float *tmp, *cols = convscratch(c, g, &tmp);
  k_conv2d_backward(c->gx, c->g[0], c->g[1], c->x, c->p[0], c->gy, cols, tmp,
                    c->n, g, m->in[0], m->in[1], m->in[2], CWS(m)->outC, &w,
                    m->out[1], m->out[2]);
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

static void maxpool_forward(Ctx *c) {
  const Module *m = c->m;
  KWindow w = window(m);
  k_maxpool2d_forward(c->out, c->x, c->n, m->in[0], m->in[1], m->in[2], &w,
                      m->out[1], m->out[2]);
}

static void maxpool_backward(Ctx *c) {
  const Module *m = c->m;
  KWindow w = window(m);
  k_maxpool2d_backward(c->gx, c->x, c->y, c->gy, c->n, m->in[0], m->in[1],
                       m->in[2], &w, m->out[1], m->out[2]);
}

static void avgpool_forward(Ctx *c) {
  const Module *m = c->m;
  KWindow w = window(m);
  k_avgpool2d_forward(c->out, c->x, c->n, m->in[0], m->in[1], m->in[2], &w,
                      m->out[1], m->out[2], CWS(m)->inpad);
}

static void avgpool_backward(Ctx *c) {
  const Module *m = c->m;
  KWindow w = window(m);
  k_avgpool2d_backward(c->gx, c->gy, c->n, m->in[0], m->in[1], m->in[2], &w,
                       m->out[1], m->out[2], CWS(m)->inpad);
}

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
