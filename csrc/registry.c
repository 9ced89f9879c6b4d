/*
** registry.c: the layer kinds and the making of layers.  The registry is
** the list of each kind file's table of descriptors; from it come
** nn.<Kind>(...), core.build (a layer from a model file's data: sizes
** checked before anything is allocated), core.layers() (what the docs,
** nn.help and the specs loop over) and each kind's own methods.  What a
** layer does once made is module.c's.
*/
#include <stdio.h>
#include <string.h>

#include "module.h"

static const LayerKind *const registry[] = {
  nn_dense_kinds, nn_activation_kinds, nn_conv_kinds, nn_norm_kinds,
  nn_rnn_kinds
};
#define NGROUPS (sizeof registry / sizeof registry[0])

static const LayerKind *findkind(const char *name) {
  size_t g;
  const LayerKind *k;
  for (g = 0; g < NGROUPS; g++)
    for (k = registry[g]; k->name; k++)
      if (strcmp(k->name, name) == 0) return k;
  return NULL;
}

/* the parameters (buf 0) or buffers (buf 1) of m into t; the count */
int nn_tensorsof(lua_State *L, const Module *m, int buf, Tensor *t) {
  int n = m->kind->tensors ? m->kind->tensors(m, buf, t) : 0;
  if (n < 0 || n > NN_MAXTENSORS)           /* a descriptor's mistake */
    luaL_error(L, "%s: %d %s, at most %d", m->kind->name, n,
               buf ? "buffers" : "parameters", NN_MAXTENSORS);
  return n;
}

/* Is the list at idx n matrices of these shapes?  Checked before anything
** is allocated, so a model file cannot make the loader allocate more than
** it holds. */
static void checksaved(lua_State *L, const Module *m, int idx,
                       const Tensor *t, int n, const char *what) {
  int i;
  if ((int)lua_rawlen(L, idx) != n)
    luaL_error(L, "%s has %d %ss, the file holds %d", m->kind->name, n, what,
               (int)lua_rawlen(L, idx));
  for (i = 0; i < n; i++) {
    Matrix *q;
    lua_rawgeti(L, idx, i + 1);
    q = nn_tomatrix(L, -1);
    if (!q)
      luaL_error(L, "%s: saved %s %d is %s, expected a %d x %d matrix",
                 m->kind->name, what, i + 1, luaL_typename(L, -1), t[i].rows,
                 t[i].cols);
    if (q->rows != t[i].rows || q->cols != t[i].cols)
      luaL_error(L, "%s: saved %s %d is %d x %d, expected %d x %d",
                 m->kind->name, what, i + 1, q->rows, q->cols, t[i].rows,
                 t[i].cols);
    lua_pop(L, 1);
  }
}

/* Makes n matrices of these shapes in user values uv, uv + 1, ... of the
** module at mi: views of one block (in user value block, if not 0) when
** the parameters' gradients are to be zeroed or stepped at once, or each
** its own.  ptr gets their data; from (if not 0) is a list to copy. */
static void makeset(lua_State *L, int mi, const Tensor *t, int n, int uv,
                    int block, float **ptr, int from) {
  size_t total = 0, off = 0;
  float *base = NULL;
  int i;
  for (i = 0; i < n; i++) total += (size_t)t[i].rows * t[i].cols;
  if (block) {
    nn_checkcount(L, "nn.Module", 1, (lua_Integer)total);
    base = nn_newzeros(L, 1, (int)total)->data;
    lua_setiuservalue(L, mi, block);
  }
  for (i = 0; i < n; i++) {
    Matrix *v = block ? nn_view(L, mi, base + off, t[i].rows, t[i].cols)
                      : nn_newzeros(L, t[i].rows, t[i].cols);
    ptr[i] = v->data;
    off += nn_numel(v);
    lua_setiuservalue(L, mi, uv + i);
    if (from) {
      lua_rawgeti(L, from, i + 1);
      memcpy(ptr[i], nn_tomatrix(L, -1)->data, nn_numel(v) * sizeof(float));
      lua_pop(L, 1);
    }
  }
}

