/*
** loss.c: the losses as userdata of one type, "nn.Loss".
**   L = crit:forward(x, target)     a number: mean (default) or sum
**   g = crit:backward(x, target)    dL/dx, a buffer the loss keeps
** CrossEntropyLoss and NLLLoss take class indices 1..C (a Lua array, an
** n x 1 Matrix, or a number for one row) or an n x C Matrix of
** probabilities.  The others take a target of the input's shape.  "mean"
** divides by the batch size for the two class losses and by the element
** count for the others, as PyTorch does.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn.h"

#define NN_LOSS "nn.Loss"

enum { UV_GRADINPUT = 1, UV_INDEX, UV_N = UV_INDEX };

/* a parsed target: class indices t (0-based) or a dense matrix y */
typedef struct Target {
  const int32_t *t;
  const float *y;
} Target;

/* A loss kind, registered once in the table at the end of this file: its
** name, its help entry, what its target is and its kernels (the sum over
** the batch of an n x c input; backward writes g = scale dL/dx). */
typedef struct LossKind {
  const char *name, *sig, *doc;
  int classes;        /* class indices or an n x c probability target */
  int probs;          /* the input must hold probabilities */
  double (*forward)(const float *x, Target tg, int n, int c);
  void (*backward)(float *restrict g, const float *x, Target tg, int n,
                   int c, float scale);
} LossKind;

typedef struct Loss {
  unsigned tag;       /* NN_TAG_LOSS */
  const LossKind *kind;
  int sum;            /* reduction "sum" rather than "mean" */
  unsigned reads;     /* class targets parsed: tells a re-entrant call */
} Loss;

static Loss *checkloss(lua_State *L, int arg) {
  return (Loss *)nn_checkudata(L, arg, NN_LOSS, NN_TAG_LOSS, sizeof(Loss));
}

static const char *const loss_options[] = {"reduction", NULL};

static void loss_option(lua_State *L, void *ud, const char *fn,
                        const char *k) {
  static const char *const reductions[] = {"mean", "sum", NULL};
  *(int *)ud = nn_optchoice(L, -1, fn, k, reductions);
}

/* nn.XLoss([{reduction = "mean" | "sum"}]) */
static int lib_newloss(lua_State *L) {
  const LossKind *kind =
      (const LossKind *)lua_touserdata(L, lua_upvalueindex(1));
  Loss *l;
  int sum = 0;
  char fn[48];
  snprintf(fn, sizeof fn, "nn.%s", kind->name);
  nn_options(L, 1, fn, loss_options, loss_option, &sum);
  l = (Loss *)lua_newuserdatauv(L, sizeof(Loss), UV_N);
  l->tag = NN_TAG_LOSS;
  l->reads = 0;
  l->kind = kind;
  l->sum = sum;
  luaL_setmetatable(L, NN_LOSS);
  return 1;
}

/* Room for n labels in the loss's own buffer, reused while big enough and
** left on the stack so that nothing frees it while the caller uses it. */
static int32_t *indexbuf(lua_State *L, int n, const char *fn) {
  size_t need = (size_t)n * sizeof(int32_t);
  if (lua_getiuservalue(L, 1, UV_INDEX) == LUA_TUSERDATA &&
      lua_rawlen(L, -1) >= need)
    return (int32_t *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  nn_newblock(L, (size_t)n, sizeof(int32_t), fn, "a buffer", "labels");
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, UV_INDEX);
  return (int32_t *)lua_touserdata(L, -1);
}

static int32_t checklabel(lua_State *L, const char *fn, lua_Number v, int k,
                          int c) {
  if (!(v >= 1 && v <= c) || v != floor(v))
    luaL_error(L, "%s: target %d is %f, expected a class index from 1 to %d",
               fn, k, v, c);
  return (int32_t)v - 1;
}

