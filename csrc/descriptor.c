/*
** descriptor.c: what the layer kinds' descriptors share (module.h): the
** strict reading of constructor arguments, tensors and their PyTorch
** shapes, the initialisation schemes, help entries, and the fields of the
** tables of facts that core.layers() and m:tensors() return.
*/
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "module.h"

/* Constructor arguments are read strictly: a number must be a number, not
** a string Lua would convert ("2" is refused, as PyTorch refuses it). */

const char *nn_argdesc(lua_State *L, int idx) {
  size_t len;
  const char *s;
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    s = lua_tolstring(L, idx, &len);
    if (len <= 40) return lua_pushfstring(L, "string '%s'", s);
    lua_pushlstring(L, s, 37);
    return lua_pushfstring(L, "string '%s...'", lua_tostring(L, -1));
  case LUA_TNUMBER:
    return luaL_tolstring(L, idx, NULL);
  default:
    return luaL_typename(L, idx);
  }
}

lua_Integer nn_checkwhole(lua_State *L, int idx, const char *fn,
                          const char *what, lua_Integer lo, lua_Integer hi) {
  int isint = 0;
  lua_Integer n = 0;
  if (lua_type(L, idx) == LUA_TNUMBER) n = lua_tointegerx(L, idx, &isint);
  if (!isint || n < lo || n > hi)
    luaL_error(L, "%s: %s must be a whole number from %I to %I, got %s", fn,
               what, lo, hi, nn_argdesc(L, idx));
  return n;
}

float nn_optfloat(lua_State *L, int arg, float def, const char *fn,
                  const char *what) {
  lua_Number v;
  if (lua_isnoneornil(L, arg)) return def;
  v = lua_type(L, arg) == LUA_TNUMBER ? lua_tonumber(L, arg) : NAN;
  /* finite as float32, as the model loader will check it */
  if (!isfinite(v) || fabs(v) > FLT_MAX)
    luaL_error(L, "%s: %s must be a finite float32 number, got %s", fn, what,
               nn_argdesc(L, arg));
  return (float)v;
}

void nn_noargs(lua_State *L, const char *fn, int a) {
  if (lua_gettop(L) >= a) luaL_error(L, "%s: takes no arguments", fn);
}

float *nn_scratch(Ctx *c, int slot, size_t n, int make) {
  lua_State *L = c->L;
  size_t need = n > (size_t)-1 / sizeof(float) ? (size_t)-1  /* refused */
                                               : (n ? n : 1) * sizeof(float);
  if (lua_getiuservalue(L, 1, slot) == LUA_TUSERDATA &&
      lua_rawlen(L, -1) >= need) {
    float *p = (float *)lua_touserdata(L, -1);
    lua_pop(L, 1);            /* the module keeps it alive */
    return p;
  }
  lua_pop(L, 1);
  if (!make) return NULL;
  {
    char fn[48];
    float *p;
    snprintf(fn, sizeof fn, "%s:%s", c->m->kind->name,
             c->gy ? "backward" : "forward");
    p = (float *)nn_newblock(L, n ? n : 1, sizeof(float), fn, "scratch",
                             "floats");
    lua_setiuservalue(L, 1, slot);      /* the module keeps it alive */
    return p;
  }
}

/* src into dst[NN_NAMELEN], cut to fit; not snprintf, which was 3% of a
** small Linear's forward (every call describes the layer's tensors) */
static void copyname(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n > NN_NAMELEN - 1) n = NN_NAMELEN - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

void nn_tensor(Tensor *t, const char *name, const char *torch, int rows,
               int cols) {
  copyname(t->name, name);
  copyname(t->torch, torch ? torch : name);
  t->rows = rows;
  t->cols = cols;
  nn_torchshape(t, 2, rows, cols, 0, 0);
}

void nn_torchshape(Tensor *t, int ndim, int d0, int d1, int d2, int d3) {
  t->ndim = ndim;
  t->dims[0] = d0;
  t->dims[1] = d1;
  t->dims[2] = d2;
  t->dims[3] = d3;
}

void nn_setint(lua_State *L, int i, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_rawseti(L, -2, i);
}

void nn_setnum(lua_State *L, int i, lua_Number v) {
  lua_pushnumber(L, v);
  lua_rawseti(L, -2, i);
}

int nn_checkinit(lua_State *L, int idx, const char *fn) {
  static const char *const schemes[] = {"kaiming", "xavier", "uniform",
                                        "zeros", NULL};   /* NN_INIT_* */
  return nn_optchoice(L, idx, fn, "init", schemes);
}

/* kaiming: He et al. 2015, uniform with gain sqrt(2); xavier: Glorot &
** Bengio 2010; uniform: PyTorch's default, bias included; zeros: draws
** nothing from the generator */
void nn_initweights(Rng *r, int init, float *w, size_t nw, float *b,
                    size_t nb, int fanin, int fanout) {
  float bound = 0, bbound = 0;
  switch (init) {
  case NN_INIT_KAIMING: bound = sqrtf(6.0f / fanin); break;
  case NN_INIT_XAVIER: bound = sqrtf(6.0f / ((float)fanin + fanout)); break;
  case NN_INIT_UNIFORM: bbound = bound = 1.0f / sqrtf((float)fanin); break;
  }
  if (bound > 0) k_rand(r, w, nw, -bound, bound);
  if (b && bbound > 0) k_rand(r, b, nb, -bbound, bbound);
}

void nn_pushentry(lua_State *L, const char *name, const char *sig,
                  const char *doc) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, sig);
  lua_setfield(L, -2, "sig");
  lua_pushstring(L, doc);
  lua_setfield(L, -2, "doc");
}

void nn_setstr(lua_State *L, const char *k, const char *v) {
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

void nn_setbool(lua_State *L, const char *k, int v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}
