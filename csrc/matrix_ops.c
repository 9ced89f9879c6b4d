/*
** matrix_ops.c: nn.Matrix arithmetic: operators, in-place updates, matrix
** products (k_gemm: sgemm, or sgemv for one row or column), reductions,
** gathering rows into batches, accuracy and one-hot targets.
*/
#include <math.h>
#include <string.h>

#include "matrix.h"

static void shapeerror(lua_State *L, const char *fn, const Matrix *a,
                       const Matrix *b) {
  luaL_error(L, "%s: shapes %d x %d and %d x %d do not match (nor is one a "
             "1 x %d row, a %d x 1 column or a 1 x 1 to broadcast)", fn, a->rows,
             a->cols, b->rows, b->cols, a->cols, a->rows);
}

/* A scalar operand, as given: the kernels work in float where float holds
** it and in double where it does not (see affine). */
static double checknum(lua_State *L, int arg, const char *fn) {
  int isnum;
  lua_Number x = lua_tonumberx(L, arg, &isnum);
  if (!isnum)
    luaL_error(L, "%s: expected a Matrix or a number, got %s", fn,
               luaL_typename(L, arg));
  return x;
}

/* y = sa*a + s.  In float (vectorized) when float holds both scalars; in
** double otherwise, so that A / 1e-39 or A * 1e39 give the float nearest
** the true result, not the one a rounded-away scalar would give. */
static void affine(float *y, const float *a, double sa, double s, size_t n) {
  if (nn_isfloat32(sa) && nn_isfloat32(s))
    k_affine(y, a, (float)sa, (float)s, n);
  else
    k_affine_d(y, a, sa, s, n);
}

/* The operands of a binary metamethod.  Lua calls it with a Matrix on one
** side at least, but a direct call, or a table that borrows the
** metamethod, can pass none: that is an error, not a NULL to follow. */
static void operands(lua_State *L, const char *fn, Matrix **a, Matrix **b) {
  *a = nn_tomatrix(L, 1);
  *b = nn_tomatrix(L, 2);
  if (!*a && !*b)
    luaL_error(L, "%s: expected an nn.Matrix operand, got %s and %s", fn,
               luaL_typename(L, 1), luaL_typename(L, 2));
}

/* b as the operand of an in-place update of y: b itself, or a copy of it
** (pushed on the stack) where it shares memory with y other than element
** for element, so that no step reads an element an earlier one wrote
** (A:add(A:row(1)), A:narrow(2, 2):add(A:narrow(1, 2))). */
static const Matrix *unaliased(lua_State *L, const Matrix *y,
                               const Matrix *b) {
  Matrix *c;
  if (!nn_overlaps(y, b) ||
      (b->data == y->data && b->rows == y->rows && b->cols == y->cols))
    return b;
  c = nn_newmatrix(L, b->rows, b->cols);
  memcpy(c->data, b->data, nn_numel(b) * sizeof(float));
  return c;
}

/* ---- elementwise, with broadcasting ------------------------------------
** One rule for every elementwise operation of two matrices: the second
** has the first's shape, or is a 1 x c row (applied to every row), or an
** r x 1 column (its i-th value applied to all of row i), or a 1 x 1 (as a
** number).  The operators also take the small one first (row + A, column
** / A).  A row and a column make no outer product. */

enum { OP_ADD, OP_MUL, OP_DIV };
enum { B_SAME, B_ROW, B_COL, B_ONE, B_NONE };

static int bshape(const Matrix *a, const Matrix *b) {
  if (a->rows == b->rows && a->cols == b->cols) return B_SAME;
  if (b->rows == 1 && b->cols == a->cols) return B_ROW;
  if (b->cols == 1 && b->rows == a->rows) return B_COL;
  if (b->rows == 1 && b->cols == 1) return B_ONE;    /* as a number */
  return B_NONE;
}

