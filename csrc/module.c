/*
** module.c: the layers as userdata of one type, "nn.Module".  What a kind
** does is in its descriptor (module.h); this file checks arguments, finds
** buffers and calls the descriptor, the same way for every kind.  The
** kinds and the making of layers are registry.c's; what descriptors share,
** descriptor.c's.
**
** The contract (Torch7's nn): y = m:forward(x); gx = m:backward(x, gy)
** accumulates parameter gradients and returns dL/dx; m:zeroGrad();
** params, grads = m:parameters(); m:training(); m:evaluate().
*/
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "module.h"
#include "pool.h"

static Module *checkmodule(lua_State *L, int arg) {
  return (Module *)nn_checkudata(L, arg, NN_MODULE, NN_TAG_MODULE,
                                 sizeof(Module));
}

/* ---- forward and backward --------------------------------------------- */

static Matrix *checkinput(lua_State *L, Module *m, int arg, const char *op) {
  Matrix *x = nn_tomatrix(L, arg);
  const char *name = m->kind->name;
  if (!x)
    luaL_error(L, "%s:%s: input must be an nn.Matrix, got %s", name, op,
               luaL_typename(L, arg));
  if (m->kind->shape && m->nin == 0)
    luaL_error(L, "%s:%s: the input's image shape is not known: give the "
               "layer {input = {C, H, W}}, or put it in an nn.Sequential "
               "after a layer that knows its output's", name, op);
  if (m->nin && x->cols != m->nin) {
    if (m->in[0])
      luaL_error(L, "%s:%s: input has %d columns, expected %d (%d x %d x "
                 "%d)", name, op, x->cols, m->nin, m->in[0], m->in[1],
                 m->in[2]);
    luaL_error(L, "%s:%s: input has %d columns, expected %d", name, op,
               x->cols, m->nin);
  }
  if (m->din && x->cols % m->din != 0)
    luaL_error(L, "%s:%s: input has %d columns, expected a multiple of %d "
               "(T steps of %d features)", name, op, x->cols, m->din,
               m->din);
  return x;
}

/* Pushes the matrices of the module at 1 (its parameters, their
** gradients or its buffers) and puts their data in ptr, checking each
** against its shape before a kernel trusts it: only the debug library can
** change them, and one comparison is all it costs. */
enum { SET_PARAMS, SET_GRADS, SET_BUFFERS };

static int setslot(const Module *m, int set, int i) {
  return set == SET_PARAMS ? UV_P0 + i
         : set == SET_GRADS ? nn_uvgrad(m, i) : nn_uvbuf(m, i);
}

static void getset(lua_State *L, const Module *m, int set, float **ptr) {
  Tensor t[NN_MAXTENSORS];
  int buf = set == SET_BUFFERS, n = nn_tensorsof(L, m, buf, t), i;
  if (n != (buf ? m->nb : m->np))           /* a descriptor's mistake */
    luaL_error(L, "%s: the layer's %s count changed from %d to %d",
               m->kind->name, buf ? "buffer" : "parameter",
               buf ? m->nb : m->np, n);
  for (i = 0; i < n; i++) {
    Matrix *p;
    int uv = setslot(m, set, i);
    lua_getiuservalue(L, 1, uv);
    p = nn_tomatrix(L, -1);
    if (!p || p->rows != t[i].rows || p->cols != t[i].cols)
      luaL_error(L, "%s: the layer's user value %d is not its %d x %d "
                 "%s (changed through the debug library?)", m->kind->name,
                 uv, t[i].rows, t[i].cols, buf ? "buffer" : "parameter");
    ptr[i] = p->data;
  }
}

