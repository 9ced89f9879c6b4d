/*
** module.c: the layers as userdata of one type, "nn.Module": Linear, the
** pointwise activations, Softmax, LogSoftmax and Dropout.  Each binding
** checks its arguments, finds its buffers and calls a kernel.
**
** The contract (Torch7's nn): y = m:forward(x); gx = m:backward(x, gy)
** accumulates parameter gradients and returns dL/dx; m:zeroGrad();
** params, grads = m:parameters(); m:training(); m:evaluate().
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn.h"

#define NN_MODULE "nn.Module"

/* the pointwise kinds are the kernels' K_* values; then these */
enum { M_LINEAR = K_NPOINTWISE, M_SOFTMAX, M_LOGSOFTMAX, M_DROPOUT, M_N };

static const char *const names[M_N] = {
  "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "Softplus",
  "Step", "Sign", "PiecewiseLinear", "Linear", "Softmax", "LogSoftmax",
  "Dropout"
};

/* user values of a module */
enum {
  UV_OUTPUT = 1, UV_GRADINPUT, UV_STATE, UV_GRADSTATE, UV_WEIGHT, UV_BIAS,
  UV_GWEIGHT, UV_GBIAS, UV_N = UV_GBIAS
};

typedef struct Module {
  unsigned tag;       /* NN_TAG_MODULE */
  int kind;
  int train;          /* training mode (Dropout reads it) */
  float a;            /* LeakyReLU slope, ELU alpha, Softplus beta, p */
  int nin, nout;      /* Linear */
  int hasbias;
} Module;

static Module *checkmodule(lua_State *L, int arg) {
  return (Module *)nn_checkudata(L, arg, NN_MODULE, NN_TAG_MODULE,
                                 sizeof(Module));
}

static Module *newmodule(lua_State *L, int kind, float a) {
  Module *m = (Module *)lua_newuserdatauv(L, sizeof(Module), UV_N);
  m->tag = NN_TAG_MODULE;
  m->kind = kind;
  m->train = 1;
  m->a = a;
  m->nin = m->nout = 0;
  m->hasbias = 0;
  luaL_setmetatable(L, NN_MODULE);
  return m;
}

/* Pushes user value uv of the module at 1; returns it as a Matrix or NULL */
static Matrix *getuv(lua_State *L, int uv) {
  lua_getiuservalue(L, 1, uv);
  return nn_tomatrix(L, -1);
}

/* Pushes Linear's parameter (or gradient) in user value uv and checks its
** shape before a kernel trusts it: only the debug library can change it,
** and one comparison is all it costs. */
static Matrix *getparam(lua_State *L, const Module *m, int uv) {
  int rows = m->nout, cols = m->nin;
  Matrix *p;
  if (uv == UV_BIAS || uv == UV_GBIAS) {
    if (!m->hasbias) return NULL;
    rows = 1;
    cols = m->nout;
  } else if (uv == UV_STATE || uv == UV_GRADSTATE) {
    rows = 1;
    cols = m->nout * m->nin + (m->hasbias ? m->nout : 0);
  }
  p = getuv(L, uv);
  if (!p || p->rows != rows || p->cols != cols)
    luaL_error(L, "Linear: the layer's user value %d is not its %d x %d "
               "parameter (changed through the debug library?)", uv, rows,
               cols);
  return p;
}

static float optparam(lua_State *L, int arg, float def, const char *fn,
                      const char *what) {
  int isnum;
  lua_Number v;
  if (lua_isnoneornil(L, arg)) return def;
  v = lua_tonumberx(L, arg, &isnum);
  /* finite as float32, as the model loader will check it */
  if (!isnum || !isfinite(v) || fabs(v) > FLT_MAX)
    luaL_error(L, "%s: %s must be a finite float32 number, got %s", fn, what,
               isnum ? lua_tostring(L, arg) : luaL_typename(L, arg));
  return (float)v;
}

/* ---- constructors ----------------------------------------------------- */

