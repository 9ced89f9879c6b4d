/*
** norm.c: batch normalization's descriptors, BatchNorm1d (features: an
** n x F batch) and BatchNorm2d (per channel of (C, H, W) image rows), as
** PyTorch's.  Parameters weight and bias (1 x C, unless affine is false);
** buffers runningMean and runningVar (1 x C), saved with the model.
** Kernels in k_norm.c.  c[0] is C, c[1] affine; a is eps, b momentum.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "module.h"

static const char *const bn1d_options[] = {"eps", "momentum", "affine",
                                           NULL};
static const char *const bn2d_options[] = {"eps", "momentum", "affine",
                                           "input", NULL};

static void bn_option(lua_State *L, void *ud, const char *fn, const char *k) {
  Module *m = (Module *)ud;
  if (strcmp(k, "eps") == 0) {
    m->a = nn_optfloat(L, -1, 1e-5f, fn, "option eps");
    if (!(m->a > 0)) luaL_error(L, "%s: eps must be > 0", fn);
  } else if (strcmp(k, "momentum") == 0) {
    m->b = nn_optfloat(L, -1, 0.1f, fn, "option momentum");
    if (!(m->b >= 0 && m->b <= 1))
      luaL_error(L, "%s: momentum must be in [0, 1]", fn);
  } else if (strcmp(k, "affine") == 0) {
    m->c[1] = nn_optboolean(L, -1, fn, k);
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
  m->c[0] = (int)nn_checkwhole(L, a, fn, image ? "argument 1 (C)"
                                                : "argument 1 (F)", 1,
                               NN_MAXELEMS);
  m->c[1] = 1;
  m->a = 1e-5f;
  m->b = 0.1f;
  if (!image) m->nin = m->nout = m->c[0];
  nn_options(L, a + 1, fn, image ? bn2d_options : bn1d_options, bn_option, m);
  if (m->in[0]) m->kind->shape(L, m, fn);
}

static void bn2d_shape(lua_State *L, Module *m, const char *fn) {
  if (m->in[0] != m->c[0])
    luaL_error(L, "%s: input has %d channels, the layer takes C = %d", fn,
               m->in[0], m->c[0]);
  nn_checkcount(L, fn, (lua_Integer)m->in[0] * m->in[1], m->in[2]);
  memcpy(m->out, m->in, sizeof m->out);
  m->nin = m->nout = m->in[0] * m->in[1] * m->in[2];
}

static int bn_params(const Module *m, int shape[][2]) {
  shape[0][0] = shape[1][0] = 1;
  shape[0][1] = shape[1][1] = m->c[0];
  return m->c[1] ? 2 : 0;
}

static int bn_buffers(const Module *m, int shape[][2]) {
  shape[0][0] = shape[1][0] = 1;
  shape[0][1] = shape[1][1] = m->c[0];
  return 2;
}

/* weight 1, bias 0, running mean 0, running variance 1 */
static void bn_reset(Rng *r, const Module *m, float *const *p,
                     float *const *b) {
  (void)r;
  if (m->c[1]) k_fill(p[0], m->c[0], 1.0f);
  k_fill(b[1], m->c[0], 1.0f);
}

/* per channel: C channels of S elements in each row */
static void bn_dims(const Ctx *c, int *C, int *S) {
  *C = c->m->c[0];
  *S = c->cols / *C;
}

static void bn_forward(Ctx *c) {
  const Module *m = c->m;
  int C, S;
  float *stats;
  bn_dims(c, &C, &S);
  if (m->train && (size_t)c->n * S < 2)
    luaL_error(c->L, "%s:forward: training needs more than one value per "
               "channel (a batch of 1); call evaluate() first",
               m->kind->name);
  stats = nn_scratch(c, UV_SCRATCH, 2 * (size_t)C, 1);
  k_batchnorm_forward(c->out, c->x, c->p[0], c->p[1], c->buf[0], c->buf[1],
                      stats, stats + C, c->n, C, S, m->a, m->b, m->train);
}

static void bn_backward(Ctx *c) {
  const Module *m = c->m;
  int C, S;
  float *stats;
  bn_dims(c, &C, &S);
  stats = nn_scratch(c, UV_SCRATCH, 2 * (size_t)C, 0);
  if (!stats)
    luaL_error(c->L, "%s:backward: call forward first", m->kind->name);
  k_batchnorm_backward(c->gx, c->g[0], c->g[1], c->x, c->gy, c->p[0], stats,
                       stats + C, c->n, C, S, m->train);
}

static void bn_config(lua_State *L, const Module *m) {
  nn_setint(L, 1, m->c[0]);
  lua_createtable(L, 0, 4);
  lua_pushnumber(L, m->a);
  lua_setfield(L, -2, "eps");
  lua_pushnumber(L, m->b);
  lua_setfield(L, -2, "momentum");
  lua_pushboolean(L, m->c[1]);
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
  char s[96];
  size_t len = (size_t)snprintf(s, sizeof s, "(%d", m->c[0]);
  if (m->a != 1e-5f)
    len += (size_t)snprintf(s + len, sizeof s - len, ", eps %g", (double)m->a);
  if (m->b != 0.1f)
    len += (size_t)snprintf(s + len, sizeof s - len, ", momentum %g",
                            (double)m->b);
  if (!m->c[1])
    len += (size_t)snprintf(s + len, sizeof s - len, ", no affine");
  snprintf(s + len, sizeof s - len, ")");
  luaL_addstring(b, s);
}

const LayerKind nn_norm_kinds[] = {
  {.name = "BatchNorm1d",
   .sig = "nn.BatchNorm1d(F [, {eps = 1e-5, momentum = 0.1, affine = true}])",
   .doc = "Batch normalization of each of F features, as PyTorch's: batch "
          "statistics in training, running ones after evaluate(). Fields "
          "weight, bias, runningMean, runningVar (1 x F).",
   .init = bn_init, .params = bn_params, .buffers = bn_buffers,
   .reset = bn_reset, .forward = bn_forward, .backward = bn_backward,
   .config = bn_config, .describe = bn_describe,
   .bufnames = {"runningMean", "runningVar"}},
  {.name = "BatchNorm2d",
   .sig = "nn.BatchNorm2d(C [, {eps = 1e-5, momentum = 0.1, affine = true, "
          "input = {C, H, W}}])",
   .doc = "Batch normalization per channel of (C, H, W) image rows, as "
          "PyTorch's. Fields weight, bias, runningMean, runningVar (1 x C).",
   .init = bn_init, .params = bn_params, .buffers = bn_buffers,
   .reset = bn_reset, .forward = bn_forward, .backward = bn_backward,
   .config = bn_config, .describe = bn_describe, .shape = bn2d_shape,
   .bufnames = {"runningMean", "runningVar"}},
  {.name = NULL}
};
