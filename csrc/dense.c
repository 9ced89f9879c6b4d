/*
** dense.c: the dense layers' descriptors: Linear, Softmax, LogSoftmax,
** Flatten and Dropout.  Kernels in k_dense.c.
*/
#include <stdio.h>
#include <string.h>

#include "module.h"

/* ---- Linear: y = x W^T + b ----------------------------------------------- */

typedef struct LinearSet {
  int bias;
} LinearSet;

static const char *const linear_options[] = {"bias", "init", NULL};

static void linear_option(lua_State *L, void *ud, const char *fn,
                          const char *k) {
  Module *m = (Module *)ud;
  if (strcmp(k, "bias") == 0)
    NN_SET(m, LinearSet)->bias = nn_optboolean(L, -1, fn, k);
  else m->init = nn_checkinit(L, -1, fn);
}

/* nn.Linear(nin, nout [, {bias = true, init = "kaiming"}]) */
static void linear_init(lua_State *L, Module *m, const char *fn, int a) {
  m->nin = (int)nn_checkwhole(L, a, fn, "argument 1 (nin)", 1, NN_MAXELEMS);
  m->nout = (int)nn_checkwhole(L, a + 1, fn, "argument 2 (nout)", 1,
                               NN_MAXELEMS);
  NN_SET(m, LinearSet)->bias = 1;
  nn_options(L, a + 2, fn, linear_options, linear_option, m);
  nn_checkcount(L, fn, m->nout, (lua_Integer)m->nin + 1);
}

/* weight nout x nin, bias 1 x nout: PyTorch's (nout, nin) and (nout) */
static int linear_tensors(const Module *m, int buf, Tensor *t) {
  if (buf) return 0;
  nn_tensor(&t[0], "weight", NULL, m->nout, m->nin);
  nn_tensor(&t[1], "bias", NULL, 1, m->nout);
  nn_torchshape(&t[1], 1, m->nout, 0, 0, 0);
  return NN_CSET(m, LinearSet)->bias ? 2 : 1;
}

static void linear_reset(Rng *r, const Module *m, float *const *p,
                         float *const *b) {
  (void)b;
  nn_initweights(r, m->init, p[0], (size_t)m->nout * m->nin,
                 NN_CSET(m, LinearSet)->bias ? p[1] : NULL, m->nout, m->nin,
                 m->nout);
}

static void linear_forward(Ctx *c) {
  const Module *m = c->m;
  k_linear_forward(c->out, c->x, c->p[0], c->p[1], c->n, m->nin, m->nout);
}

static void linear_backward(Ctx *c) {
  const Module *m = c->m;
  k_linear_backward(c->gx, c->g[0], c->g[1], c->x, c->p[0], c->gy, c->n,
                    m->nin, m->nout);
}

static void linear_config(lua_State *L, const Module *m) {
  nn_setint(L, 1, m->nin);
  nn_setint(L, 2, m->nout);
  lua_createtable(L, 0, 1);
  lua_pushboolean(L, NN_CSET(m, LinearSet)->bias);
  lua_setfield(L, -2, "bias");
  lua_rawseti(L, -2, 3);
}

static void linear_describe(luaL_Buffer *b, const Module *m) {
  char s[64];
  snprintf(s, sizeof s, "(%d -> %d%s)", m->nin, m->nout,
           NN_CSET(m, LinearSet)->bias ? "" : ", no bias");
  luaL_addstring(b, s);
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

static const char *const noconfig = "empty";

const LayerKind nn_dense_kinds[] = {
  {.name = "Linear",
   .sig = "nn.Linear(nin, nout [, {bias = true, init = \"kaiming\"}])",
   .doc = "y = x W^T + b. Fields weight (nout x nin), bias (1 x nout), "
          "gradWeight, gradBias; init kaiming, xavier, uniform or zeros.",
   .configdoc = "nin, nout, map {`bias`}",
   .paramsdoc = "weight (nout x nin), then bias (1 x nout) unless `bias` is "
                "false",
   .examples = {{"nn.Linear(5, 3)", "torch.nn.Linear(5, 3)", 5, 0},
                {"nn.Linear(2, 3, {bias = false, init = \"xavier\"})",
                 "torch.nn.Linear(2, 3, bias=False)", 2, 0}},
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
  {.name = NULL}
};
