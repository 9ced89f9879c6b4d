/*
** matrix_math.c: nn.Matrix elementwise functions (exp, log, sqrt, abs,
** pow and ^, clamp), spread (std, var), a column's copy and comparison
** (equal).  Each returns a new matrix or a value; A is left as it was.
*/
#include <math.h>

#include "matrix.h"

/* A:f() -> a new matrix of f(A) elementwise */
static int map(lua_State *L, int f, float p, float q) {
  Matrix *a = nn_checkmatrix(L, 1);
  Matrix *y = nn_newmatrix(L, a->rows, a->cols);
  k_map(f, y->data, a->data, nn_numel(a), p, q);
  return 1;
}

int mat_exp(lua_State *L) { return map(L, K_EXP, 0, 0); }
int mat_log(lua_State *L) { return map(L, K_LOG, 0, 0); }
int mat_sqrt(lua_State *L) { return map(L, K_SQRT, 0, 0); }
int mat_abs(lua_State *L) { return map(L, K_ABS, 0, 0); }

/* A:pow(p) and A ^ p: p a number (elementwise powers of matrices by
** matrices are not offered: exp(B * log(A)) says what it means) */
int mat_pow(lua_State *L) {
  nn_checkmatrix(L, 1);
  return map(L, K_POW, nn_checkfloat(L, 2, "Matrix:pow", "the exponent"), 0);
}

int mat_pow_op(lua_State *L) {
  if (!nn_tomatrix(L, 1))
    return luaL_error(L, "Matrix ^: the base must be the Matrix (A ^ p), got "
                      "%s ^ Matrix", luaL_typename(L, 1));
  return map(L, K_POW, nn_checkfloat(L, 2, "Matrix ^", "the exponent"), 0);
}

/* A:clamp(lo, hi): each element into [lo, hi]; NaN stays NaN.  Either
** bound may be nil (no bound on that side). */
int mat_clamp(lua_State *L) {
  float lo = -INFINITY, hi = INFINITY;
  nn_checkmatrix(L, 1);
  if (!lua_isnoneornil(L, 2)) lo = nn_checkfloat(L, 2, "Matrix:clamp", "lo");
  if (!lua_isnoneornil(L, 3)) hi = nn_checkfloat(L, 3, "Matrix:clamp", "hi");
  if (!(lo <= hi))
    return luaL_error(L, "Matrix:clamp: need lo <= hi, got %f and %f",
                      (lua_Number)lo, (lua_Number)hi);
  return map(L, K_CLAMP, lo, hi);
}

/* A:var([dim]) and A:std([dim]): the unbiased (n - 1) variance and its
** square root, as PyTorch's defaults: over everything a number; dim 1 (down
** the rows) a 1 x cols matrix; dim 2 (along each row) rows x 1.  One
** element gives NaN. */
static int spread(lua_State *L, int root, const char *fn) {
  Matrix *a = nn_checkmatrix(L, 1), *y;
  double mean, var;
  int j;
  if (lua_isnoneornil(L, 2)) {
    k_moments(a->data, nn_numel(a), 1, &mean, &var);
    lua_pushnumber(L, root ? sqrt(var) : var);
    return 1;
  }
  if (nn_checkdimarg(L, 2, fn) == 1) {
    y = nn_newmatrix(L, 1, a->cols);
    for (j = 0; j < a->cols; j++) {
      k_moments(a->data + j, (size_t)a->rows, (size_t)a->cols, &mean, &var);
      y->data[j] = (float)(root ? sqrt(var) : var);
    }
  } else {
    y = nn_newmatrix(L, a->rows, 1);
    for (j = 0; j < a->rows; j++) {
      k_moments(a->data + (size_t)j * a->cols, (size_t)a->cols, 1, &mean,
                &var);
      y->data[j] = (float)(root ? sqrt(var) : var);
    }
  }
  return 1;
}

