/*
** dense.c: the dense layers' descriptors: Linear (per step of a sequence
** too), Softmax, LogSoftmax, Flatten, Dropout and Embedding.  Kernels in
** k_dense.c.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "module.h"
#include "pool.h"

/* ---- Linear: y = x W^T + b ----------------------------------------------- */

/* With sequence, each row is T steps of nin features (any T), each step
** mapped to nout: the rows of steps are (n T) x nin already, so the same
** kernels run on them, no copy. */
typedef struct LinearSet {
  int nin, nout;
  int bias;
  int sequence;
} LinearSet;

#define LIN(m) NN_CSET(m, LinearSet)

static const char *const linear_options[] = {"bias", "init", "sequence",
                                             NULL};

static void linear_option(lua_State *L, void *ud, const char *fn,
                          const char *k) {
  Module *m = (Module *)ud;
  if (strcmp(k, "bias") == 0)
    NN_SET(m, LinearSet)->bias = nn_optboolean(L, -1, fn, k);
  else if (strcmp(k, "sequence") == 0)
    NN_SET(m, LinearSet)->sequence = nn_optboolean(L, -1, fn, k);
  else m->init = nn_checkinit(L, -1, fn);
}

/* nn.Linear(nin, nout [, {bias = true, init = "kaiming", sequence =
** false}]) */
static void linear_init(lua_State *L, Module *m, const char *fn, int a) {
  LinearSet *s = NN_SET(m, LinearSet);
  s->nin = (int)nn_checkwhole(L, a, fn, "argument 1 (nin)", 1, NN_MAXELEMS);
  s->nout = (int)nn_checkwhole(L, a + 1, fn, "argument 2 (nout)", 1,
                               NN_MAXELEMS);
  s->bias = 1;
  nn_options(L, a + 2, fn, linear_options, linear_option, m);
  nn_checkcount(L, fn, s->nout, (lua_Integer)s->nin + 1);
  if (s->sequence) {
    m->din = s->nin;
    m->dout = s->nout;
  } else {
    m->nin = s->nin;
    m->nout = s->nout;
  }
}

/* weight nout x nin, bias 1 x nout: PyTorch's (nout, nin) and (nout) */
static int linear_tensors(const Module *m, int buf, Tensor *t) {
  const LinearSet *s = LIN(m);
  if (buf) return 0;
  nn_tensor(&t[0], "weight", NULL, s->nout, s->nin);
  nn_tensor(&t[1], "bias", NULL, 1, s->nout);
  nn_torchshape(&t[1], 1, s->nout, 0, 0, 0);
  return s->bias ? 2 : 1;
}

static void linear_reset(Rng *r, const Module *m, float *const *p,
                         float *const *b) {
  const LinearSet *s = LIN(m);
  (void)b;
  nn_initweights(r, m->init, p[0], (size_t)s->nout * s->nin,
                 s->bias ? p[1] : NULL, s->nout, s->nin, s->nout);
}

/* the rows the kernels see: n, or n T steps */
static int linear_rows(const Ctx *c) {
  return c->n * (c->cols / LIN(c->m)->nin);
}

/* The products run on the own SGEMM (k_gemm.c) in either build, split
** across the state's threads (pool.c); with OpenBLAS's sgemm they were
** no faster on one thread (the README's "Performance"), and OpenBLAS
** keeps its thread count per process. */
static void linear_forward(Ctx *c) {
  const LinearSet *s = LIN(c->m);
  int n = linear_rows(c);
  /* a large batch: W's packed blocks kept for every block of rows (the
  ** scratch, reused) instead of packed again for each */
  size_t nws = nn_pgemm_wsize(c->pool, n, s->nout, s->nin);
  float *ws = nws ? nn_scratch(c, UV_SCRATCH, nws, 1) : NULL;
  /* y = b in every row, then y += x W^T */
  nn_pgemm_ws(c->pool, 0, 1, n, s->nout, s->nin, 1.0f, c->x, s->nin,
              c->p[0], s->nin, 0.0f, c->out, s->nout,
              s->bias ? c->p[1] : NULL, ws, nws);
}