/* nn.Linear(nin, nout [, {bias = true, init = "kaiming"}]) */
static int l_linear(lua_State *L) {
  int nin = nn_checkdim(L, 1, "nn.Linear", "nin");
  int nout = nn_checkdim(L, 2, "nn.Linear", "nout");
  int hasbias = 1, np;
  const char *init = "kaiming";
  float bound, bbound = 0;
  Module *m;
  Matrix *p, *g;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      if (strcmp(k, "bias") == 0) {
        if (!lua_isboolean(L, -1))
          return luaL_error(L, "nn.Linear: option bias must be a boolean");
        hasbias = lua_toboolean(L, -1);
      } else if (strcmp(k, "init") == 0) {
        init = lua_tostring(L, -1);
        if (!init || (strcmp(init, "kaiming") && strcmp(init, "xavier") &&
                      strcmp(init, "uniform") && strcmp(init, "zeros")))
          return luaL_error(L, "nn.Linear: option init must be \"kaiming\", "
                            "\"xavier\", \"uniform\" or \"zeros\"");
      } else {
        return luaL_error(L, "nn.Linear: unknown option '%s' (expected bias, "
                          "init)", luaL_tolstring(L, -2, NULL));
      }
      lua_pop(L, 1);
    }
  }
  nn_checkcount(L, "nn.Linear", nout, (lua_Integer)nin + 1);
  np = nout * nin + (hasbias ? nout : 0);
  lua_settop(L, 3);
  m = newmodule(L, M_LINEAR, 0);                        /* at 4 */
  m->nin = nin;
  m->nout = nout;
  m->hasbias = hasbias;
  p = nn_newzeros(L, 1, np);
  lua_setiuservalue(L, 4, UV_STATE);
  g = nn_newzeros(L, 1, np);
  lua_setiuservalue(L, 4, UV_GRADSTATE);
  nn_view(L, 4, p->data, nout, nin);
  lua_setiuservalue(L, 4, UV_WEIGHT);
  nn_view(L, 4, g->data, nout, nin);
  lua_setiuservalue(L, 4, UV_GWEIGHT);
  if (hasbias) {
    nn_view(L, 4, p->data + (size_t)nout * nin, 1, nout);
    lua_setiuservalue(L, 4, UV_BIAS);
    nn_view(L, 4, g->data + (size_t)nout * nin, 1, nout);
    lua_setiuservalue(L, 4, UV_GBIAS);
  }
  /* kaiming: He et al. 2015, uniform with gain sqrt(2); xavier: Glorot &
  ** Bengio 2010; uniform: PyTorch's default, bias included; zeros: draws
  ** nothing from the generator (nn.load uses it) */
  if (strcmp(init, "zeros") == 0) bound = 0;
  else if (strcmp(init, "kaiming") == 0) bound = sqrtf(6.0f / nin);
  else if (strcmp(init, "xavier") == 0) bound = sqrtf(6.0f / (nin + nout));
  else bbound = bound = 1.0f / sqrtf((float)nin);
  if (bound > 0)
    k_rand(nn_rng(L), p->data, (size_t)nout * nin, -bound, bound);
  if (hasbias && bbound > 0)
    k_rand(nn_rng(L), p->data + (size_t)nout * nin, nout, -bbound, bbound);
  lua_settop(L, 4);
  return 1;
}

/* the pointwise activations, Softmax and LogSoftmax; the kind is an upvalue,
** and the three with a parameter take it as their only argument */
static int l_simple(lua_State *L) {
  int kind = (int)lua_tointeger(L, lua_upvalueindex(1));
  float a = 0;
  char fn[32];
  snprintf(fn, sizeof fn, "nn.%s", names[kind]);
  switch (kind) {
  case K_LEAKYRELU: a = optparam(L, 1, 0.01f, fn, "slope"); break;
  case K_ELU: a = optparam(L, 1, 1.0f, fn, "alpha"); break;
  case K_SOFTPLUS:
    a = optparam(L, 1, 1.0f, fn, "beta");
    if (!(a > 0)) return luaL_error(L, "%s: beta must be > 0", fn);
    break;
  default:
    if (!lua_isnone(L, 1))
      return luaL_error(L, "%s: takes no arguments", fn);
  }
  newmodule(L, kind, a);
  return 1;
}

static float checkp(lua_State *L, int arg, const char *fn) {
  float p = optparam(L, arg, 0.5f, fn, "p");
  if (!(p >= 0 && p < 1))
    luaL_error(L, "%s: p must be in [0, 1), got %f", fn, (double)p);
  return p;
}

/* nn.Dropout([p = 0.5]) */
static int l_dropout(lua_State *L) {
  newmodule(L, M_DROPOUT, checkp(L, 1, "nn.Dropout"));
  return 1;
}

/* ---- forward and backward --------------------------------------------- */

