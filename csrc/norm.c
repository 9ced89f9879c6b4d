/*
** norm.c: the normalization layers' descriptors, as PyTorch's: batch
** normalization, BatchNorm1d (features: an n x F batch) and BatchNorm2d
** (per channel of (C, H, W) image rows), with parameters weight and bias
** (1 x C, unless affine is false) and buffers runningMean and runningVar
** (1 x C), saved with the model; and LayerNorm, over each step of a
** sequence.  Kernels in k_norm.c.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "module.h"
#include "pool.h"

typedef struct BNSet {
  int C;                      /* features or channels */
  int affine;                 /* weight and bias */
  float eps, momentum;
} BNSet;

#define BS(m) NN_SET(m, BNSet)
#define CBS(m) NN_CSET(m, BNSet)

static const char *const bn1d_options[] = {"eps", "momentum", "affine",
                                           NULL};
static const char *const bn2d_options[] = {"eps", "momentum", "affine",
                                           "input", NULL};

static void bn_option(lua_State *L, void *ud, const char *fn, const char *k) {
  Module *m = (Module *)ud;
  if (strcmp(k, "eps") == 0) {
    BS(m)->eps = nn_optfloat(L, -1, 1e-5f, fn, "option eps");
    if (!(BS(m)->eps > 0)) luaL_error(L, "%s: eps must be > 0", fn);
  } else if (strcmp(k, "momentum") == 0) {
    BS(m)->momentum = nn_optfloat(L, -1, 0.1f, fn, "option momentum");
    if (!(BS(m)->momentum >= 0 && BS(m)->momentum <= 1))
      luaL_error(L, "%s: momentum must be in [0, 1]", fn);
  } else if (strcmp(k, "affine") == 0) {
    BS(m)->affine = nn_optboolean(L, -1, fn, k);
  } else {                                        /* input = {C, H, W} */
    int i;
    if (lua_type(L, -1) != LUA_TTABLE || lua_rawlen(L, -1) != 3)
      luaL_error(L, "%s: option input must be {C, H, W}", fn);
    for (i = 0; i < 3; i++) {
      lua_rawgeti(L, -1, i + 1);
      m->in[i] = (int)nn_checkwhole(L, -1, fn, "each size of input", 1,
                                    NN_MAXELEMS);
      lua_pop(L, 1);
    }
  }
}

/* nn.BatchNorm1d(F [, {eps = 1e-5, momentum = 0.1, affine = true}]),
** nn.BatchNorm2d(C [, {..., input = {C, H, W}}]) */
static void bn_init(lua_State *L, Module *m, const char *fn, int a) {
  int image = m->kind->shape != NULL;
  BNSet *s = BS(m);
  s->C = (int)nn_checkwhole(L, a, fn, image ? "argument 1 (C)"
                                            : "argument 1 (F)", 1,
                            NN_MAXELEMS);
  s->affine = 1;
  s->eps = 1e-5f;
  s->momentum = 0.1f;
  if (!image) m->nin = m->nout = s->C;
  nn_options(L, a + 1, fn, image ? bn2d_options : bn1d_options, bn_option, m);
  if (m->in[0]) m->kind->shape(L, m, fn);
}

static void bn2d_shape(lua_State *L, Module *m, const char *fn) {
  if (m->in[0] != CBS(m)->C)
    luaL_error(L, "%s: input has %d channels, the layer takes C = %d", fn,
               m->in[0], CBS(m)->C);
  nn_checkcount(L, fn, (lua_Integer)m->in[0] * m->in[1], m->in[2]);
  memcpy(m->out, m->in, sizeof m->out);
  m->nin = m->nout = m->in[0] * m->in[1] * m->in[2];
}

/* a 1 x C tensor, PyTorch's (C) */
static void vector(Tensor *t, const char *name, const char *torch, int C) {
  nn_tensor(t, name, torch, 1, C);
  nn_torchshape(t, 1, C, 0, 0, 0);
}

/* parameters weight and bias unless affine is false; buffers runningMean
** and runningVar (PyTorch's running_mean, running_var) */
static int bn_tensors(const Module *m, int buf, Tensor *t) {
  int C = CBS(m)->C;
  if (buf) {
    vector(&t[0], "runningMean", "running_mean", C);
    vector(&t[1], "runningVar", "running_var", C);
    return 2;
  }
  vector(&t[0], "weight", NULL, C);
  vector(&t[1], "bias", NULL, C);
  return CBS(m)->affine ? 2 : 0;
}