typedef struct BiasJob {
  float *gb;
  const float *gy;
  int n, nout;
} BiasJob;

/* gb[j] += the sum of column j of gy, for columns a .. b - 1 */
static void biaspart(void *arg, size_t a, size_t b, int thread) {
  const BiasJob *j = (const BiasJob *)arg;
  (void)thread;
  k_sum_rows_add(j->gb + a, j->gy + a, j->n, (int)(b - a), j->nout);
}

/* dL/dW = gy^T x, dL/db = column sums of gy, dL/dx = gy W: for y = x W^T
** + b, dL/dx_ik = sum_j dL/dy_ij W_jk and dL/dW_jk = sum_i dL/dy_ij x_ik */
static void linear_backward(Ctx *c) {
  const LinearSet *s = LIN(c->m);
  int n = linear_rows(c);
  nn_pgemm(c->pool, 1, 0, s->nout, s->nin, n, 1.0f, c->gy, s->nout, c->x,
           s->nin, 1.0f, c->g[0], s->nin);
  if (s->bias) {
    BiasJob j;
    j.gb = c->g[1];
    j.gy = c->gy;
    j.n = n;
    j.nout = s->nout;
    nn_prange(c->pool, biaspart, &j, (size_t)s->nout, 64);
  }
  if (c->gx)
    nn_pgemm(c->pool, 0, 0, n, s->nin, s->nout, 1.0f, c->gy, s->nout,
             c->p[0], s->nin, 0.0f, c->gx, s->nin);
}

static void linear_config(lua_State *L, const Module *m) {
  const LinearSet *s = LIN(m);
  nn_setint(L, 1, s->nin);
  nn_setint(L, 2, s->nout);
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, s->bias);
  lua_setfield(L, -2, "bias");
  if (s->sequence) {          /* the key only when set: older files' bytes */
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "sequence");
  }
  lua_rawseti(L, -2, 3);
}

static void linear_describe(luaL_Buffer *b, const Module *m) {
  const LinearSet *s = LIN(m);
  char d[80];
  snprintf(d, sizeof d, "(%d -> %d%s%s)", s->nin, s->nout,
           s->bias ? "" : ", no bias", s->sequence ? ", per step" : "");
  luaL_addstring(b, d);
}

/* ---- Softmax and LogSoftmax over each row ------------------------------- */

static void noargs_init(lua_State *L, Module *m, const char *fn, int a) {
  (void)m;
  nn_noargs(L, fn, a);
}

static void softmax_forward(Ctx *c) {
  k_softmax_forward(c->out, c->x, c->n, c->cols);
}

static void softmax_backward(Ctx *c) {
  k_softmax_backward(c->gx, c->y, c->gy, c->n, c->cols);
}

static void logsoftmax_forward(Ctx *c) {
  k_logsoftmax_forward(c->out, c->x, c->n, c->cols);
}

static void logsoftmax_backward(Ctx *c) {
  k_logsoftmax_backward(c->gx, c->y, c->gy, c->n, c->cols);
}

/* ---- Flatten: nothing to do ------------------------------------------------ */

/* Images are rows already, so flattening changes no number; the layer is
** there so that a network keeps torch.nn.Sequential's indices (and names
** in a state dict) where PyTorch needs an nn.Flatten() */
static void flatten_forward(Ctx *c) {
  memmove(c->out, c->x, (size_t)c->n * c->cols * sizeof(float));
}

static void flatten_backward(Ctx *c) {
  memmove(c->gx, c->gy, (size_t)c->n * c->cols * sizeof(float));
}

/* ---- Dropout: the mask is kept in UV_SCRATCH from forward to backward --- */

/* the settings: p, the field */
static void dropout_init(lua_State *L, Module *m, const char *fn, int a) {
  float p = nn_optfloat(L, a, 0.5f, fn, "argument 1 (p)");
  if (!(p >= 0 && p < 1))
    luaL_error(L, "%s: p must be in [0, 1), got %f", fn, (double)p);
  NN_FIELD(m) = p;
}