/* the flat block of parameters or gradients (NULL if none), on the stack */
static Matrix *getblock(lua_State *L, const Module *m, int uv) {
  Tensor t[NN_MAXTENSORS];
  int n = nn_tensorsof(L, m, 0, t), i;
  size_t total = 0;
  Matrix *b;
  if (n == 0) return NULL;
  for (i = 0; i < n; i++) total += (size_t)t[i].rows * t[i].cols;
  lua_getiuservalue(L, 1, uv);
  b = nn_tomatrix(L, -1);
  if (!b || nn_numel(b) != total)
    luaL_error(L, "%s: the layer's user value %d is not its parameter "
               "block (changed through the debug library?)", m->kind->name,
               uv);
  return b;
}

static int overlapsbuf(lua_State *L, const Module *m, const Matrix *x) {
  int i, hit = 0;
  for (i = 0; i < m->nb; i++) {
    Matrix *b;
    lua_getiuservalue(L, 1, nn_uvbuf(m, i));
    b = nn_tomatrix(L, -1);           /* getset says if it is not one */
    hit |= b && nn_overlaps(b, x);
    lua_pop(L, 1);
  }
  return hit;
}

/* the output's width for an input of cols columns (checkinput has
** accepted it) */
static lua_Integer outcols(const Module *m, int cols) {
  if (m->kind->outcols) return m->kind->outcols(m, cols);
  if (m->nout) return m->nout;
  if (m->din) return (lua_Integer)(cols / m->din) * m->dout;
  return cols;
}

/* a Ctx for the module at 1 on x, its parameters and buffers checked */
static void initctx(Ctx *c, lua_State *L, Module *m, const Matrix *x) {
  memset(c, 0, sizeof *c);
  c->L = L;
  c->m = m;
  c->pool = nn_pool(L);
  c->n = x->rows;
  c->cols = x->cols;
  c->ycols = (int)outcols(m, x->cols);
  c->x = x->data;
  getset(L, m, SET_PARAMS, c->p);
  getset(L, m, SET_BUFFERS, c->buf);
}

static int mod_forward(lua_State *L) {
  Module *m = checkmodule(L, 1);
  Matrix *x = checkinput(L, m, 2, "forward"), *y;
  const char *name = m->kind->name;
  Ctx c;
  lua_Integer yc = outcols(m, x->cols);
  lua_settop(L, 2);
  nn_checkcount(L, "forward", x->rows, yc);
  y = nn_buffer(L, 1, UV_OUTPUT, x->rows, (int)yc);          /* at 3 */
  if (nn_overlaps(y, x))        /* the kernels' arrays must not overlap */
    return luaL_error(L, "%s:forward: the input is the layer's own output "
                      "buffer; clone it first", name);
  if (overlapsbuf(L, m, x))     /* forward writes running statistics */
    return luaL_error(L, "%s:forward: the input shares memory with the "
                      "layer's buffers; clone it first", name);
  initctx(&c, L, m, x);
  c.out = y->data;
  m->kind->forward(&c);
  lua_settop(L, 3);
  return 1;
}