/* Makes a module of kind k from the constructor's arguments at a..top and
** pushes it.  With saved (and bufs) not 0, the parameters (and buffers)
** are the lists of matrices there, and nothing is drawn at random. */
static Module *newlayer(lua_State *L, const LayerKind *k, int a, int saved,
                        int bufs) {
  Module m0, *m;
  char fn[48];
  Tensor pt[NN_MAXTENSORS], bt[NN_MAXTENSORS];
  int np, nb, i, mi;
  float *p[NN_MAXTENSORS] = {NULL}, *g[NN_MAXTENSORS] = {NULL};
  float *b[NN_MAXTENSORS] = {NULL};
  memset(&m0, 0, sizeof m0);
  m0.tag = NN_TAG_MODULE;
  m0.kind = k;
  m0.train = 1;
  snprintf(fn, sizeof fn, "nn.%s", k->name);
  k->init(L, &m0, fn, a);
  np = nn_tensorsof(L, &m0, 0, pt);
  nb = nn_tensorsof(L, &m0, 1, bt);
  for (i = 0; i < np; i++) nn_checkcount(L, fn, pt[i].rows, pt[i].cols);
  for (i = 0; i < nb; i++) nn_checkcount(L, fn, bt[i].rows, bt[i].cols);
  if (saved) {
    m0.init = NN_INIT_ZEROS;
    checksaved(L, &m0, saved, pt, np, "parameter");
    if (nb && !bufs)
      luaL_error(L, "%s has %d buffers, the file holds none", k->name, nb);
    if (nb) checksaved(L, &m0, bufs, bt, nb, "buffer");
  }
  m0.np = np;
  m0.nb = nb;
  m = (Module *)lua_newuserdatauv(L, sizeof(Module), UV_P0 - 1 + 2 * np + nb);
  *m = m0;
  luaL_setmetatable(L, NN_MODULE);
  mi = lua_gettop(L);
  makeset(L, mi, pt, np, UV_P0, np ? UV_PARAMS : 0, p, saved);
  makeset(L, mi, pt, np, nn_uvgrad(m, 0), np ? UV_GRADS : 0, g, 0);
  makeset(L, mi, bt, nb, nn_uvbuf(m, 0), 0, b, bufs);
  if (k->reset && !saved) k->reset(nn_rng(L), m, p, b);
  return m;
}

/* nn.<Kind>(...): the kind is upvalue 1 */
static int lib_newlayer(lua_State *L) {
  newlayer(L, (const LayerKind *)lua_touserdata(L, lua_upvalueindex(1)), 1,
           0, 0);
  return 1;
}

/* core.build(name, config, params [, buffers]): the model loader's way to
** make a layer, from data only; errors name what does not fit */
static int lib_build(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const LayerKind *k = findkind(name);
  int n, i;
  if (!k) return luaL_error(L, "unknown layer type '%s'", name);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  n = (int)lua_rawlen(L, 2);
  if (n > 8) return luaL_error(L, "%s takes at most 8 arguments", name);
  for (i = 1; i <= n; i++) lua_rawgeti(L, 2, i);          /* at 5.. */
  newlayer(L, k, 5, 3, lua_isnil(L, 4) ? 0 : 4);
  return 1;
}

/* core.layers() -> a list of {name, sig, doc, field, image, config,
** params, buffers (the docs' text), torchcount, examples = {{lua, torch,
** cols, ids}, ...}}, one per kind, in registration order */
static int lib_layers(lua_State *L) {
  size_t g;
  const LayerKind *k;
  int n = 0, i;
  lua_newtable(L);
  for (g = 0; g < NGROUPS; g++)
    for (k = registry[g]; k->name; k++) {
      nn_pushentry(L, k->name, k->sig, k->doc);
      nn_setstr(L, "field", k->field);
      nn_setbool(L, "image", k->shape != NULL);
      nn_setstr(L, "config", k->configdoc);
      nn_setstr(L, "params", k->paramsdoc);
      nn_setstr(L, "buffers", k->buffersdoc);
      nn_setstr(L, "torchcount", k->torchcount);
      lua_newtable(L);
      for (i = 0; i < NN_MAXEXAMPLES && k->examples[i].lua; i++) {
        const LayerExample *e = &k->examples[i];
        lua_createtable(L, 0, 4);
        nn_setstr(L, "lua", e->lua);
        nn_setstr(L, "torch", e->torch);
        lua_pushinteger(L, e->cols);
        lua_setfield(L, -2, "cols");
        if (e->ids) {
          lua_pushinteger(L, e->ids);
          lua_setfield(L, -2, "ids");
        }
        lua_rawseti(L, -2, i + 1);
      }
      lua_setfield(L, -2, "examples");
      lua_rawseti(L, -2, ++n);
    }
  return 1;
}

static const luaL_Reg lib[] = {
  {"build", lib_build}, {"layers", lib_layers}, {NULL, NULL}
};

/* Pushes a table: each kind that has methods of its own (a light
** userdata) -> a table of them, which the Module's __index reads */
void nn_pushkindmethods(lua_State *L) {
  size_t g;
  const LayerKind *k;
  lua_newtable(L);
  for (g = 0; g < NGROUPS; g++)
    for (k = registry[g]; k->name; k++)
      if (k->methods) {
        lua_pushlightuserdata(L, (void *)k);
        lua_newtable(L);
        luaL_setfuncs(L, k->methods, 0);
        lua_rawset(L, -3);
      }
}

/* Into the table on top: nn.<Kind> for every kind (lib_newlayer with the
** kind as upvalue), build and layers */
void nn_registry_open(lua_State *L) {
  size_t g;
  const LayerKind *k;
  for (g = 0; g < NGROUPS; g++)
    for (k = registry[g]; k->name; k++) {
      lua_pushlightuserdata(L, (void *)k);
      lua_pushcclosure(L, lib_newlayer, 1);
      lua_setfield(L, -2, k->name);
    }
  luaL_setfuncs(L, lib, 0);
}