/* y = a op b (ADD: sa*a + sb*b), b broadcast as bshape says; y may be a,
** and b shares no memory with y unless it is y */
static void elementwise(lua_State *L, const char *fn, int op, Matrix *y,
                        const Matrix *a, float sa, const Matrix *b,
                        float sb) {
  int mode = bshape(a, b), i, r = a->rows, c = a->cols;
  if (mode == B_NONE) shapeerror(L, fn, a, b);
  if (mode == B_SAME) {
    size_t n = nn_numel(a);
    if (op == OP_ADD) k_axpby(y->data, a->data, sa, b->data, sb, n);
    else if (op == OP_MUL) k_mul(y->data, a->data, b->data, n);
    else k_div(y->data, a->data, b->data, n);
    return;
  }
  if (op == OP_ADD && mode == B_ROW) {
    k_axpby_row(y->data, a->data, sa, b->data, sb, r, c);
    return;
  }
  for (i = 0; i < r; i++) {
    float *yi = y->data + (size_t)i * c;
    const float *ai = a->data + (size_t)i * c;
    if (mode == B_ROW) {
      if (op == OP_MUL) k_mul(yi, ai, b->data, (size_t)c);
      else k_div(yi, ai, b->data, (size_t)c);
    } else {
      float v = b->data[mode == B_ONE ? 0 : i];
      if (op == OP_ADD) k_affine(yi, ai, sa, sb * v, (size_t)c);
      else if (op == OP_MUL) k_affine(yi, ai, v, 0, (size_t)c);
      else k_divs(yi, ai, v, (size_t)c);
    }
  }
}

/* a new matrix a op b for the operators: either may be the row or column
** that broadcasts (the small one is spread over the result first) */
static Matrix *binary(lua_State *L, const char *fn, int op, const Matrix *a,
                      float sa, const Matrix *b, float sb) {
  Matrix *y;
  int i, mode;
  if (bshape(a, b) != B_NONE || bshape(b, a) == B_NONE) {
    y = nn_newmatrix(L, a->rows, a->cols);
    elementwise(L, fn, op, y, a, sa, b, sb);
    return y;
  }
  mode = bshape(b, a);                  /* a is b's row or column (a 1 x 1 */
  y = nn_newmatrix(L, b->rows, b->cols);  /* can be a column of a 1 x c) */
  for (i = 0; i < b->rows; i++) {
    float *yi = y->data + (size_t)i * b->cols;
    if (mode == B_ROW) memcpy(yi, a->data, (size_t)b->cols * sizeof(float));
    else k_fill(yi, (size_t)b->cols, a->data[mode == B_ONE ? 0 : i]);
  }
  elementwise(L, fn, op, y, y, sa, b, sb);
  return y;
}

/* a + b and a - b (sign -1): Matrix or number on either side */
static int addsub(lua_State *L, float sign, const char *fn) {
  Matrix *a, *b, *y;
  operands(L, fn, &a, &b);
  if (a && b) {
    binary(L, fn, OP_ADD, a, 1, b, sign);
  } else if (a) {
    double s = checknum(L, 2, fn);
    y = nn_newmatrix(L, a->rows, a->cols);
    affine(y->data, a->data, 1, sign * s, nn_numel(a));
  } else {
    double s = checknum(L, 1, fn);
    y = nn_newmatrix(L, b->rows, b->cols);
    affine(y->data, b->data, sign, s, nn_numel(b));
  }
  return 1;
}

int mat_add_op(lua_State *L) { return addsub(L, 1, "Matrix +"); }
int mat_sub_op(lua_State *L) { return addsub(L, -1, "Matrix -"); }

static void checkmm(lua_State *L, const char *fn, int ar, int ac, int br,
                    int bc) {
  if (ac != br)
    luaL_error(L, "%s: cannot multiply %d x %d by %d x %d (inner sizes %d "
               "and %d differ)", fn, ar, ac, br, bc, ac, br);
}

/* C = alpha op(A) op(B) + beta C, op(X) = X or X' */
static void gemm(Matrix *c, const Matrix *a, int ta, const Matrix *b, int tb,
                 float alpha, float beta) {
  int k = ta ? a->rows : a->cols;
  k_gemm(ta, tb, c->rows, c->cols, k, alpha, a->data, a->cols, b->data,
         b->cols, beta, c->data, c->cols);
}

int mat_mul_op(lua_State *L) {
  Matrix *a, *b, *y;
  operands(L, "Matrix *", &a, &b);
  if (a && b) {
    checkmm(L, "Matrix *", a->rows, a->cols, b->rows, b->cols);
    y = nn_newmatrix(L, a->rows, b->cols);
    gemm(y, a, 0, b, 0, 1, 0);
  } else {
    Matrix *m = a ? a : b;
    double s = checknum(L, a ? 2 : 1, "Matrix *");
    y = nn_newmatrix(L, m->rows, m->cols);
    affine(y->data, m->data, s, 0, nn_numel(m));
  }
  return 1;
}