/* m:backward(x, gy [, wantgx = true]): with wantgx false a layer may skip
** dL/dx (Linear does: one GEMM fewer) and return nil */
static int mod_backward(lua_State *L) {
  Module *m = checkmodule(L, 1);
  Matrix *x = checkinput(L, m, 2, "backward");
  Matrix *gy = nn_tomatrix(L, 3), *y, *gx, *gall, *pall;
  int wantgx = lua_isnoneornil(L, 4) || lua_toboolean(L, 4);
  const char *name = m->kind->name;
  lua_Integer yc = outcols(m, x->cols);
  Ctx c;
  if (!gy)
    return luaL_error(L, "%s:backward: gradOutput must be an nn.Matrix, got "
                      "%s", name, luaL_typename(L, 3));
  lua_settop(L, 3);
  lua_getiuservalue(L, 1, UV_OUTPUT);                        /* at 4 */
  y = nn_tomatrix(L, 4);
  if (!y || y->rows != x->rows || y->cols != yc)
    return luaL_error(L, "%s:backward: no forward on a %d x %d input to go "
                      "back through (call forward first)", name, x->rows,
                      x->cols);
  if (gy->rows != y->rows || gy->cols != y->cols)
    return luaL_error(L, "%s:backward: gradOutput is %d x %d, expected %d x "
                      "%d (the output's shape)", name, gy->rows, gy->cols,
                      y->rows, y->cols);
  if (!wantgx && m->kind->skipgx) {
    lua_pushnil(L);                               /* at 5: no dL/dx */
    gx = NULL;
  } else {
    gx = nn_buffer(L, 1, UV_GRADINPUT, x->rows, x->cols);    /* at 5 */
    if (nn_overlaps(gx, x) || nn_overlaps(gx, gy))
      return luaL_error(L, "%s:backward: input or gradOutput is the layer's "
                        "own gradInput buffer; clone it first", name);
  }
  /* the gradients are written, so they may meet neither x nor gy; gx
  ** (the layer's own buffer) may not meet the parameters it is made of */
  gall = getblock(L, m, UV_GRADS);
  pall = getblock(L, m, UV_PARAMS);
  if (gall && (nn_overlaps(gall, x) || nn_overlaps(gall, gy) ||
               (gx && nn_overlaps(gx, pall))))
    return luaL_error(L, "%s:backward: input or gradOutput shares memory "
                      "with the layer's gradients; clone it first", name);
  initctx(&c, L, m, x);
  c.y = y->data;
  c.gy = gy->data;
  c.gx = gx ? gx->data : NULL;
  getset(L, m, SET_GRADS, c.g);
  m->kind->backward(&c);
  lua_settop(L, 5);
  return 1;
}

/* ---- the rest of the contract ------------------------------------------ */

static void zeropart(void *arg, size_t a, size_t b, int thread) {
  (void)thread;
  memset((float *)arg + a, 0, (b - a) * sizeof(float));
}

/* the gradients' block zeroed, in ranges across the state's threads */
static int mod_zerograd(lua_State *L) {
  Module *m = checkmodule(L, 1);
  Matrix *g = getblock(L, m, UV_GRADS);
  if (g) nn_prange(nn_pool(L), zeropart, g->data, nn_numel(g), NN_PARAM_GRAIN);
  lua_settop(L, 1);
  return 1;
}

/* params, grads: two lists of Matrix views (empty for parameterless) */
static int mod_parameters(lua_State *L) {
  Module *m = checkmodule(L, 1);
  int i;
  lua_settop(L, 1);
  lua_createtable(L, m->np, 0);
  lua_createtable(L, m->np, 0);
  for (i = 0; i < m->np; i++) {
    lua_getiuservalue(L, 1, UV_P0 + i);
    lua_rawseti(L, 2, i + 1);
    lua_getiuservalue(L, 1, nn_uvgrad(m, i));
    lua_rawseti(L, 3, i + 1);
  }
  return 2;
}

/* m:buffers(): the saved state that is not trained (running statistics),
** a list; empty for most kinds */
static int mod_buffers(lua_State *L) {
  Module *m = checkmodule(L, 1);
  int i;
  lua_settop(L, 1);
  lua_createtable(L, m->nb, 0);
  for (i = 0; i < m->nb; i++) {
    lua_getiuservalue(L, 1, nn_uvbuf(m, i));
    lua_rawseti(L, 2, i + 1);
  }
  return 1;
}

static void pushdims(lua_State *L, const Tensor *t) {
  int i;
  lua_createtable(L, t->ndim, 0);
  for (i = 0; i < t->ndim; i++) nn_setint(L, i + 1, t->dims[i]);
}