static Matrix *checkinput(lua_State *L, Module *m, int arg, const char *op) {
  Matrix *x = nn_tomatrix(L, arg);
  if (!x)
    luaL_error(L, "%s:%s: input must be an nn.Matrix, got %s", names[m->kind],
               op, luaL_typename(L, arg));
  if (m->kind == M_LINEAR && x->cols != m->nin)
    luaL_error(L, "Linear:%s: input has %d columns, expected %d", op, x->cols,
               m->nin);
  return x;
}

static int m_forward(lua_State *L) {
  Module *m = checkmodule(L, 1);
  Matrix *x = checkinput(L, m, 2, "forward"), *y;
  size_t n = nn_numel(x);
  int yc = m->kind == M_LINEAR ? m->nout : x->cols;
  lua_settop(L, 2);
  nn_checkcount(L, "forward", x->rows, yc);
  y = nn_buffer(L, 1, UV_OUTPUT, x->rows, yc);               /* at 3 */
  if (nn_overlaps(y, x))        /* the kernels' arrays must not overlap */
    return luaL_error(L, "%s:forward: the input is the layer's own output "
                      "buffer; clone it first", names[m->kind]);
  switch (m->kind) {
  case M_LINEAR: {
    Matrix *w = getparam(L, m, UV_WEIGHT), *b = getparam(L, m, UV_BIAS);
    k_linear_forward(y->data, x->data, w->data, b ? b->data : NULL, x->rows,
                     m->nin, m->nout);
    break;
  }
  case M_SOFTMAX:
    k_softmax_forward(y->data, x->data, x->rows, x->cols);
    break;
  case M_LOGSOFTMAX:
    k_logsoftmax_forward(y->data, x->data, x->rows, x->cols);
    break;
  case M_DROPOUT:
    if (m->train && m->a > 0) {
      Matrix *mask = nn_buffer(L, 1, UV_STATE, x->rows, x->cols);
      k_dropout_mask(nn_rng(L), mask->data, n, m->a);
      k_mul(y->data, x->data, mask->data, n);
    } else {
      memmove(y->data, x->data, n * sizeof(float));
    }
    break;
  default:
    k_pointwise_forward(m->kind, m->a, y->data, x->data, n);
  }
  lua_settop(L, 3);
  return 1;
}

/* m:backward(x, gy [, wantgx = true]): with wantgx false a layer may skip
** dL/dx (Linear does: one GEMM fewer) and return nil */
static int m_backward(lua_State *L) {
  Module *m = checkmodule(L, 1);
  Matrix *x = checkinput(L, m, 2, "backward");
  Matrix *gy = nn_tomatrix(L, 3), *y, *gx;
  int wantgx = lua_isnoneornil(L, 4) || lua_toboolean(L, 4);
  const char *name = names[m->kind];
  int yc = m->kind == M_LINEAR ? m->nout : x->cols;
  size_t n = nn_numel(x);
  if (!gy)
    return luaL_error(L, "%s:backward: gradOutput must be an nn.Matrix, got "
                      "%s", name, luaL_typename(L, 3));
  lua_settop(L, 3);
  y = getuv(L, UV_OUTPUT);                                   /* at 4 */
  if (!y || y->rows != x->rows || y->cols != yc)
    return luaL_error(L, "%s:backward: no forward on a %d x %d input to go "
                      "back through (call forward first)", name, x->rows,
                      x->cols);
  if (gy->rows != y->rows || gy->cols != y->cols)
    return luaL_error(L, "%s:backward: gradOutput is %d x %d, expected %d x "
                      "%d (the output's shape)", name, gy->rows, gy->cols,
                      y->rows, y->cols);
  if (!wantgx && m->kind == M_LINEAR) {
    lua_pushnil(L);                               /* at 5: no dL/dx */
    gx = NULL;
  } else {
    gx = nn_buffer(L, 1, UV_GRADINPUT, x->rows, x->cols);    /* at 5 */
    if (nn_overlaps(gx, x) || nn_overlaps(gx, gy))
      return luaL_error(L, "%s:backward: input or gradOutput is the layer's "
                        "own gradInput buffer; clone it first", name);
  }
  switch (m->kind) {
  case M_LINEAR: {
    Matrix *w = getparam(L, m, UV_WEIGHT), *gw = getparam(L, m, UV_GWEIGHT);
    Matrix *gb = getparam(L, m, UV_GBIAS);
    Matrix *gall = getparam(L, m, UV_GRADSTATE);  /* gw and gb, one block */
    /* every restrict array of k_linear_backward against every other: gw
    ** and gb are written, so neither may meet x, gy or w (gx is the
    ** layer's own buffer, checked above) */
    if (nn_overlaps(gall, x) || nn_overlaps(gall, gy) ||
        (gx && nn_overlaps(gx, w)))
      return luaL_error(L, "Linear:backward: input or gradOutput shares "
                        "memory with the layer's gradients; clone it first");
    k_linear_backward(gx ? gx->data : NULL, gw->data, gb ? gb->data : NULL,
                      x->data, w->data, gy->data, x->rows, m->nin, m->nout);
    break;
  }
  case M_SOFTMAX:
    k_softmax_backward(gx->data, y->data, gy->data, x->rows, x->cols);
    break;
  case M_LOGSOFTMAX:
    k_logsoftmax_backward(gx->data, y->data, gy->data, x->rows, x->cols);
    break;
  case M_DROPOUT: {
    Matrix *mask = getuv(L, UV_STATE);
    if (m->train && m->a > 0) {
      if (!mask || nn_numel(mask) != n)
        return luaL_error(L, "Dropout:backward: call forward first");
      k_mul(gx->data, gy->data, mask->data, n);
    } else {
      memmove(gx->data, gy->data, n * sizeof(float));
    }
    break;
  }
  default:
    k_pointwise_backward(m->kind, m->a, gx->data, x->data, y->data, gy->data,
                         n);
  }
  lua_settop(L, 5);
  return 1;
}