/* class targets for x (n x c) at arg.  A table is read through its
** metamethods, which may call this same loss again (the loss's index buffer
** is shared, and such a call would write its own labels, valid for another
** C, into it): the count of reads tells, and that is an error. */
static Target classtarget(lua_State *L, Loss *l, const char *fn,
                          const Matrix *x, int arg) {
  Target tg = {NULL, NULL};
  Matrix *ym = nn_tomatrix(L, arg);
  int n = x->rows, c = x->cols, i;
  if (ym && ym->rows == n && ym->cols == c && c > 1) {
    if (!k_allfinite(ym->data, nn_numel(ym)))
      luaL_error(L, "%s: target contains NaN or infinity", fn);
    tg.y = ym->data;
  } else if (ym) {
    int32_t *t;
    if (ym->cols != 1 || ym->rows != n)
      luaL_error(L, "%s: target is %d x %d, expected %d x 1 class indices "
                 "or %d x %d probabilities", fn, ym->rows, ym->cols, n, n, c);
    t = indexbuf(L, n, fn);
    l->reads++;
    for (i = 0; i < n; i++) t[i] = checklabel(L, fn, ym->data[i], i + 1, c);
    tg.t = t;
  } else if (lua_type(L, arg) == LUA_TTABLE) {
    int32_t *t;
    unsigned mine;
    lua_Integer len = luaL_len(L, arg);
    if (len != n)
      luaL_error(L, "%s: target has %I labels, expected %d (one per input "
                 "row)", fn, len, n);
    t = indexbuf(L, n, fn);
    mine = ++l->reads;
    for (i = 0; i < n; i++) {
      int isnum;
      lua_Number v;
      lua_geti(L, arg, i + 1);
      v = lua_tonumberx(L, -1, &isnum);
      if (!isnum)
        luaL_error(L, "%s: target %d is %s, expected a class index from 1 "
                   "to %d", fn, i + 1, luaL_typename(L, -1), c);
      t[i] = checklabel(L, fn, v, i + 1, c);
      lua_pop(L, 1);
    }
    if (l->reads != mine)
      luaL_error(L, "%s: the target table's metamethods used this loss while "
                 "it was being read", fn);
    tg.t = t;
  } else if (lua_type(L, arg) == LUA_TNUMBER) {
    int32_t *t;
    if (n != 1)
      luaL_error(L, "%s: a single label needs a 1-row input, got %d rows",
                 fn, n);
    t = indexbuf(L, 1, fn);
    l->reads++;
    t[0] = checklabel(L, fn, lua_tonumber(L, arg), 1, c);
    tg.t = t;
  } else {
    luaL_error(L, "%s: target must be class indices (a table or an n x 1 "
               "nn.Matrix) or an n x C nn.Matrix, got %s", fn,
               luaL_typename(L, arg));
  }
  return tg;
}

/* an elementwise target: a Matrix of x's shape */
static const float *sametarget(lua_State *L, const char *fn, const Matrix *x,
                               int arg) {
  Matrix *y = nn_tomatrix(L, arg);
  if (!y)
    luaL_error(L, "%s: target must be an nn.Matrix, got %s", fn,
               luaL_typename(L, arg));
  if (y->rows != x->rows || y->cols != x->cols)
    luaL_error(L, "%s: target is %d x %d, expected %d x %d (the input's "
               "shape)", fn, y->rows, y->cols, x->rows, x->cols);
  return y->data;
}

static void checkprob(lua_State *L, const char *fn, const Matrix *x) {
  size_t i, n = nn_numel(x);
  for (i = 0; i < n; i++)
    if (!(x->data[i] >= 0 && x->data[i] <= 1))
      luaL_error(L, "%s: input element %I is %f, expected a probability in "
                 "[0, 1]", fn, (lua_Integer)i + 1, (lua_Number)x->data[i]);
}

/* Checks the loss at 1 and the input at 2; fills in fn ("Name:op"). */
static Loss *checkinput(lua_State *L, const char *op, Matrix **x, char *fn,
                        size_t fnlen) {
  Loss *l = checkloss(L, 1);
  snprintf(fn, fnlen, "%s:%s", l->kind->name, op);
  *x = nn_tomatrix(L, 2);
  if (!*x)
    luaL_error(L, "%s: input must be an nn.Matrix, got %s", fn,
               luaL_typename(L, 2));
  if (lua_isnoneornil(L, 3))
    luaL_error(L, "%s: target is missing", fn);
  return l;
}

/* Parses the target at 3 for input x; *scale is the reduction's factor.
** May run Lua code (a table target's metamethods): callers allocate what
** they need before, and nothing between this and the kernel. */
static Target target(lua_State *L, Loss *l, const Matrix *x,
                     const char *fn, float *scale) {
  Target tg;
  if (l->kind->classes) {
    tg = classtarget(L, l, fn, x, 3);
    *scale = l->sum ? 1.0f : 1.0f / x->rows;
  } else {
    tg.t = NULL;
    tg.y = sametarget(L, fn, x, 3);
    *scale = l->sum ? 1.0f : (float)(1.0 / (double)nn_numel(x));
    if (l->kind->probs) checkprob(L, fn, x);
  }
  return tg;
}

static int loss_forward(lua_State *L) {
  Matrix *x;
  float scale;
  char fn[64];
  Loss *l = checkinput(L, "forward", &x, fn, sizeof fn);
  Target tg = target(L, l, x, fn, &scale);
  double s = l->kind->forward(x->data, tg, x->rows, x->cols);
  lua_pushnumber(L, s * scale);
  return 1;
}

static int loss_backward(lua_State *L) {
  Matrix *x, *g, *ym;
  Target tg;
  float scale;
  char fn[64];
  Loss *l = checkinput(L, "backward", &x, fn, sizeof fn);
  lua_settop(L, 3);
  g = nn_buffer(L, 1, UV_GRADINPUT, x->rows, x->cols);          /* at 4 */
  ym = nn_tomatrix(L, 3);
  if (nn_overlaps(g, x) || (ym && nn_overlaps(g, ym)))
    return luaL_error(L, "%s: the input or target is the loss's own "
                      "gradInput buffer; clone it first", fn);
  tg = target(L, l, x, fn, &scale);
  l->kind->backward(g->data, x->data, tg, x->rows, x->cols, scale);
  lua_settop(L, 4);
  return 1;
}