/* weight 1, bias 0, running mean 0, running variance 1 */
static void bn_reset(Rng *r, const Module *m, float *const *p,
                     float *const *b) {
  (void)r;
  if (CBS(m)->affine) k_fill(p[0], CBS(m)->C, 1.0f);
  k_fill(b[1], CBS(m)->C, 1.0f);
}

/* per channel: C channels of S elements in each row */
static void bn_dims(const Ctx *c, int *C, int *S) {
  *C = CBS(c->m)->C;
  *S = c->cols / *C;
}

/* the channels split across the state's threads: each channel's
** statistics, output and gradients are its own.  Evaluation's forward,
** which gathers no statistics, goes by rows (images), every channel of
** each, split as the convolutions and pooling around it split them:
** channel by channel it strode across all the images' planes, and in
** the bench's CNN inference at batch 64 its two normalizations took 339
** and 207 us on 1 thread, by rows 170 and 91 (the whole inference,
** processes in turn: 0.93 of the time on 1 thread, 0.95 on 2) */
typedef struct BNJob {
  Ctx *c;
  float *stats;
  int C, S, nparts;
} BNJob;

static void bn_fpart(void *arg, int part, int thread) {
  const BNJob *j = (const BNJob *)arg;
  const Ctx *c = j->c;
  int c0 = j->C * part / j->nparts, c1 = j->C * (part + 1) / j->nparts;
  (void)thread;
  k_batchnorm_forward(c->out, c->x, c->p[0], c->p[1], c->buf[0], c->buf[1],
                      j->stats, j->stats + j->C, c->n, j->C, j->S, c0, c1,
                      CBS(c->m)->eps, CBS(c->m)->momentum);
}

static void bn_epart(void *arg, int part, int thread) {
  const BNJob *j = (const BNJob *)arg;
  const Ctx *c = j->c;
  int i0 = c->n * part / j->nparts, i1 = c->n * (part + 1) / j->nparts;
  (void)thread;
  k_batchnorm_rows(c->out, c->x, c->p[0], c->p[1], j->stats,
                   j->stats + j->C, j->C, j->S, i0, i1);
}

static void bn_bpart(void *arg, int part, int thread) {
  const BNJob *j = (const BNJob *)arg;
  const Ctx *c = j->c;
  int c0 = j->C * part / j->nparts, c1 = j->C * (part + 1) / j->nparts;
  (void)thread;
  k_batchnorm_backward(c->gx, c->g[0], c->g[1], c->x, c->gy, c->p[0],
                       j->stats, j->stats + j->C, c->n, j->C, j->S, c0, c1,
                       c->m->train);
}

/* parts of whole units (channels, or rows in evaluation's forward), up
** to 4 a thread, when there is work to share */
static int bn_parts(const Ctx *c, int units) {
  int most = 4 * nn_poolsize(c->pool);
  if ((size_t)c->n * c->cols < 32768) return 1;
  return units < most ? units : most;
}

static void bn_forward(Ctx *c) {
  const Module *m = c->m;
  BNJob j;
  bn_dims(c, &j.C, &j.S);
  if (m->train && (size_t)c->n * j.S < 2)
    luaL_error(c->L, "%s:forward: training needs more than one value per "
               "channel (a batch of 1); call evaluate() first",
               m->kind->name);
  j.c = c;
  j.stats = nn_scratch(c, UV_SCRATCH, 2 * (size_t)j.C, 1);
  if (m->train) {
    j.nparts = bn_parts(c, j.C);
    nn_parallel(c->pool, bn_fpart, &j, j.nparts);
    return;
  }
  k_batchnorm_evalstats(c->buf[0], c->buf[1], j.stats, j.stats + j.C, j.C,
                        CBS(m)->eps);
  j.nparts = bn_parts(c, c->n);
  nn_parallel(c->pool, bn_epart, &j, j.nparts);
}

static void bn_backward(Ctx *c) {
  const Module *m = c->m;
  BNJob j;
  bn_dims(c, &j.C, &j.S);
  j.c = c;
  j.stats = nn_scratch(c, UV_SCRATCH, 2 * (size_t)j.C, 0);
  if (!j.stats)
    luaL_error(c->L, "%s:backward: call forward first", m->kind->name);
  j.nparts = bn_parts(c, j.C);
  nn_parallel(c->pool, bn_bpart, &j, j.nparts);
}