/* ---- the rest of the contract ------------------------------------------ */

static int m_zerograd(lua_State *L) {
  Module *m = checkmodule(L, 1);
  if (m->kind == M_LINEAR) {
    Matrix *g = getparam(L, m, UV_GRADSTATE);
    k_fill(g->data, nn_numel(g), 0);
  }
  lua_settop(L, 1);
  return 1;
}

/* params, grads: two lists of Matrix views (empty for parameterless) */
static int m_parameters(lua_State *L) {
  Module *m = checkmodule(L, 1);
  int np = m->kind == M_LINEAR ? (m->hasbias ? 2 : 1) : 0, i;
  lua_settop(L, 1);
  lua_createtable(L, np, 0);
  lua_createtable(L, np, 0);
  for (i = 0; i < np; i++) {
    lua_getiuservalue(L, 1, i == 0 ? UV_WEIGHT : UV_BIAS);
    lua_rawseti(L, 2, i + 1);
    lua_getiuservalue(L, 1, i == 0 ? UV_GWEIGHT : UV_GBIAS);
    lua_rawseti(L, 3, i + 1);
  }
  return 2;
}

static int m_training(lua_State *L) {
  checkmodule(L, 1)->train = 1;
  lua_settop(L, 1);
  return 1;
}

static int m_evaluate(lua_State *L) {
  checkmodule(L, 1)->train = 0;
  lua_settop(L, 1);
  return 1;
}

/* m:outputSize([nin]) -> the output width for inputs of nin columns */
static int m_outputsize(lua_State *L) {
  Module *m = checkmodule(L, 1);
  if (m->kind != M_LINEAR) {
    lua_settop(L, 2);
    return 1;
  }
  if (!lua_isnoneornil(L, 2) && lua_tointeger(L, 2) != m->nin)
    return luaL_error(L, "Linear: input width %s, expected %d",
                      luaL_tolstring(L, 2, NULL), m->nin);
  lua_pushinteger(L, m->nout);
  return 1;
}

/* m:config() -> the constructor's arguments, as a list (for saving) */
static int m_config(lua_State *L) {
  Module *m = checkmodule(L, 1);
  lua_newtable(L);
  switch (m->kind) {
  case M_LINEAR:
    lua_pushinteger(L, m->nin);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, m->nout);
    lua_rawseti(L, -2, 2);
    lua_createtable(L, 0, 1);
    lua_pushboolean(L, m->hasbias);
    lua_setfield(L, -2, "bias");
    lua_rawseti(L, -2, 3);
    break;
  case K_LEAKYRELU: case K_ELU: case K_SOFTPLUS: case M_DROPOUT:
    lua_pushnumber(L, m->a);
    lua_rawseti(L, -2, 1);
    break;
  }
  return 1;
}