static void dropout_forward(Ctx *c) {
  size_t n = (size_t)c->n * c->cols;
  float p = NN_FIELD(c->m);
  if (c->m->train && p > 0) {
    float *mask = nn_scratch(c, UV_SCRATCH, n, 1);
    k_dropout_mask(nn_rng(c->L), mask, n, p);
    k_mul(c->out, c->x, mask, n);
  } else {
    memmove(c->out, c->x, n * sizeof(float));
  }
}

static void dropout_backward(Ctx *c) {
  size_t n = (size_t)c->n * c->cols;
  if (c->m->train && NN_FIELD(c->m) > 0) {
    float *mask = nn_scratch(c, UV_SCRATCH, n, 0);
    if (!mask) luaL_error(c->L, "Dropout:backward: call forward first");
    k_mul(c->gx, c->gy, mask, n);
  } else {
    memmove(c->gx, c->gy, n * sizeof(float));
  }
}

/* ---- Embedding: token ids to vectors ------------------------------------ */

/* Ids are 1-based (Lua's): the weight's row k is id k.  The input is n x T
** whole numbers, T any (a sequence layer of 1 feature a step), the output
** n x (T dim). */
typedef struct EmbedSet {
  int num;                    /* ids 1..num */
  int padding;                /* an id whose row stays 0 and learns not; 0: none */
  float maxnorm;              /* > 0: rows renormalized to it when used */
  float normtype;             /* the p of the norm maxnorm bounds */
} EmbedSet;

#define EMB(m) NN_CSET(m, EmbedSet)

static const char *const embed_options[] = {"paddingIndex", "maxNorm",
                                            "normType", NULL};

static void embed_option(lua_State *L, void *ud, const char *fn,
                         const char *k) {
  Module *m = (Module *)ud;
  EmbedSet *s = NN_SET(m, EmbedSet);
  if (strcmp(k, "paddingIndex") == 0) {
    s->padding = (int)nn_checkwhole(L, -1, fn, "option paddingIndex (an id)",
                                    1, s->num);
  } else if (strcmp(k, "maxNorm") == 0) {
    s->maxnorm = nn_optfloat(L, -1, 0, fn, "option maxNorm");
    if (!(s->maxnorm > 0)) luaL_error(L, "%s: maxNorm must be > 0", fn);
  } else {                    /* a p > 0, or math.huge: the largest |x| */
    lua_Number p = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    if (!(p > 0))
      luaL_error(L, "%s: option normType must be a number > 0 (math.huge: "
                 "the largest magnitude), got %s", fn, nn_argdesc(L, -1));
    s->normtype = isinf(p) ? (float)HUGE_VAL : nn_optfloat(L, -1, 2, fn,
                                                           "option normType");
  }
}

/* nn.Embedding(num, dim [, {paddingIndex, maxNorm, normType = 2}]) */
static void embed_init(lua_State *L, Module *m, const char *fn, int a) {
  EmbedSet *s = NN_SET(m, EmbedSet);
  s->num = (int)nn_checkwhole(L, a, fn, "argument 1 (num)", 1, NN_MAXELEMS);
  m->din = 1;
  m->dout = (int)nn_checkwhole(L, a + 1, fn, "argument 2 (dim)", 1,
                               NN_MAXELEMS);
  s->normtype = 2;
  nn_options(L, a + 2, fn, embed_options, embed_option, m);
  nn_checkcount(L, fn, s->num, m->dout);
}

/* weight num x dim, PyTorch's (num, dim) */
static int embed_tensors(const Module *m, int buf, Tensor *t) {
  if (buf) return 0;
  nn_tensor(&t[0], "weight", NULL, EMB(m)->num, m->dout);
  return 1;
}

/* N(0, 1), as PyTorch's, the padding row 0 */
static void embed_reset(Rng *r, const Module *m, float *const *p,
                        float *const *b) {
  const EmbedSet *s = EMB(m);
  (void)b;
  if (m->init == NN_INIT_ZEROS) return;
  k_randn(r, p[0], (size_t)s->num * m->dout, 0, 1);
  if (s->padding) k_fill(p[0] + (size_t)(s->padding - 1) * m->dout, m->dout, 0);
}

