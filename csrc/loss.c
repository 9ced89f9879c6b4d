/*
** loss.c: the losses as userdata of one type, "nn.Loss".
**   L = crit:forward(x, target)     a number: mean (default) or sum
**   g = crit:backward(x, target)    dL/dx, a buffer the loss keeps
** CrossEntropyLoss and NLLLoss take class indices 1..C (a Lua array, an
** n x 1 Matrix, or a number for one row) or an n x C Matrix of
** probabilities; with {sequence = true} an input of T steps of C each
** (n x (T*C), any T) and an n x T Matrix of class indices, one per step.
** A class index equal to ignoreIndex (-100, PyTorch's, unless given)
** counts for nothing.  The others take a target of the input's shape.
** "mean" divides by the number of class indices not ignored (the batch
** size, when none is) for the two class losses and by the element count
** for the others, as PyTorch does.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn.h"

#define NN_LOSS "nn.Loss"

enum { UV_GRADINPUT = 1, UV_INDEX, UV_N = UV_INDEX };

/* a parsed target: class indices t (0-based, -1 where ignored) or a
** dense matrix y; the input as rows of c (n T rows of C for a sequence),
** and the class indices not ignored */
typedef struct Target {
  const int32_t *t;
  const float *y;
  int rows, c;
  int count;
} Target;

/* A loss kind, registered once in the table at the end of this file: its
** name, its help entry, what its target is and its kernels (the sum over
** the batch of an n x c input; backward writes g = scale dL/dx). */
typedef struct LossKind {
  const char *name, *sig, *doc;
  const char *const *options;   /* the option names it takes */
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
  lua_Integer ignore; /* the class index that counts for nothing */
  int sequence;       /* T steps of C a row, an n x T target */
} Loss;

static Loss *checkloss(lua_State *L, int arg) {
  return (Loss *)nn_checkudata(L, arg, NN_LOSS, NN_TAG_LOSS, sizeof(Loss));
}

static const char *const loss_options[] = {"reduction", NULL};
static const char *const class_options[] = {"reduction", "ignoreIndex",
                                            "sequence", NULL};

static void loss_option(lua_State *L, void *ud, const char *fn,
                        const char *k) {
  static const char *const reductions[] = {"mean", "sum", NULL};
  Loss *l = (Loss *)ud;
  if (strcmp(k, "reduction") == 0) {
    l->sum = nn_optchoice(L, -1, fn, k, reductions);
  } else if (strcmp(k, "sequence") == 0) {
    l->sequence = nn_optboolean(L, -1, fn, k);
  } else {                    /* any whole number: a class index or not */
    int isint = 0;
    if (lua_type(L, -1) == LUA_TNUMBER)
      l->ignore = lua_tointegerx(L, -1, &isint);
    if (!isint)
      luaL_error(L, "%s: option ignoreIndex must be a whole number, got %s",
                 fn, lua_type(L, -1) == LUA_TNUMBER ? luaL_tolstring(L, -1,
                                                                     NULL)
                                                     : luaL_typename(L, -1));
  }
}