/* a / number, a ./ b (broadcasting), or number ./ a */
int mat_div_op(lua_State *L) {
  Matrix *a, *b, *y;
  operands(L, "Matrix /", &a, &b);
  if (a && b) {
    binary(L, "Matrix /", OP_DIV, a, 1, b, 1);
  } else if (a) {
    y = nn_newmatrix(L, a->rows, a->cols);
    affine(y->data, a->data, 1 / checknum(L, 2, "Matrix /"), 0, nn_numel(a));
  } else {
    float s = nn_checkfloat(L, 1, "Matrix /", "the dividend");
    y = nn_newmatrix(L, b->rows, b->cols);
    k_fill(y->data, nn_numel(b), s);
    k_div(y->data, y->data, b->data, nn_numel(b));
  }
  return 1;
}

int mat_unm(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1);
  Matrix *y = nn_newmatrix(L, a->rows, a->cols);
  k_affine(y->data, a->data, -1, 0, nn_numel(a));
  return 1;
}

int mat_len(lua_State *L) {
  lua_pushinteger(L, nn_checkmatrix(L, 1)->rows);
  return 1;
}

/* ---- in place ---------------------------------------------------------- */

/* A:add(B [, alpha]): A += alpha B (B broadcasting), or A:add(x): A += x.
** Returns A. */
int mat_add(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1), *b = nn_tomatrix(L, 2);
  if (b) {
    float alpha = lua_isnoneornil(L, 3) ? 1.0f
                  : nn_checkfloat(L, 3, "Matrix:add", "alpha");
    elementwise(L, "Matrix:add", OP_ADD, a, a, 1, unaliased(L, a, b), alpha);
  } else {
    affine(a->data, a->data, 1, checknum(L, 2, "Matrix:add"), nn_numel(a));
  }
  lua_settop(L, 1);
  return 1;
}

/* A:mul(B) and A:div(B): A .*= B, A ./= B (B broadcasting), or by a
** number.  Return A. */
static int muldiv(lua_State *L, int op, const char *fn) {
  Matrix *a = nn_checkmatrix(L, 1), *b = nn_tomatrix(L, 2);
  if (b) {
    elementwise(L, fn, op, a, a, 1, unaliased(L, a, b), 1);
  } else {
    double s = checknum(L, 2, fn);
    affine(a->data, a->data, op == OP_MUL ? s : 1 / s, 0, nn_numel(a));
  }
  lua_settop(L, 1);
  return 1;
}

int mat_mul(lua_State *L) { return muldiv(L, OP_MUL, "Matrix:mul"); }
int mat_div(lua_State *L) { return muldiv(L, OP_DIV, "Matrix:div"); }

int mat_scale(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1);
  affine(a->data, a->data, checknum(L, 2, "Matrix:scale"), 0, nn_numel(a));
  lua_settop(L, 1);
  return 1;
}

/* nn.matmul(A, B [, transA, transB]) -> op(A) op(B), a new matrix */
int mat_matmul(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1), *b = nn_checkmatrix(L, 2), *c;
  int ta = lua_toboolean(L, 3), tb = lua_toboolean(L, 4);
  int ar = ta ? a->cols : a->rows, ac = ta ? a->rows : a->cols;
  int br = tb ? b->cols : b->rows, bc = tb ? b->rows : b->cols;
  checkmm(L, "nn.matmul", ar, ac, br, bc);
  c = nn_newmatrix(L, ar, bc);
  gemm(c, a, ta, b, tb, 1, 0);
  return 1;
}

/* C:gemm(A, B [, alpha [, beta [, transA [, transB]]]]):
** C = alpha op(A) op(B) + beta C.  Returns C. */
int mat_gemm(lua_State *L) {
  Matrix *c = nn_checkmatrix(L, 1), *a = nn_checkmatrix(L, 2);
  Matrix *b = nn_checkmatrix(L, 3);
  float alpha = lua_isnoneornil(L, 4) ? 1.0f
                : nn_checkfloat(L, 4, "Matrix:gemm", "alpha");
  float beta = lua_isnoneornil(L, 5) ? 0.0f
               : nn_checkfloat(L, 5, "Matrix:gemm", "beta");
  int ta = lua_toboolean(L, 6), tb = lua_toboolean(L, 7);
  int ar = ta ? a->cols : a->rows, ac = ta ? a->rows : a->cols;
  int br = tb ? b->cols : b->rows, bc = tb ? b->rows : b->cols;
  checkmm(L, "Matrix:gemm", ar, ac, br, bc);
  if (c->rows != ar || c->cols != bc)
    return luaL_error(L, "Matrix:gemm: result is %d x %d, expected %d x %d",
                      c->rows, c->cols, ar, bc);
  if (nn_overlaps(c, a) || nn_overlaps(c, b))
    return luaL_error(L, "Matrix:gemm: the result shares memory with an "
                      "operand");
  gemm(c, a, ta, b, tb, alpha, beta);
  lua_settop(L, 1);
  return 1;
}

