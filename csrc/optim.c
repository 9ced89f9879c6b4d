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
#include "pool.h"

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

/* Each update is elementwise: ranges of the parameter split across the
** state's threads (pool.c), the same bits on any number of them */
typedef struct OptJob {
  float *p, *s1, *s2, *s3, *s4;
  const float *g;
  float f[6];
  int i[2];
  int64_t t;
} OptJob;

static void sgdpart(void *arg, size_t a, size_t b, int thread) {
  const OptJob *j = (const OptJob *)arg;
  (void)thread;
  k_sgd(j->p + a, j->g + a, j->s1 ? j->s1 + a : NULL, b - a, j->f[0],
        j->f[1], j->f[2], j->f[3], j->i[0], j->i[1]);
}

static void adampart(void *arg, size_t a, size_t b, int thread) {
  const OptJob *j = (const OptJob *)arg;
  (void)thread;
  k_adam(j->p + a, j->g + a, j->s1 + a, j->s2 + a, j->s3 ? j->s3 + a : NULL,
         b - a, j->f[0], j->f[1], j->f[2], j->f[3], j->f[4], j->i[0], j->t);
}

static void rmspart(void *arg, size_t a, size_t b, int thread) {
  const OptJob *j = (const OptJob *)arg;
  (void)thread;
  k_rmsprop(j->p + a, j->g + a, j->s1 + a, j->s2 ? j->s2 + a : NULL,
            j->s3 ? j->s3 + a : NULL, b - a, j->f[0], j->f[1], j->f[2],
            j->f[3], j->f[4]);
}

static void adagradpart(void *arg, size_t a, size_t b, int thread) {
  const OptJob *j = (const OptJob *)arg;
  (void)thread;
  k_adagrad(j->p + a, j->g + a, j->s1 + a, b - a, j->f[0], j->f[1], j->f[2]);
}

static int lib_sgd(lua_State *L) {
  Matrix *p = nn_checkmatrix(L, 1);
  OptJob j;
  j.p = p->data;
  j.g = state(L, 2, p, "optim.sgd", 0);
  j.s1 = state(L, 3, p, "optim.sgd", 1);
  j.f[0] = num(L, 4);
  j.f[1] = num(L, 5);
  j.f[2] = num(L, 6);
  j.f[3] = num(L, 7);
  j.i[0] = lua_toboolean(L, 8);
  j.i[1] = lua_toboolean(L, 9);
  nn_prange(nn_pool(L), sgdpart, &j, nn_numel(p), NN_PARAM_GRAIN);
  return 0;
}

static int lib_adam(lua_State *L) {
  Matrix *p = nn_checkmatrix(L, 1);
  OptJob j;
  lua_Integer t;
  j.p = p->data;
  j.g = state(L, 2, p, "optim.adam", 0);
  j.s1 = state(L, 3, p, "optim.adam", 0);
  j.s2 = state(L, 4, p, "optim.adam", 0);
  j.s3 = state(L, 5, p, "optim.adam", 1);
  t = luaL_checkinteger(L, 12);
  if (t < 1) return luaL_error(L, "optim.adam: step must be >= 1");
  j.f[0] = num(L, 6);
  j.f[1] = num(L, 7);
  j.f[2] = num(L, 8);
  j.f[3] = num(L, 9);
  j.f[4] = num(L, 10);
  j.i[0] = lua_toboolean(L, 11);
  j.t = (int64_t)t;
  nn_prange(nn_pool(L), adampart, &j, nn_numel(p), NN_PARAM_GRAIN);
  return 0;
}

static int lib_rmsprop(lua_State *L) {
  Matrix *p = nn_checkmatrix(L, 1);
  OptJob j;
  j.p = p->data;
  j.g = state(L, 2, p, "optim.rmsprop", 0);
  j.s1 = state(L, 3, p, "optim.rmsprop", 0);
  j.s2 = state(L, 4, p, "optim.rmsprop", 1);
  j.s3 = state(L, 5, p, "optim.rmsprop", 1);
  j.f[0] = num(L, 6);
  j.f[1] = num(L, 7);
  j.f[2] = num(L, 8);
  j.f[3] = num(L, 9);
  j.f[4] = num(L, 10);
  nn_prange(nn_pool(L), rmspart, &j, nn_numel(p), NN_PARAM_GRAIN);
  return 0;
}

static int lib_adagrad(lua_State *L) {
  Matrix *p = nn_checkmatrix(L, 1);
  OptJob j;
  j.p = p->data;
  j.g = state(L, 2, p, "optim.adagrad", 0);
  j.s1 = state(L, 3, p, "optim.adagrad", 0);
  j.f[0] = num(L, 4);
  j.f[1] = num(L, 5);
  j.f[2] = num(L, 6);
  nn_prange(nn_pool(L), adagradpart, &j, nn_numel(p), NN_PARAM_GRAIN);
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