static void bn_config(lua_State *L, const Module *m) {
  const BNSet *s = CBS(m);
  nn_setint(L, 1, s->C);
  lua_createtable(L, 0, 4);
  lua_pushnumber(L, s->eps);
  lua_setfield(L, -2, "eps");
  lua_pushnumber(L, s->momentum);
  lua_setfield(L, -2, "momentum");
  lua_pushboolean(L, s->affine);
  lua_setfield(L, -2, "affine");
  if (m->in[0]) {
    int i;
    lua_createtable(L, 3, 0);
    for (i = 0; i < 3; i++) nn_setint(L, i + 1, m->in[i]);
    lua_setfield(L, -2, "input");
  }
  lua_rawseti(L, -2, 2);
}

static void bn_describe(luaL_Buffer *b, const Module *m) {
  const BNSet *bs = CBS(m);
  char s[96];
  size_t len = (size_t)snprintf(s, sizeof s, "(%d", bs->C);
  if (bs->eps != 1e-5f)
    len += (size_t)snprintf(s + len, sizeof s - len, ", eps %g",
                            (double)bs->eps);
  if (bs->momentum != 0.1f)
    len += (size_t)snprintf(s + len, sizeof s - len, ", momentum %g",
                            (double)bs->momentum);
  if (!bs->affine)
    len += (size_t)snprintf(s + len, sizeof s - len, ", no affine");
  snprintf(s + len, sizeof s - len, ")");
  luaL_addstring(b, s);
}

/* ---- LayerNorm: each step of a sequence (its last D features) ----------- */

typedef struct LNSet {
  int affine;                 /* PyTorch's elementwise_affine */
  int bias;
  float eps;
} LNSet;

#define LS(m) NN_SET(m, LNSet)
#define CLS(m) NN_CSET(m, LNSet)

static const char *const ln_options[] = {"eps", "affine", "bias", NULL};

static void ln_option(lua_State *L, void *ud, const char *fn, const char *k) {
  Module *m = (Module *)ud;
  if (strcmp(k, "eps") == 0) {
    LS(m)->eps = nn_optfloat(L, -1, 1e-5f, fn, "option eps");
    if (!(LS(m)->eps > 0)) luaL_error(L, "%s: eps must be > 0", fn);
  } else if (strcmp(k, "affine") == 0) {
    LS(m)->affine = nn_optboolean(L, -1, fn, k);
  } else {
    LS(m)->bias = nn_optboolean(L, -1, fn, k);
  }
}

/* nn.LayerNorm(D [, {eps = 1e-5, affine = true, bias = true}]): rows of T
** steps of D features, any T */
static void ln_init(lua_State *L, Module *m, const char *fn, int a) {
  LNSet *s = LS(m);
  m->din = m->dout = (int)nn_checkwhole(L, a, fn, "argument 1 (D)", 1,
                                        NN_MAXELEMS);
  s->affine = s->bias = 1;
  s->eps = 1e-5f;
  nn_options(L, a + 1, fn, ln_options, ln_option, m);
}

/* weight (1 x D, PyTorch's (D)) unless affine is false, then bias unless
** bias is false too */
static int ln_tensors(const Module *m, int buf, Tensor *t) {
  const LNSet *s = CLS(m);
  if (buf || !s->affine) return 0;
  vector(&t[0], "weight", NULL, m->din);
  vector(&t[1], "bias", NULL, m->din);
  return s->bias ? 2 : 1;
}

static void ln_reset(Rng *r, const Module *m, float *const *p,
                     float *const *b) {
  (void)r;
  (void)b;
  if (CLS(m)->affine) k_fill(p[0], m->din, 1.0f);
}

/* the vectors of D in a batch: n rows of T steps each */
static size_t ln_count(const Ctx *c) {
  return (size_t)c->n * (c->cols / c->m->din);
}

static void ln_forward(Ctx *c) {
  const Module *m = c->m;
  const LNSet *s = CLS(m);
  k_layernorm_forward(c->out, c->x, s->affine ? c->p[0] : NULL,
                      s->affine && s->bias ? c->p[1] : NULL, ln_count(c),
                      m->din, s->eps);
}

static void ln_backward(Ctx *c) {
  const Module *m = c->m;
  const LNSet *s = CLS(m);
  k_layernorm_backward(c->gx, s->affine ? c->g[0] : NULL,
                       s->affine && s->bias ? c->g[1] : NULL, c->x, c->gy,
                       s->affine ? c->p[0] : NULL, ln_count(c), m->din,
                       s->eps);
}

static void ln_config(lua_State *L, const Module *m) {
  const LNSet *s = CLS(m);
  nn_setint(L, 1, m->din);
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, s->eps);
  lua_setfield(L, -2, "eps");
  lua_pushboolean(L, s->affine);
  lua_setfield(L, -2, "affine");
  lua_pushboolean(L, s->bias);
  lua_setfield(L, -2, "bias");
  lua_rawseti(L, -2, 2);
}