/* ---- reductions --------------------------------------------------------- */

/* sum over everything, or dim 1 -> 1 x cols, dim 2 -> rows x 1; divide by
** the count when mean */
static int reduce(lua_State *L, int mean, const char *fn) {
  Matrix *a = nn_checkmatrix(L, 1), *y;
  int d;
  if (lua_isnoneornil(L, 2)) {
    double s = k_sum(a->data, nn_numel(a));
    lua_pushnumber(L, mean ? s / (double)nn_numel(a) : s);
    return 1;
  }
  d = nn_checkdimarg(L, 2, fn);
  if (d == 1) {
    y = nn_newmatrix(L, 1, a->cols);
    k_sum_rows(y->data, a->data, a->rows, a->cols);
    if (mean) k_affine(y->data, y->data, 1.0f / a->rows, 0, nn_numel(y));
  } else {
    y = nn_newmatrix(L, a->rows, 1);
    k_sum_cols(y->data, a->data, a->rows, a->cols);
    if (mean) k_affine(y->data, y->data, 1.0f / a->cols, 0, nn_numel(y));
  }
  return 1;
}

int mat_sum(lua_State *L) { return reduce(L, 0, "Matrix:sum"); }
int mat_mean(lua_State *L) { return reduce(L, 1, "Matrix:mean"); }

typedef size_t (*Argfn)(const float *, size_t);

/* Over everything: value, row, col.  Along dim: values and 1-based indices
** as matrices (dim 2: rows x 1 column indices; dim 1: 1 x cols rows). */
static int extreme(lua_State *L, Argfn arg, int wantvalues, const char *fn) {
  Matrix *a = nn_checkmatrix(L, 1), *v, *ix;
  int i, j;
  if (lua_isnoneornil(L, 2)) {
    size_t k = arg(a->data, nn_numel(a));
    if (wantvalues) lua_pushnumber(L, a->data[k]);
    lua_pushinteger(L, (lua_Integer)(k / a->cols) + 1);
    lua_pushinteger(L, (lua_Integer)(k % a->cols) + 1);
    return wantvalues ? 3 : 2;
  }
  if (nn_checkdimarg(L, 2, fn) == 2) {
    v = wantvalues ? nn_newmatrix(L, a->rows, 1) : NULL;
    ix = nn_newmatrix(L, a->rows, 1);
    for (i = 0; i < a->rows; i++) {
      const float *r = a->data + (size_t)i * a->cols;
      size_t k = arg(r, (size_t)a->cols);
      if (v) v->data[i] = r[k];
      ix->data[i] = (float)(k + 1);
    }
  } else {
    float *col = NULL;
    v = wantvalues ? nn_newmatrix(L, 1, a->cols) : NULL;
    ix = nn_newmatrix(L, 1, a->cols);
    col = (float *)nn_newblock(L, (size_t)a->rows, sizeof(float), fn,
                               "a column buffer", "floats");
    for (j = 0; j < a->cols; j++) {
      size_t k;
      for (i = 0; i < a->rows; i++) col[i] = a->data[(size_t)i * a->cols + j];
      k = arg(col, (size_t)a->rows);
      if (v) v->data[j] = col[k];
      ix->data[j] = (float)(k + 1);
    }
    lua_pop(L, 1);
  }
  return wantvalues ? 2 : 1;
}

int mat_max(lua_State *L) { return extreme(L, k_argmax, 1, "Matrix:max"); }
int mat_min(lua_State *L) { return extreme(L, k_argmin, 1, "Matrix:min"); }
int mat_argmax(lua_State *L) {
  return extreme(L, k_argmax, 0, "Matrix:argmax");
}
int mat_argmin(lua_State *L) {
  return extreme(L, k_argmin, 0, "Matrix:argmin");
}

int mat_dot(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1), *b = nn_checkmatrix(L, 2);
  if (nn_numel(a) != nn_numel(b))
    return luaL_error(L, "Matrix:dot: %d x %d and %d x %d have different "
                      "element counts", a->rows, a->cols, b->rows, b->cols);
  lua_pushnumber(L, k_dot(a->data, b->data, nn_numel(a)));
  return 1;
}

int mat_norm(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1);
  lua_pushnumber(L, sqrt(k_dot(a->data, a->data, nn_numel(a))));
  return 1;
}