static int m_tostring(lua_State *L) {
  Module *m = checkmodule(L, 1);
  const char *name = names[m->kind];
  switch (m->kind) {
  case M_LINEAR:
    lua_pushfstring(L, "nn.Linear(%d -> %d%s)", m->nin, m->nout,
                    m->hasbias ? "" : ", no bias");
    break;
  case K_LEAKYRELU: case K_ELU: case K_SOFTPLUS: case M_DROPOUT: {
    char a[32];
    snprintf(a, sizeof a, "%.6g", (double)m->a);
    lua_pushfstring(L, "nn.%s(%s)", name, a);
    break;
  }
  default:
    lua_pushfstring(L, "nn.%s", name);
  }
  return 1;
}

/* ---- fields ------------------------------------------------------------ */

static int paramslot(const Module *m, const char *k) {
  if (m->kind != M_LINEAR) return 0;
  if (strcmp(k, "weight") == 0) return UV_WEIGHT;
  if (strcmp(k, "bias") == 0) return UV_BIAS;
  if (strcmp(k, "gradWeight") == 0) return UV_GWEIGHT;
  if (strcmp(k, "gradBias") == 0) return UV_GBIAS;
  return 0;
}

static const char *paramname(const Module *m) {
  switch (m->kind) {
  case K_LEAKYRELU: return "slope";
  case K_ELU: return "alpha";
  case K_SOFTPLUS: return "beta";
  case M_DROPOUT: return "p";
  default: return NULL;
  }
}

static int m_index(lua_State *L) {
  Module *m = checkmodule(L, 1);
  const char *k, *pn;
  int slot;
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  k = lua_tostring(L, 2);
  pn = paramname(m);
  if ((slot = paramslot(m, k)) != 0) lua_getiuservalue(L, 1, slot);
  else if (strcmp(k, "output") == 0) lua_getiuservalue(L, 1, UV_OUTPUT);
  else if (strcmp(k, "gradInput") == 0) lua_getiuservalue(L, 1, UV_GRADINPUT);
  else if (strcmp(k, "typename") == 0) lua_pushstring(L, names[m->kind]);
  else if (strcmp(k, "train") == 0) lua_pushboolean(L, m->train);
  else if (m->kind == M_LINEAR && strcmp(k, "nin") == 0)
    lua_pushinteger(L, m->nin);
  else if (m->kind == M_LINEAR && strcmp(k, "nout") == 0)
    lua_pushinteger(L, m->nout);
  else if (pn && strcmp(k, pn) == 0) lua_pushnumber(L, m->a);
  else lua_pushnil(L);
  return 1;
}

/* m.weight = W and m.bias = b copy in (same shape); m.p sets Dropout's p */
static int m_newindex(lua_State *L) {
  Module *m = checkmodule(L, 1);
  const char *k = luaL_checkstring(L, 2);
  int slot = paramslot(m, k);
  if (slot == UV_WEIGHT || slot == UV_BIAS) {
    Matrix *dst, *src = nn_tomatrix(L, 3);
    lua_getiuservalue(L, 1, slot);
    dst = nn_tomatrix(L, -1);
    if (!dst)
      return luaL_error(L, "Linear: this layer has no bias");
    if (!src || src->rows != dst->rows || src->cols != dst->cols)
      return luaL_error(L, "Linear: %s must be a %d x %d nn.Matrix", k,
                        dst->rows, dst->cols);
    memmove(dst->data, src->data, nn_numel(dst) * sizeof(float));
    return 0;
  }
  if (m->kind == M_DROPOUT && strcmp(k, "p") == 0) {
    m->a = checkp(L, 3, "Dropout");
    return 0;
  }
  return luaL_error(L, "%s: cannot set field '%s'", names[m->kind], k);
}

static int m_call(lua_State *L) {
  lua_settop(L, 2);
  return m_forward(L);
}

static const luaL_Reg methods[] = {
  {"forward", m_forward}, {"backward", m_backward}, {"zeroGrad", m_zerograd},
  {"parameters", m_parameters}, {"training", m_training},
  {"evaluate", m_evaluate}, {"outputSize", m_outputsize},
  {"config", m_config}, {NULL, NULL}
};

void nn_module_open(lua_State *L) {
  int k;
  luaL_newmetatable(L, NN_MODULE);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_pushcclosure(L, m_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, m_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, m_call);
  lua_setfield(L, -2, "__call");
  lua_pushcfunction(L, m_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  for (k = 0; k < M_N; k++) {
    if (k == M_LINEAR) lua_pushcfunction(L, l_linear);
    else if (k == M_DROPOUT) lua_pushcfunction(L, l_dropout);
    else {
      lua_pushinteger(L, k);
      lua_pushcclosure(L, l_simple, 1);
    }
    lua_setfield(L, -2, names[k]);
  }
}