static void ln_describe(luaL_Buffer *b, const Module *m) {
  const LNSet *ls = CLS(m);
  char s[96];
  size_t len = (size_t)snprintf(s, sizeof s, "(%d", m->din);
  if (ls->eps != 1e-5f)
    len += (size_t)snprintf(s + len, sizeof s - len, ", eps %g",
                            (double)ls->eps);
  if (!ls->affine)
    len += (size_t)snprintf(s + len, sizeof s - len, ", no affine");
  else if (!ls->bias)
    len += (size_t)snprintf(s + len, sizeof s - len, ", no bias");
  snprintf(s + len, sizeof s - len, ")");
  luaL_addstring(b, s);
}

const LayerKind nn_norm_kinds[] = {
  {.name = "BatchNorm1d",
   .sig = "nn.BatchNorm1d(F [, {eps = 1e-5, momentum = 0.1, affine = true}])",
   .doc = "Batch normalization of each of F features, as PyTorch's: batch "
          "statistics in training, running ones after evaluate(). Fields "
          "weight, bias, runningMean, runningVar (1 x F).",
   .configdoc = "F, map {`eps`, `momentum`, `affine`}",
   .paramsdoc = "weight, then bias (1 x F each), unless `affine` is false",
   .buffersdoc = "runningMean, then runningVar (1 x F each)",
   .examples = {{"nn.BatchNorm1d(3, {eps = 1e-3, momentum = 0.2})",
                 "torch.nn.BatchNorm1d(3, eps=1e-3, momentum=0.2)", 3, 0},
                {"nn.BatchNorm1d(4, {affine = false})",
                 "torch.nn.BatchNorm1d(4, affine=False)", 4, 0}},
   .init = bn_init, .tensors = bn_tensors, .reset = bn_reset,
   .forward = bn_forward, .backward = bn_backward, .config = bn_config,
   .describe = bn_describe, .torchcount = "num_batches_tracked"},
  {.name = "BatchNorm2d",
   .sig = "nn.BatchNorm2d(C [, {eps = 1e-5, momentum = 0.1, affine = true, "
          "input = {C, H, W}}])",
   .doc = "Batch normalization per channel of (C, H, W) image rows, as "
          "PyTorch's. Fields weight, bias, runningMean, runningVar (1 x C).",
   .configdoc = "C, map {`eps`, `momentum`, `affine`, `input` ({C, H, W}, "
                "once the layer knows it)}",
   .paramsdoc = "weight, then bias (1 x C each), unless `affine` is false",
   .buffersdoc = "runningMean, then runningVar (1 x C each)",
   .examples = {{"nn.BatchNorm2d(2, {eps = 1e-3, momentum = 0.2, "
                 "input = {2, 3, 3}})",
                 "torch.nn.BatchNorm2d(2, eps=1e-3, momentum=0.2)", 18, 0}},
   .init = bn_init, .tensors = bn_tensors, .reset = bn_reset,
   .forward = bn_forward, .backward = bn_backward, .config = bn_config,
   .describe = bn_describe, .shape = bn2d_shape,
   .torchcount = "num_batches_tracked"},
  {.name = "LayerNorm",
   .sig = "nn.LayerNorm(D [, {eps = 1e-5, affine = true, bias = true}])",
   .doc = "Layer normalization of each step of a sequence (rows of T steps "
          "of D features, any T) by its own mean and variance, as "
          "PyTorch's LayerNorm(D); affine is its elementwise_affine. "
          "Fields weight, bias (1 x D).",
   .configdoc = "D, map {`eps`, `affine`, `bias`}",
   .paramsdoc = "weight, then bias (1 x D each), unless `affine` is false "
                "(or `bias`, for the bias)",
   .examples = {{"nn.LayerNorm(4)", "torch.nn.LayerNorm(4)", 12, 0},
                {"nn.LayerNorm(5, {eps = 1e-3, affine = false})",
                 "torch.nn.LayerNorm(5, eps=1e-3, elementwise_affine=False)",
                 10, 0},
                {"nn.LayerNorm(3, {bias = false})",
                 "torch.nn.LayerNorm(3, bias=False)", 6, 0}},
   .init = ln_init, .tensors = ln_tensors, .reset = ln_reset,
   .forward = ln_forward, .backward = ln_backward, .config = ln_config,
   .describe = ln_describe},
  {.name = NULL}
};
