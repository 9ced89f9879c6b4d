/*
** optim.c: bindings for the optimizer kernels.  The optimizers themselves
** are Lua (lua/nn/optim.lua); each step calls one of these per parameter:
**   sgd(p, g, buf|nil, lr, momentum, dampening, wd, nesterov, first)
**   adam(p, g, m, v, vmax|nil, lr, beta1, beta2, eps, wd, decoupled, t)
**   rmsprop(p, g, v, gavg|nil, buf|nil, lr, alpha, eps, wd, momentum)
**   adagrad(p, g, sum, clr, eps, wd)
** Every state matrix must have the parameter's shape.  Gradient clipping
** (nn.clipGradNorm, nn.clipGradValue: lua/nn/clip.lua) calls
**   gradnorm(g, p), clamp(g, v)
*/
#include "nn.h"

/* The Matrix at arg, of p's shape and sharing memory with none of the
** arguments 1..arg-1 (the kernels' arrays must not overlap); NULL if nil
** and optional. */
static float *state(lua_State *L, int arg, const Matrix *p, const char *fn,
                    int optional) {
  Matrix *s;
  int i;
  if (optional && lua_isnil(L, arg)) return NULL;
  s = nn_checkmatrix(L, arg);
  if (s->rows != p->rows || s->cols != p->cols)
    luaL_error(L, "%s: argument %d is %d x %d, the parameter is %d x %d", fn,
               arg, s->rows, s->cols, p->rows, p->cols);
  for (i = 1; i < arg; i++) {
    Matrix *o = nn_tomatrix(L, i);
    if (o && nn_overlaps(o, s))
      luaL_error(L, "%s: arguments %d and %d share memory (a parameter, its "
                 "gradient and its state must be distinct)", fn, i, arg);
  }
  return s->data;
}

static float num(lua_State *L, int arg) {
  return (float)luaL_checknumber(L, arg);
}

static int lib_sgd(lua_State *L) {
  Matrix *p = nn_checkmatrix(L, 1);
  const float *g = state(L, 2, p, "optim.sgd", 0);
  float *buf = state(L, 3, p, "optim.sgd", 1);
  k_sgd(p->data, g, buf, nn_numel(p), num(L, 4), num(L, 5), num(L, 6),
        num(L, 7), lua_toboolean(L, 8), lua_toboolean(L, 9));
  return 0;
}

static int lib_adam(lua_State *L) {
  Matrix *p = nn_checkmatrix(L, 1);
  const float *g = state(L, 2, p, "optim.adam", 0);
  float *m = state(L, 3, p, "optim.adam", 0);
  float *v = state(L, 4, p, "optim.adam", 0);
  float *vmax = state(L, 5, p, "optim.adam", 1);
  lua_Integer t = luaL_checkinteger(L, 12);
  if (t < 1) return luaL_error(L, "optim.adam: step must be >= 1");
  k_adam(p->data, g, m, v, vmax, nn_numel(p), num(L, 6), num(L, 7), num(L, 8),
         num(L, 9), num(L, 10), lua_toboolean(L, 11), (int64_t)t);
  return 0;
}

static int lib_rmsprop(lua_State *L) {
  Matrix *p = nn_checkmatrix(L, 1);
  const float *g = state(L, 2, p, "optim.rmsprop", 0);
  float *v = state(L, 3, p, "optim.rmsprop", 0);
  float *ga = state(L, 4, p, "optim.rmsprop", 1);
  float *buf = state(L, 5, p, "optim.rmsprop", 1);
  k_rmsprop(p->data, g, v, ga, buf, nn_numel(p), num(L, 6), num(L, 7),
            num(L, 8), num(L, 9), num(L, 10));
  return 0;
}

static int lib_adagrad(lua_State *L) {
  Matrix *p = nn_checkmatrix(L, 1);
  const float *g = state(L, 2, p, "optim.adagrad", 0);
  float *sum = state(L, 3, p, "optim.adagrad", 0);
  k_adagrad(p->data, g, sum, nn_numel(p), num(L, 4), num(L, 5), num(L, 6));
  return 0;
}

/* gradnorm(g, p) -> the sum of |g|^p over g's elements (the largest |g|
** for p = math.huge): one gradient's part of nn.clipGradNorm's total */
static int lib_gradnorm(lua_State *L) {
  Matrix *g = nn_checkmatrix(L, 1);
  lua_Number p = luaL_checknumber(L, 2);
  if (!(p > 0)) return luaL_error(L, "optim.gradnorm: p must be > 0");
  lua_pushnumber(L, k_gradnorm(g->data, nn_numel(g), p));
  return 1;
}

/* clamp(g, v): every element of g into [-v, v], in place (NaN stays) */
static int lib_clamp(lua_State *L) {
  Matrix *g = nn_checkmatrix(L, 1);
  float v = num(L, 2);
  if (!(v >= 0)) return luaL_error(L, "optim.clamp: v must be >= 0");
  k_map(K_CLAMP, g->data, g->data, nn_numel(g), -v, v);
  return 0;
}

static const luaL_Reg lib[] = {
  {"sgd", lib_sgd}, {"adam", lib_adam}, {"rmsprop", lib_rmsprop},
  {"adagrad", lib_adagrad}, {"gradnorm", lib_gradnorm}, {"clamp", lib_clamp},
  {NULL, NULL}
};

/* core.optim = {sgd, adam, rmsprop, adagrad, gradnorm, clamp} */
void nn_optim_open(lua_State *L) {
  luaL_newlib(L, lib);
  lua_setfield(L, -2, "optim");
}