static int loss_tostring(lua_State *L) {
  Loss *l = checkloss(L, 1);
  lua_pushfstring(L, "nn.%s%s", l->kind->name,
                  l->sum ? "{reduction = \"sum\"}" : "");
  return 1;
}

static int loss_index(lua_State *L) {
  Loss *l = checkloss(L, 1);
  const char *k;
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  k = lua_tostring(L, 2);
  if (!k) return 0;
  if (strcmp(k, "typename") == 0) lua_pushstring(L, l->kind->name);
  else if (strcmp(k, "reduction") == 0)
    lua_pushstring(L, l->sum ? "sum" : "mean");
  else if (strcmp(k, "gradInput") == 0)
    lua_getiuservalue(L, 1, UV_GRADINPUT);
  else lua_pushnil(L);
  return 1;
}

static int loss_call(lua_State *L) {
  lua_settop(L, 3);
  return loss_forward(L);
}

static const luaL_Reg meth[] = {
  {"forward", loss_forward}, {"backward", loss_backward}, {NULL, NULL}
};

/* each gets the method table as upvalue 1, which __index reads */
static const luaL_Reg metameth[] = {
  {"__index", loss_index}, {"__call", loss_call},
  {"__tostring", loss_tostring}, {NULL, NULL}
};

/* ---- the kinds: each kernel pair behind one signature ------------------ */

static double xent_f(const float *x, Target tg, int n, int c) {
  return k_xent_forward(x, tg.t, tg.y, n, c);
}
static void xent_b(float *restrict g, const float *x, Target tg, int n, int c,
                   float scale) {
  k_xent_backward(g, x, tg.t, tg.y, n, c, scale);
}
static double nll_f(const float *x, Target tg, int n, int c) {
  return k_nll_forward(x, tg.t, tg.y, n, c);
}
static void nll_b(float *restrict g, const float *x, Target tg, int n, int c,
                  float scale) {
  (void)x;
  k_nll_backward(g, tg.t, tg.y, n, c, scale);
}
/* the elementwise losses see n x c as one array */
#define ELEMENTWISE(name)                                                   \
  static double name##_f(const float *x, Target tg, int n, int c) {         \
    return k_##name##_forward(x, tg.y, (size_t)n * c);                      \
  }                                                                         \
  static void name##_b(float *restrict g, const float *x, Target tg, int n, \
                       int c, float scale) {                                \
    k_##name##_backward(g, x, tg.y, (size_t)n * c, scale);                  \
  }
ELEMENTWISE(mse)
ELEMENTWISE(l1)
ELEMENTWISE(bce)
ELEMENTWISE(bcelogits)

static const LossKind kinds[] = {
  {"CrossEntropyLoss", "nn.CrossEntropyLoss([{reduction = \"mean\"}])",
   "Cross-entropy on logits, with a fused stable log-softmax; targets class "
   "indices or probabilities.", 1, 0, xent_f, xent_b},
  {"NLLLoss", "nn.NLLLoss([{reduction}])",
   "Negative log-likelihood on log-probabilities.", 1, 0, nll_f, nll_b},
  {"MSELoss", "nn.MSELoss([{reduction}])",
   "Mean squared error against a target of the input's shape.", 0, 0, mse_f,
   mse_b},
  {"L1Loss", "nn.L1Loss([{reduction}])", "Mean absolute error.", 0, 0, l1_f,
   l1_b},
  {"BCELoss", "nn.BCELoss([{reduction}])",
   "Binary cross-entropy on probabilities.", 0, 1, bce_f, bce_b},
  {"BCEWithLogitsLoss", "nn.BCEWithLogitsLoss([{reduction}])",
   "Binary cross-entropy on logits, stable.", 0, 0, bcelogits_f,
   bcelogits_b},
  {NULL, NULL, NULL, 0, 0, NULL, NULL}
};

/* core.losses() -> a list of {name, sig, doc}, one per kind */
static int lib_losses(lua_State *L) {
  const LossKind *k;
  int n = 0;
  lua_newtable(L);
  for (k = kinds; k->name; k++) {
    nn_pushentry(L, k->name, k->sig, k->doc);
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

static const luaL_Reg lib[] = {
  {"losses", lib_losses}, {NULL, NULL}
};

/* The Loss metatable; into the table on top, nn.<Kind> for every kind
** (lib_newloss with the kind as upvalue) and losses. */
void nn_loss_open(lua_State *L) {
  const LossKind *k;
  luaL_newmetatable(L, NN_LOSS);
  luaL_newlib(L, meth);
  luaL_setfuncs(L, metameth, 1);
  lua_pop(L, 1);
  for (k = kinds; k->name; k++) {
    lua_pushlightuserdata(L, (void *)k);
    lua_pushcclosure(L, lib_newloss, 1);
    lua_setfield(L, -2, k->name);
  }
  luaL_setfuncs(L, lib, 0);
}