int mat_allfinite(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1);
  lua_pushboolean(L, k_allfinite(a->data, nn_numel(a)));
  return 1;
}

/* ---- rows and labels: batches, accuracy, one-hot targets ------------- */

/* dst:gather(src, idx, first, n): row k of dst (k = 1..n) is row
** idx[first + k - 1] of src; idx is a Lua list of 1-based row numbers. */
int mat_gather(lua_State *L) {
  Matrix *dst = nn_checkmatrix(L, 1), *src = nn_checkmatrix(L, 2);
  lua_Integer first = luaL_checkinteger(L, 4);
  int n = nn_checkdim(L, 5, "Matrix:gather", "n"), k;
  luaL_checktype(L, 3, LUA_TTABLE);
  if (first < 1 || first > LUA_MAXINTEGER - n)
    return luaL_error(L, "Matrix:gather: first must be from 1 to %I, got %I",
                      LUA_MAXINTEGER - n, first);
  if (dst->cols != src->cols)
    return luaL_error(L, "Matrix:gather: source has %d columns, destination "
                      "%d", src->cols, dst->cols);
  if (dst->rows != n)
    return luaL_error(L, "Matrix:gather: destination has %d rows, expected "
                      "%d", dst->rows, n);
  if (nn_overlaps(dst, src))
    return luaL_error(L, "Matrix:gather: source and destination overlap");
  for (k = 0; k < n; k++) {
    int isint;
    lua_Integer i;
    lua_rawgeti(L, 3, first + k);
    i = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (!isint || i < 1 || i > src->rows)
      return luaL_error(L, "Matrix:gather: index %I is not a row of the "
                        "source (1..%d)", first + k, src->rows);
    memcpy(dst->data + (size_t)k * dst->cols,
           src->data + (size_t)(i - 1) * src->cols,
           (size_t)src->cols * sizeof(float));
  }
  lua_settop(L, 1);
  return 1;
}

/* nn.core.correct(out, Y [, ignore]) -> how many rows of out (n x C) have
** their largest entry at the class in Y (n x 1 labels, or n x C one-hot
** rows), and how many rows count: a label equal to ignore (a loss's
** ignoreIndex) is neither */
int lib_correct(lua_State *L) {
  Matrix *out = nn_checkmatrix(L, 1), *y = nn_checkmatrix(L, 2);
  int i, hits = 0, counted = 0, c = out->cols;
  lua_Integer ignore = luaL_opt(L, luaL_checkinteger, 3, 0);
  int skip = !lua_isnoneornil(L, 3);
  if (y->rows != out->rows || (y->cols != 1 && y->cols != c))
    return luaL_error(L, "nn.correct: targets are %d x %d, expected %d x 1 "
                      "or %d x %d", y->rows, y->cols, out->rows, out->rows, c);
  for (i = 0; i < out->rows; i++) {
    size_t p = k_argmax(out->data + (size_t)i * c, (size_t)c), t;
    if (y->cols == 1) {
      float v = y->data[i];            /* checked before it becomes a size */
      if (skip && v == (float)ignore) continue;
      if (!(v >= 1 && v <= c) || v != floorf(v))
        return luaL_error(L, "nn.correct: label %d is %f, expected a class "
                          "index from 1 to %d", i + 1, (lua_Number)v, c);
      t = (size_t)v - 1;
    } else {
      t = k_argmax(y->data + (size_t)i * c, (size_t)c);
    }
    hits += p == t;
    counted++;
  }
  lua_pushinteger(L, hits);
  lua_pushinteger(L, counted);
  return 2;
}

/* nn.onehot(labels, C) -> n x C with a 1 at each row's class */
int lib_onehot(lua_State *L) {
  Matrix *y = nn_checkmatrix(L, 1), *o;
  int c = nn_checkdim(L, 2, "nn.onehot", "C"), i;
  if (y->cols != 1)
    return luaL_error(L, "nn.onehot: labels must be n x 1, got %d x %d",
                      y->rows, y->cols);
  nn_checkcount(L, "nn.onehot", y->rows, c);
  o = nn_newzeros(L, y->rows, c);
  for (i = 0; i < y->rows; i++) {
    float v = y->data[i];
    if (!(v >= 1 && v <= c) || v != (float)(int)v)
      return luaL_error(L, "nn.onehot: label %d is %f, expected a class "
                        "index from 1 to %d", i + 1, (lua_Number)v, c);
    o->data[(size_t)i * c + (size_t)v - 1] = 1;
  }
  return 1;
}