/* every id of the batch a whole number from 1 to num: the kernels index
** with them */
static void embed_checkids(const Ctx *c, const char *op) {
  size_t k, m = (size_t)c->n * c->cols;
  int num = EMB(c->m)->num;
  for (k = 0; k < m; k++) {
    float v = c->x[k];
    if (!(v >= 1 && v <= num) || v != floorf(v)) {
      int row = (int)(k / c->cols) + 1, step = (int)(k % c->cols) + 1;
      if (v == 0)
        luaL_error(c->L, "Embedding:%s: the id at row %d, step %d is 0: ids "
                   "start at 1 (Lua), from 1 to %d", op, row, step, num);
      luaL_error(c->L, "Embedding:%s: the id at row %d, step %d is %f, "
                 "expected a whole number from 1 to %d", op, row, step,
                 (lua_Number)v, num);
    }
  }
}

static void embed_forward(Ctx *c) {
  const EmbedSet *s = EMB(c->m);
  size_t m = (size_t)c->n * c->cols;
  embed_checkids(c, "forward");
  if (s->maxnorm > 0) {       /* renormalizes the weight's rows in place */
    const float *w = c->p[0];
    if (c->x < w + (size_t)s->num * c->m->dout && w < c->x + m)
      luaL_error(c->L, "Embedding:forward: the input shares memory with the "
                 "weight, which maxNorm changes; clone it first");
    k_embedding_renorm(c->p[0], c->x, m, c->m->dout, s->maxnorm,
                       s->normtype);
  }
  k_embedding_forward(c->out, c->p[0], c->x, m, c->m->dout);
}

/* dL/dweight into the rows used; dL/dids is 0 (ids have no derivative) */
static void embed_backward(Ctx *c) {
  size_t m = (size_t)c->n * c->cols;
  embed_checkids(c, "backward");
  k_embedding_backward(c->g[0], c->gy, c->x, m, c->m->dout,
                       EMB(c->m)->padding);
  if (c->gx) k_fill(c->gx, m, 0);
}

static void embed_config(lua_State *L, const Module *m) {
  const EmbedSet *s = EMB(m);
  nn_setint(L, 1, s->num);
  nn_setint(L, 2, m->dout);
  lua_createtable(L, 0, 3);
  if (s->padding) {
    lua_pushinteger(L, s->padding);
    lua_setfield(L, -2, "paddingIndex");
  }
  if (s->maxnorm > 0) {
    lua_pushnumber(L, s->maxnorm);
    lua_setfield(L, -2, "maxNorm");
    lua_pushnumber(L, s->normtype);
    lua_setfield(L, -2, "normType");
  }
  lua_rawseti(L, -2, 3);
}

static void embed_describe(luaL_Buffer *b, const Module *m) {
  const EmbedSet *s = EMB(m);
  char d[128];
  size_t len = (size_t)snprintf(d, sizeof d, "(%d -> %d", s->num, m->dout);
  if (s->padding)
    len += (size_t)snprintf(d + len, sizeof d - len, ", padding %d",
                            s->padding);
  if (s->maxnorm > 0)
    len += (size_t)snprintf(d + len, sizeof d - len, ", max norm %g",
                            (double)s->maxnorm);
  if (s->maxnorm > 0 && s->normtype != 2)
    len += (size_t)snprintf(d + len, sizeof d - len, " (p %g)",
                            (double)s->normtype);
  snprintf(d + len, sizeof d - len, ")");
  luaL_addstring(b, d);
}

static const char *const noconfig = "empty";