/* m:tensors() -> what a state dict needs of the layer: a list of {name,
** torch (PyTorch's name), shape (PyTorch's), value (the Matrix), and
** grad, gradient for a parameter or buffer = true}, parameters first;
** then, for a PyTorch buffer lua-nn does not keep, {torch, count = true} */
static int mod_tensors(lua_State *L) {
  Module *m = checkmodule(L, 1);
  Tensor t[NN_MAXTENSORS];
  int buf, n, i, k = 0;
  lua_settop(L, 1);
  lua_newtable(L);                                           /* at 2 */
  for (buf = 0; buf < 2; buf++) {
    n = nn_tensorsof(L, m, buf, t);
    if (n != (buf ? m->nb : m->np))
      return luaL_error(L, "%s: the layer's tensor count changed",
                        m->kind->name);
    for (i = 0; i < n; i++) {
      lua_createtable(L, 0, 7);
      nn_setstr(L, "name", t[i].name);
      nn_setstr(L, "torch", t[i].torch);
      pushdims(L, &t[i]);
      lua_setfield(L, -2, "shape");
      lua_getiuservalue(L, 1, buf ? nn_uvbuf(m, i) : UV_P0 + i);
      lua_setfield(L, -2, "value");
      if (buf) {
        nn_setbool(L, "buffer", 1);
      } else {
        char g[NN_NAMELEN + 4];
        snprintf(g, sizeof g, "grad%c%s", toupper((unsigned char)t[i].name[0]),
                 t[i].name + 1);
        nn_setstr(L, "grad", g);
        lua_getiuservalue(L, 1, nn_uvgrad(m, i));
        lua_setfield(L, -2, "gradient");
      }
      lua_rawseti(L, 2, ++k);
    }
  }
  if (m->kind->torchcount) {
    lua_createtable(L, 0, 2);
    nn_setstr(L, "torch", m->kind->torchcount);
    nn_setbool(L, "count", 1);
    lua_rawseti(L, 2, ++k);
  }
  return 1;
}

static int mod_training(lua_State *L) {
  checkmodule(L, 1)->train = 1;
  lua_settop(L, 1);
  return 1;
}

static int mod_evaluate(lua_State *L) {
  checkmodule(L, 1)->train = 0;
  lua_settop(L, 1);
  return 1;
}

/* m:outputSize([nin]) -> the output width for inputs of nin columns */
static int mod_outputsize(lua_State *L) {
  Module *m = checkmodule(L, 1);
  if (m->nin == 0) {
    int isint = 0;
    lua_Integer w;
    if (m->kind->shape) return 0;         /* an image layer not yet placed */
    lua_settop(L, 2);
    if (lua_isnil(L, 2) || (!m->din && !m->kind->outcols)) return 1;
    w = lua_tointegerx(L, 2, &isint);
    if (!isint || w < 1 || w > NN_MAXELEMS || (m->din && w % m->din != 0))
      return luaL_error(L, "%s: input width %s, expected a multiple of %d "
                        "(T steps of %d features)", m->kind->name,
                        luaL_tolstring(L, 2, NULL), m->din ? m->din : 1,
                        m->din ? m->din : 1);
    lua_pushinteger(L, outcols(m, (int)w));
    return 1;
  }
  if (!lua_isnoneornil(L, 2) && lua_tointeger(L, 2) != m->nin)
    return luaL_error(L, "%s: input width %s, expected %d", m->kind->name,
                      luaL_tolstring(L, 2, NULL), m->nin);
  lua_pushinteger(L, m->nout);
  return 1;
}

/* m:setInputShape(C, H, W): what an image layer's rows are; nn.Sequential
** calls it for a layer made without {input = ...} */
static int mod_setinputshape(lua_State *L) {
  Module *m = checkmodule(L, 1);
  Module t;
  char fn[48];
  int i;
  snprintf(fn, sizeof fn, "%s:setInputShape", m->kind->name);
  if (!m->kind->shape)        /* reached only through the debug library */
    return luaL_error(L, "%s: not an image layer", fn);
  t = *m;
  for (i = 0; i < 3; i++)
    t.in[i] = (int)nn_checkwhole(L, i + 2, fn, "C, H and W", 1, NN_MAXELEMS);
  m->kind->shape(L, &t, fn);
  if (m->nin && memcmp(t.in, m->in, sizeof t.in) != 0)
    return luaL_error(L, "%s: the layer's input is %d x %d x %d already, not "
                      "%d x %d x %d", fn, m->in[0], m->in[1], m->in[2],
                      t.in[0], t.in[1], t.in[2]);
  *m = t;
  lua_settop(L, 1);
  return 1;
}