/* nn.XLoss([{reduction = "mean" | "sum"}]); the class losses also take
** ignoreIndex (-100) and sequence (false) */
static int lib_newloss(lua_State *L) {
  const LossKind *kind =
      (const LossKind *)lua_touserdata(L, lua_upvalueindex(1));
  Loss l0, *l;
  char fn[48];
  snprintf(fn, sizeof fn, "nn.%s", kind->name);
  memset(&l0, 0, sizeof l0);
  l0.tag = NN_TAG_LOSS;
  l0.kind = kind;
  l0.ignore = -100;
  nn_options(L, 1, fn, kind->options, loss_option, &l0);
  l = (Loss *)lua_newuserdatauv(L, sizeof(Loss), UV_N);
  *l = l0;
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

/* a class index, 0-based, or -1 for the loss's ignoreIndex */
static int32_t checklabel(lua_State *L, const Loss *l, const char *fn,
                          lua_Number v, int k, int c) {
  if (v == (lua_Number)l->ignore) return -1;
  if (!(v >= 1 && v <= c) || v != floor(v))
    luaL_error(L, "%s: target %d is %f, expected a class index from 1 to %d",
               fn, k, v, c);
  return (int32_t)v - 1;
}

/* the class indices of t that count */
static int counted(const int32_t *t, int n) {
  int i, k = 0;
  for (i = 0; i < n; i++) k += t[i] >= 0;
  return k;
}

/* class targets of a sequence: x is n x (T*C), the target an n x T
** Matrix of class indices, one per step */
static Target steptarget(lua_State *L, Loss *l, const char *fn,
                         const Matrix *x, int arg) {
  Target tg = {NULL, NULL, 0, 0, 0};
  Matrix *ym = nn_tomatrix(L, arg);
  int32_t *t;
  int T, i, j;
  if (!ym)
    luaL_error(L, "%s: target must be an n x T nn.Matrix of class indices "
               "(one per step), got %s", fn, luaL_typename(L, arg));
  T = ym->cols;
  if (ym->rows != x->rows || x->cols % T != 0)
    luaL_error(L, "%s: target is %d x %d, expected %d x T class indices for "
               "an input of T steps of C (%d columns: T must divide them)",
               fn, ym->rows, ym->cols, x->rows, x->cols);
  t = indexbuf(L, x->rows * T, fn);       /* x->rows * T <= numel(x) */
  l->reads++;
  for (i = 0; i < x->rows; i++)
    for (j = 0; j < T; j++) {
      size_t k = (size_t)i * T + j;
      lua_Number v = ym->data[k];
      if (v == (lua_Number)l->ignore) {
        t[k] = -1;
      } else if (!(v >= 1 && v <= x->cols / T) || v != floor(v)) {
        luaL_error(L, "%s: the target at row %d, step %d is %f, expected a "
                   "class index from 1 to %d", fn, i + 1, j + 1, v,
                   x->cols / T);
      } else {
        t[k] = (int32_t)v - 1;
      }
    }
  tg.t = t;
  tg.rows = x->rows * T;
  tg.c = x->cols / T;
  tg.count = counted(t, tg.rows);
  return tg;
}

/* class targets for x (n x c) at arg.  A table is read through its
** metamethods, which may call this same loss again (the loss's index buffer
** is shared, and such a call would write its own labels, valid for another
** C, into it): the count of reads tells, and that is an error. */
static Target classtarget(lua_State *L, Loss *l, const char *fn,
                          const Matrix *x, int arg) {
  Target tg = {NULL, NULL, 0, 0, 0};
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
    for (i = 0; i < n; i++) t[i] = checklabel(L, l, fn, ym->data[i], i + 1, c);
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
      t[i] = checklabel(L, l, fn, v, i + 1, c);
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
    t[0] = checklabel(L, l, fn, lua_tonumber(L, arg), 1, c);
    tg.t = t;
  } else {
    luaL_error(L, "%s: target must be class indices (a table or an n x 1 "
               "nn.Matrix) or an n x C nn.Matrix, got %s", fn,
               luaL_typename(L, arg));
  }
  tg.rows = n;
  tg.c = c;
  tg.count = tg.t ? counted(tg.t, n) : n;
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
    /* mean: over the class indices that count (0 / 0 when none does, as
    ** PyTorch) */
    tg = l->sequence ? steptarget(L, l, fn, x, 3)
                     : classtarget(L, l, fn, x, 3);
    *scale = l->sum ? 1.0f : tg.count ? 1.0f / tg.count : NAN;
  } else {
    tg.t = NULL;
    tg.rows = x->rows;
    tg.c = x->cols;
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
  double s = l->kind->forward(x->data, tg, tg.rows, tg.c);
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
  l->kind->backward(g->data, x->data, tg, tg.rows, tg.c, scale);
  lua_settop(L, 4);
  return 1;
}

/* nn.Name, with the options that are not the defaults */
static int loss_tostring(lua_State *L) {
  Loss *l = checkloss(L, 1);
  luaL_Buffer b;
  int opts = 0;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "nn.%s", l->kind->name);
  luaL_addvalue(&b);
  if (l->sum) {
    luaL_addstring(&b, "{reduction = \"sum\"");
    opts++;
  }
  if (l->kind->classes && l->ignore != -100) {
    lua_pushfstring(L, "%signoreIndex = %I", opts++ ? ", " : "{", l->ignore);
    luaL_addvalue(&b);
  }
  if (l->sequence) {
    luaL_addstring(&b, opts++ ? ", " : "{");
    luaL_addstring(&b, "sequence = true");
  }
  if (opts) luaL_addstring(&b, "}");
  luaL_pushresult(&b);
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
  else if (l->kind->classes && strcmp(k, "ignoreIndex") == 0)
    lua_pushinteger(L, l->ignore);
  else if (l->kind->classes && strcmp(k, "sequence") == 0)
    lua_pushboolean(L, l->sequence);
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
  {"CrossEntropyLoss",
   "nn.CrossEntropyLoss([{reduction = \"mean\", ignoreIndex = -100, "
   "sequence = false}])",
   "Cross-entropy on logits, with a fused stable log-softmax; targets class "
   "indices or probabilities. With sequence, rows of T steps of C logits "
   "and an n x T target, a class a step; a class index equal to "
   "ignoreIndex counts for nothing (mean: over those that count).",
   class_options, 1, 0, xent_f, xent_b},
  {"NLLLoss",
   "nn.NLLLoss([{reduction = \"mean\", ignoreIndex = -100, sequence = "
   "false}])",
   "Negative log-likelihood on log-probabilities; ignoreIndex and sequence "
   "as CrossEntropyLoss.", class_options, 1, 0, nll_f, nll_b},
  {"MSELoss", "nn.MSELoss([{reduction}])",
   "Mean squared error against a target of the input's shape.",
   loss_options, 0, 0, mse_f, mse_b},
  {"L1Loss", "nn.L1Loss([{reduction}])", "Mean absolute error.",
   loss_options, 0, 0, l1_f, l1_b},
  {"BCELoss", "nn.BCELoss([{reduction}])",
   "Binary cross-entropy on probabilities.", loss_options, 0, 1, bce_f,
   bce_b},
  {"BCEWithLogitsLoss", "nn.BCEWithLogitsLoss([{reduction}])",
   "Binary cross-entropy on logits, stable.", loss_options, 0, 0,
   bcelogits_f, bcelogits_b},
  {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}
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