int mat_var(lua_State *L) { return spread(L, 0, "Matrix:var"); }
int mat_std(lua_State *L) { return spread(L, 1, "Matrix:std"); }

/* A:col(j) -> column j as a new rows x 1 matrix (a copy: views are whole
** rows only, and a column is not contiguous) */
int mat_col(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1), *y;
  int isint;
  lua_Integer j = lua_tointegerx(L, 2, &isint);
  if (!isint || j < 1 || j > a->cols)
    return luaL_error(L, "Matrix:col: column must be an integer from 1 to %d, "
                      "got %s", a->cols, luaL_tolstring(L, 2, NULL));
  y = nn_newmatrix(L, a->rows, 1);
  k_col(y->data, a->data, a->rows, a->cols, (int)j - 1);
  return 1;
}

/* the column range j (1-based) .. j + w - 1 of a, checked; returns j - 1 */
static int colrange(lua_State *L, const Matrix *a, int arg, int w,
                    const char *fn) {
  int isint;
  lua_Integer j = lua_tointegerx(L, arg, &isint);
  if (!isint)
    luaL_error(L, "%s: column must be an integer, got %s", fn,
               luaL_tolstring(L, arg, NULL));
  /* w columns from j, with no j + w that could overflow */
  if (j < 1 || j > a->cols || w > a->cols - (j - 1))
    luaL_error(L, "%s: %d columns from column %I do not fit in 1..%d", fn, w,
               j, a->cols);
  return (int)j - 1;
}

/* A:setcols(j, B): B (A's rows x w) into A's columns j .. j + w - 1 (a
** copy, as Concat needs: views are whole rows only); returns A */
int mat_setcols(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1), *b = nn_checkmatrix(L, 3);
  int j;
  if (b->rows != a->rows)
    return luaL_error(L, "Matrix:setcols: B has %d rows, A has %d", b->rows,
                      a->rows);
  j = colrange(L, a, 2, b->cols, "Matrix:setcols");
  if (nn_overlaps(a, b))
    return luaL_error(L, "Matrix:setcols: A and B share memory");
  k_copy2d(a->data + j, (size_t)a->cols, b->data, (size_t)b->cols, a->rows,
           b->cols);
  lua_settop(L, 1);
  return 1;
}

/* A:getcols(j, w [, out]) -> columns j .. j + w - 1 of A as a rows x w
** matrix: out (of that shape) or a new one */
int mat_getcols(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1), *y;
  int w = nn_checkdim(L, 3, "Matrix:getcols", "w"), j;
  j = colrange(L, a, 2, w, "Matrix:getcols");
  if (lua_isnoneornil(L, 4)) {
    y = nn_newmatrix(L, a->rows, w);
  } else {
    y = nn_checkmatrix(L, 4);
    if (y->rows != a->rows || y->cols != w)
      return luaL_error(L, "Matrix:getcols: out is %d x %d, expected %d x "
                        "%d", y->rows, y->cols, a->rows, w);
    if (nn_overlaps(a, y))
      return luaL_error(L, "Matrix:getcols: A and out share memory");
    lua_pushvalue(L, 4);
  }
  k_copy2d(y->data, (size_t)w, a->data + j, (size_t)a->cols, a->rows, w);
  return 1;
}

/* A:equal(B [, tol]) -> whether B has A's shape and every element is
** within tol (default 0: the same) of A's; NaN equals nothing.  (A == B
** compares identity: two userdata are equal only if they are one.) */
int mat_equal(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1), *b = nn_checkmatrix(L, 2);
  lua_Number tol = luaL_optnumber(L, 3, 0);
  if (!(tol >= 0))
    return luaL_error(L, "Matrix:equal: tol must be a number >= 0");
  lua_pushboolean(L, a->rows == b->rows && a->cols == b->cols &&
                     k_maxabsdiff(a->data, b->data, nn_numel(a)) <= tol);
  return 1;
}