/* m:config() -> the constructor's arguments, as a list (for saving) */
static int mod_config(lua_State *L) {
  Module *m = checkmodule(L, 1);
  lua_newtable(L);
  if (m->kind->config) m->kind->config(L, m);
  else if (m->kind->field) nn_setnum(L, 1, NN_FIELD(m));
  return 1;
}

static int mod_tostring(lua_State *L) {
  Module *m = checkmodule(L, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "nn.");
  luaL_addstring(&b, m->kind->name);
  if (m->kind->describe) m->kind->describe(&b, m);
  else if (m->kind->field) {
    char a[40];
    snprintf(a, sizeof a, "(%.6g)", (double)NN_FIELD(m));
    luaL_addstring(&b, a);
  }
  luaL_pushresult(&b);
  return 1;
}

/* ---- fields ------------------------------------------------------------ */

static void pushshape(lua_State *L, const int *s) {
  lua_createtable(L, 3, 0);
  nn_setint(L, 1, s[0]);
  nn_setint(L, 2, s[1]);
  nn_setint(L, 3, s[2]);
}

/* the user value that field k names (weight, gradBias, runningMean, ...),
** 0 if none; *set says which set it is in */
static int slotof(lua_State *L, const Module *m, const char *k, int *set) {
  Tensor t[NN_MAXTENSORS];
  int n = nn_tensorsof(L, m, 0, t), i;
  for (i = 0; i < n && i < m->np; i++) {
    const char *nm = t[i].name;
    if (strcmp(k, nm) == 0) {
      *set = SET_PARAMS;
      return UV_P0 + i;
    }
    if (strncmp(k, "grad", 4) == 0 && nm[0] &&
        k[4] == toupper((unsigned char)nm[0]) && strcmp(k + 5, nm + 1) == 0) {
      *set = SET_GRADS;
      return nn_uvgrad(m, i);
    }
  }
  n = nn_tensorsof(L, m, 1, t);
  for (i = 0; i < n && i < m->nb; i++)
    if (strcmp(k, t[i].name) == 0) {
      *set = SET_BUFFERS;
      return nn_uvbuf(m, i);
    }
  return 0;
}

/* a shape-keeping layer: its output has its input's width and shape */
static int keepsshape(const Module *m) {
  return m->nin == 0 && !m->kind->shape && !m->kind->flat &&
         !m->kind->outcols && m->din == m->dout;
}

static int mod_index(lua_State *L) {
  Module *m = checkmodule(L, 1);
  const char *k, *field = m->kind->field;
  int slot, set;
  if (lua_type(L, 2) == LUA_TSTRING && !m->kind->shape &&
      strcmp(lua_tostring(L, 2), "setInputShape") == 0)
    return 0;                   /* only image layers have one */
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  if (m->kind->methods) {       /* the kind's own: upvalue 2, by kind */
    lua_pushlightuserdata(L, (void *)m->kind);
    lua_rawget(L, lua_upvalueindex(2));
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) return 1;
    lua_pop(L, 2);
  }
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  k = lua_tostring(L, 2);
  if ((slot = slotof(L, m, k, &set)) != 0) lua_getiuservalue(L, 1, slot);
  else if (strcmp(k, "output") == 0) lua_getiuservalue(L, 1, UV_OUTPUT);
  else if (strcmp(k, "gradInput") == 0) lua_getiuservalue(L, 1, UV_GRADINPUT);
  else if (strcmp(k, "typename") == 0) lua_pushstring(L, m->kind->name);
  else if (strcmp(k, "train") == 0) lua_pushboolean(L, m->train);
  else if (m->nin && strcmp(k, "nin") == 0) lua_pushinteger(L, m->nin);
  else if (m->nin && strcmp(k, "nout") == 0) lua_pushinteger(L, m->nout);
  else if (m->in[0] && strcmp(k, "inputShape") == 0) pushshape(L, m->in);
  else if (m->out[0] && strcmp(k, "outputShape") == 0) pushshape(L, m->out);
  else if (m->din && strcmp(k, "inputStep") == 0) lua_pushinteger(L, m->din);
  else if (m->din && m->dout && strcmp(k, "outputStep") == 0)
    lua_pushinteger(L, m->dout);
  else if (strcmp(k, "keepsShape") == 0) lua_pushboolean(L, keepsshape(m));
  else if (field && strcmp(k, field) == 0) lua_pushnumber(L, NN_FIELD(m));
  else lua_pushnil(L);
  return 1;
}