const LayerKind nn_dense_kinds[] = {
  {.name = "Linear",
   .sig = "nn.Linear(nin, nout [, {bias = true, init = \"kaiming\", "
          "sequence = false}])",
   .doc = "y = x W^T + b. Fields weight (nout x nin), bias (1 x nout), "
          "gradWeight, gradBias; init kaiming, xavier, uniform or zeros. "
          "With sequence, each row is T steps of nin (any T), each step "
          "mapped to nout, as PyTorch's Linear on (N, T, nin).",
   .configdoc = "nin, nout, map {`bias`, `sequence` (when true)}",
   .paramsdoc = "weight (nout x nin), then bias (1 x nout) unless `bias` is "
                "false",
   .examples = {{"nn.Linear(5, 3)", "torch.nn.Linear(5, 3)", 5, 0},
                {"nn.Linear(2, 3, {bias = false, init = \"xavier\"})",
                 "torch.nn.Linear(2, 3, bias=False)", 2, 0},
                {"nn.Linear(4, 3, {sequence = true})",
                 "torch.nn.Linear(4, 3)", 12, 0},
                {"nn.Linear(3, 2, {bias = false, sequence = true})",
                 "torch.nn.Linear(3, 2, bias=False)", 15, 0}},
   .init = linear_init, .tensors = linear_tensors, .reset = linear_reset,
   .forward = linear_forward, .backward = linear_backward,
   .config = linear_config, .describe = linear_describe, .skipgx = 1},
  {.name = "Softmax", .sig = "nn.Softmax()",
   .doc = "Each row to probabilities, exp(x - max) / sum.",
   .configdoc = noconfig,
   .examples = {{"nn.Softmax()", "torch.nn.Softmax(dim=1)", 6, 0}},
   .init = noargs_init, .forward = softmax_forward,
   .backward = softmax_backward},
  {.name = "LogSoftmax", .sig = "nn.LogSoftmax()",
   .doc = "The log of Softmax, computed stably.",
   .configdoc = noconfig,
   .examples = {{"nn.LogSoftmax()", "torch.nn.LogSoftmax(dim=1)", 6, 0}},
   .init = noargs_init, .forward = logsoftmax_forward,
   .backward = logsoftmax_backward},
  {.name = "Flatten", .sig = "nn.Flatten()",
   .doc = "Images to features: changes no number (an image is a row "
          "already); keeps a network's layer indices those of the "
          "torch.nn.Sequential it mirrors.",
   .configdoc = noconfig,
   .examples = {{"nn.Flatten()", "torch.nn.Flatten()", 6, 0}},
   .init = noargs_init, .forward = flatten_forward,
   .backward = flatten_backward, .flat = 1},
  /* no PyTorch example: the mask is drawn at random */
  {.name = "Dropout", .sig = "nn.Dropout([p = 0.5])",
   .doc = "Zeroes each input with probability p in training and scales the "
          "rest by 1/(1-p); the identity after evaluate().",
   .configdoc = "p",
   .examples = {{"nn.Dropout(0.25)", NULL, 6, 0}},
   .init = dropout_init, .forward = dropout_forward,
   .backward = dropout_backward, .field = "p", .settable = 1},
  {.name = "Embedding",
   .sig = "nn.Embedding(num, dim [, {paddingIndex = nil, maxNorm = nil, "
          "normType = 2}])",
   .doc = "Token ids to vectors: an n x T Matrix of ids (whole numbers from "
          "1, Lua's first index, to num) to n x (T*dim), row id of weight "
          "(num x dim) for each; as PyTorch's, with paddingIndex's row 0 "
          "and never learnt, and rows renormalized to maxNorm when used. "
          "Its gradient touches only the rows used.",
   .configdoc = "num, dim, map {`paddingIndex`, `maxNorm`, `normType` (each "
                "when given)}",
   .paramsdoc = "weight (num x dim)",
   .examples = {{"nn.Embedding(10, 3)", "torch.nn.Embedding(10, 3)", 5, 10},
                {"nn.Embedding(6, 4, {paddingIndex = 2, maxNorm = 1.5, "
                 "normType = 3})",
                 "torch.nn.Embedding(6, 4, padding_idx=1, max_norm=1.5, "
                 "norm_type=3)", 4, 6}},
   .init = embed_init, .tensors = embed_tensors, .reset = embed_reset,
   .forward = embed_forward, .backward = embed_backward,
   .config = embed_config, .describe = embed_describe, .skipgx = 1},
  {.name = NULL}
};