/* m.weight = W (any parameter or buffer) copies in, same shape; a kind's
** settable field (Dropout's p) is checked as its constructor checks it */
static int mod_newindex(lua_State *L) {
  Module *m = checkmodule(L, 1);
  const char *k = luaL_checkstring(L, 2);
  const char *name = m->kind->name;
  int set = SET_PARAMS, slot = slotof(L, m, k, &set);
  if (slot && set != SET_GRADS) {
    Matrix *dst, *src = nn_tomatrix(L, 3);
    lua_getiuservalue(L, 1, slot);
    dst = nn_tomatrix(L, -1);
    if (!dst) return luaL_error(L, "%s: the layer has no %s", name, k);
    if (!src || src->rows != dst->rows || src->cols != dst->cols)
      return luaL_error(L, "%s: %s must be a %d x %d nn.Matrix", name, k,
                        dst->rows, dst->cols);
    memmove(dst->data, src->data, nn_numel(dst) * sizeof(float));
    return 0;
  }
  if (m->kind->settable && strcmp(k, m->kind->field) == 0) {
    Module t = *m;
    lua_settop(L, 3);
    lua_replace(L, 1);          /* the value alone, as the constructor's */
    lua_settop(L, 1);
    m->kind->init(L, &t, name, 1);
    NN_FIELD(m) = NN_FIELD(&t);
    return 0;
  }
  if (strcmp(k, "bias") == 0 || strcmp(k, "weight") == 0)
    return luaL_error(L, "%s: the layer has no %s", name, k);
  return luaL_error(L, "%s: cannot set field '%s'", name, k);
}

static int mod_call(lua_State *L) {
  lua_settop(L, 2);
  return mod_forward(L);
}

static const luaL_Reg meth[] = {
  {"forward", mod_forward}, {"backward", mod_backward},
  {"zeroGrad", mod_zerograd}, {"parameters", mod_parameters},
  {"buffers", mod_buffers}, {"training", mod_training},
  {"evaluate", mod_evaluate}, {"outputSize", mod_outputsize},
  {"setInputShape", mod_setinputshape}, {"config", mod_config},
  {"tensors", mod_tensors}, {NULL, NULL}
};

/* each gets the method table as upvalue 1, which __index reads, and a
** table of each kind's own methods (kind -> methods) as upvalue 2 */
static const luaL_Reg metameth[] = {
  {"__index", mod_index}, {"__newindex", mod_newindex}, {"__call", mod_call},
  {"__tostring", mod_tostring}, {NULL, NULL}
};

/* The Module metatable; into the table on top, the constructors and the
** registry's functions (registry.c) */
void nn_module_open(lua_State *L) {
  luaL_newmetatable(L, NN_MODULE);
  luaL_newlib(L, meth);
  nn_pushkindmethods(L);
  luaL_setfuncs(L, metameth, 2);
  lua_pop(L, 1);
  nn_registry_open(L);
}
