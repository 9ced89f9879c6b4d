/*
** matrix_basic.c: the basic methods of nn.Matrix: making one (nn.Matrix,
** nn.zeros, ones, eye, rand, randn), its shape, element access, views
** (row, narrow, reshape), copies, totable and apply, printing, and
** __index.  The userdata itself (allocation, views, the argument checks)
** is matrix.c's; matrix_class.c registers these.
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "matrix.h"
#include "pool.h"

/* ---- constructors ----------------------------------------------------- */

static float tablenumber(lua_State *L, int t, lua_Integer i, lua_Integer j) {
  int isnum;
  lua_Number x;
  lua_geti(L, t, j);
  x = lua_tonumberx(L, -1, &isnum);
  if (!isnum || (isfinite(x) && fabs(x) > FLT_MAX)) {
    const char *what = isnum ? "outside float32's range"
                             : lua_pushfstring(L, "%s, expected a number",
                                               luaL_typename(L, -1));
    if (i > 0)
      luaL_error(L, "nn.Matrix: entry [%I][%I] is %s", i, j, what);
    luaL_error(L, "nn.Matrix: entry [%I] is %s", j, what);
  }
  lua_pop(L, 1);
  return (float)x;
}

/* nn.Matrix{{1, 2}, {3, 4}} or nn.Matrix{1, 2, 3} */
static int fromtable(lua_State *L, int t) {
  lua_Integer r = luaL_len(L, t), c, i, j;
  Matrix *m;
  if (r < 1) return luaL_error(L, "nn.Matrix: the table is empty");
  if (lua_geti(L, t, 1) != LUA_TTABLE) {        /* a flat row vector */
    lua_pop(L, 1);
    nn_checkcount(L, "nn.Matrix", 1, r);
    m = nn_newmatrix(L, 1, (int)r);
    for (j = 1; j <= r; j++) m->data[j - 1] = tablenumber(L, t, 0, j);
    return 1;
  }
  c = luaL_len(L, -1);
  lua_pop(L, 1);
  if (c < 1) return luaL_error(L, "nn.Matrix: row 1 is empty");
  nn_checkcount(L, "nn.Matrix", r, c);
  m = nn_newmatrix(L, (int)r, (int)c);
  for (i = 1; i <= r; i++) {
    int row;
    if (lua_geti(L, t, i) != LUA_TTABLE)
      return luaL_error(L, "nn.Matrix: row %I is %s, expected a table", i,
                        luaL_typename(L, -1));
    row = lua_gettop(L);
    if (luaL_len(L, row) != c)
      return luaL_error(L, "nn.Matrix: row %I has %I entries, expected %I",
                        i, luaL_len(L, row), c);
    for (j = 1; j <= c; j++)
      m->data[(i - 1) * c + (j - 1)] = tablenumber(L, row, i, j);
    lua_pop(L, 1);
  }
  return 1;
}

/* nn.Matrix(rows, cols [, fill | flat table]) | nn.Matrix(table) */
int mat_new(lua_State *L) {
  int r, c;
  Matrix *m;
  lua_remove(L, 1);                            /* the class table (__call) */
  if (lua_type(L, 1) == LUA_TTABLE) return fromtable(L, 1);
  if (lua_gettop(L) < 2)
    return luaL_error(L, "nn.Matrix: expected (rows, cols) or a table, got %s",
                      luaL_typename(L, 1));
  r = nn_checkdim(L, 1, "nn.Matrix", "rows");
  c = nn_checkdim(L, 2, "nn.Matrix", "cols");
  nn_checkcount(L, "nn.Matrix", r, c);
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_Integer k, n = (lua_Integer)r * c;
    if (luaL_len(L, 3) != n)
      return luaL_error(L, "nn.Matrix: flat table has %I entries, expected %I"
                        " (%d x %d)", luaL_len(L, 3), n, r, c);
    m = nn_newmatrix(L, r, c);
    for (k = 1; k <= n; k++) m->data[k - 1] = tablenumber(L, 3, 0, k);
  } else if (lua_isnoneornil(L, 3)) {
    nn_newzeros(L, r, c);
  } else {
    float v = nn_checkfloat(L, 3, "nn.Matrix", "fill value");
    m = nn_newmatrix(L, r, c);
    k_fill(m->data, nn_numel(m), v);
  }
  return 1;
}

static Matrix *newchecked(lua_State *L, const char *fn) {
  int r = nn_checkdim(L, 1, fn, "rows");
  int c = nn_checkdim(L, 2, fn, "cols");
  nn_checkcount(L, fn, r, c);
  return nn_newmatrix(L, r, c);
}

int lib_zeros(lua_State *L) {
  Matrix *m = newchecked(L, "nn.zeros");
  k_fill(m->data, nn_numel(m), 0);
  return 1;
}

int lib_ones(lua_State *L) {
  Matrix *m = newchecked(L, "nn.ones");
  k_fill(m->data, nn_numel(m), 1);
  return 1;
}

/* nn.eye(n [, m]) */
int lib_eye(lua_State *L) {
  int r = nn_checkdim(L, 1, "nn.eye", "n");
  int c = lua_isnoneornil(L, 2) ? r : nn_checkdim(L, 2, "nn.eye", "cols");
  int i;
  Matrix *m;
  nn_checkcount(L, "nn.eye", r, c);
  m = nn_newzeros(L, r, c);
  for (i = 0; i < r && i < c; i++) m->data[(size_t)i * c + i] = 1;
  return 1;
}

/* nn.rand(r, c [, lo, hi]): uniform on [lo, hi), default [0, 1) */
int lib_rand(lua_State *L) {
  Matrix *m;
  float lo = 0, hi = 1;
  if (!lua_isnoneornil(L, 3)) {
    lo = nn_checkfloat(L, 3, "nn.rand", "lo");
    hi = nn_checkfloat(L, 4, "nn.rand", "hi");
    if (!(lo < hi) || !isfinite(lo) || !isfinite(hi))
      return luaL_error(L, "nn.rand: need finite lo < hi, got %f, %f",
                        (double)lo, (double)hi);
  }
  m = newchecked(L, "nn.rand");
  k_rand(nn_rng(L), m->data, nn_numel(m), lo, hi);
  return 1;
}

/* nn.randn(r, c [, std [, mean]]) */
int lib_randn(lua_State *L) {
  Matrix *m;
  float std = 1, mean = 0;
  if (!lua_isnoneornil(L, 3)) std = nn_checkfloat(L, 3, "nn.randn", "std");
  if (!lua_isnoneornil(L, 4)) mean = nn_checkfloat(L, 4, "nn.randn", "mean");
  if (!(std >= 0) || !isfinite(std) || !isfinite(mean))
    return luaL_error(L, "nn.randn: std must be finite and >= 0");
  m = newchecked(L, "nn.randn");
  k_randn(nn_rng(L), m->data, nn_numel(m), mean, std);
  return 1;
}

/* ---- shape, access, views --------------------------------------------- */

int mat_shape(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  lua_pushinteger(L, m->rows);
  lua_pushinteger(L, m->cols);
  return 2;
}

int mat_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nn_numel(nn_checkmatrix(L, 1)));
  return 1;
}

/* The element addressed by (i, j), or by (k) for a row or column vector.
** Returns its 0-based offset; *next is the first argument after it. */
static size_t checkelem(lua_State *L, Matrix *m, int nidx, const char *fn) {
  if (nidx == 1) {
    if (m->rows != 1 && m->cols != 1)
      luaL_error(L, "%s: one index needs a vector, this is %d x %d", fn,
                 m->rows, m->cols);
    return (size_t)nn_checkindex(L, 2, (int)nn_numel(m), fn, "element") - 1;
  }
  {
    int i = nn_checkindex(L, 2, m->rows, fn, "row");
    int j = nn_checkindex(L, 3, m->cols, fn, "column");
    return (size_t)(i - 1) * m->cols + (j - 1);
  }
}

/* A:get(i, j) or v:get(k) */
int mat_get(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  int nidx = lua_isnoneornil(L, 3) ? 1 : 2;
  lua_pushnumber(L, m->data[checkelem(L, m, nidx, "Matrix:get")]);
  return 1;
}

/* A:set(i, j, x) or v:set(k, x); returns A */
int mat_set(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  int nidx = lua_gettop(L) >= 4 ? 2 : 1;
  size_t k = checkelem(L, m, nidx, "Matrix:set");
  m->data[k] = nn_checkfloat(L, 2 + nidx, "Matrix:set", "value");
  lua_settop(L, 1);
  return 1;
}

int mat_row(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  int i = nn_checkindex(L, 2, m->rows, "Matrix:row", "row");
  nn_view(L, 1, m->data + (size_t)(i - 1) * m->cols, 1, m->cols);
  return 1;
}

/* A:narrow(first, n): rows first .. first+n-1, shared */
int mat_narrow(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  int first;
  if (lua_gettop(L) >= 4) {      /* Torch7's narrow(dim, first, n): rows only */
    if (lua_tointeger(L, 2) != 1 || !lua_isinteger(L, 2))
      return luaL_error(L, "Matrix:narrow: only dim 1 (rows) can be narrowed, "
                        "got dim %s (views are whole rows; A:col(j) copies a "
                        "column)", luaL_tolstring(L, 2, NULL));
    lua_remove(L, 2);
    if (lua_gettop(L) > 3)
      return luaL_error(L, "Matrix:narrow: expected (first, n) or (1, first, "
                        "n), got %d arguments", lua_gettop(L));
  }
  first = nn_checkindex(L, 2, m->rows, "Matrix:narrow", "first row");
  int n = nn_checkdim(L, 3, "Matrix:narrow", "row count");
  if (n > m->rows - first + 1)
    return luaL_error(L, "Matrix:narrow: rows %d..%I exceed the %d rows",
                      first, (lua_Integer)first + n - 1, m->rows);
  nn_view(L, 1, m->data + (size_t)(first - 1) * m->cols, n, m->cols);
  return 1;
}

int mat_reshape(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  int r = nn_checkdim(L, 2, "Matrix:reshape", "rows");
  int c = nn_checkdim(L, 3, "Matrix:reshape", "cols");
  if ((size_t)r * (size_t)c != nn_numel(m))
    return luaL_error(L, "Matrix:reshape: %d x %d has %I elements, the "
                      "matrix has %I", r, c, (lua_Integer)r * c,
                      (lua_Integer)nn_numel(m));
  nn_view(L, 1, m->data, r, c);
  return 1;
}

int mat_isview(lua_State *L) {
  nn_checkmatrix(L, 1);
  lua_pushboolean(L, lua_getiuservalue(L, 1, 1) != LUA_TNIL);
  return 1;
}

int mat_clone(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  Matrix *c = nn_newmatrix(L, m->rows, m->cols);
  memcpy(c->data, m->data, nn_numel(m) * sizeof(float));
  return 1;
}

/* A:copy(B): B's elements, row-major, into A (same element count) */
int mat_copy(lua_State *L) {
  Matrix *a = nn_checkmatrix(L, 1);
  Matrix *b = nn_checkmatrix(L, 2);
  if (nn_numel(a) != nn_numel(b))
    return luaL_error(L, "Matrix:copy: source is %d x %d, destination is "
                      "%d x %d (element counts differ)", b->rows, b->cols,
                      a->rows, a->cols);
  memmove(a->data, b->data, nn_numel(a) * sizeof(float));
  lua_settop(L, 1);
  return 1;
}

typedef struct Fill { float *y; float v; } Fill;

static void fillpart(void *arg, size_t a, size_t b, int thread) {
  const Fill *f = (const Fill *)arg;
  (void)thread;
  k_fill(f->y + a, b - a, f->v);
}

/* m filled with v, in ranges across the state's threads: an optimizer's
** zeroGrad clears every gradient each step, 2% of the MLP's step, in the
** ranges its update takes (pool.h) */
static int fill(lua_State *L, Matrix *m, float v) {
  Fill f;
  f.y = m->data;
  f.v = v;
  nn_prange(nn_pool(L), fillpart, &f, nn_numel(m), NN_PARAM_GRAIN);
  lua_settop(L, 1);
  return 1;
}

int mat_fill(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  return fill(L, m, nn_checkfloat(L, 2, "Matrix:fill", "value"));
}

int mat_zero(lua_State *L) {
  return fill(L, nn_checkmatrix(L, 1), 0);
}

int mat_t(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  Matrix *t = nn_newmatrix(L, m->cols, m->rows);
  k_transpose(t->data, m->data, m->rows, m->cols);
  return 1;
}

int mat_totable(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  int i, j;
  lua_createtable(L, m->rows, 0);
  for (i = 0; i < m->rows; i++) {
    lua_createtable(L, m->cols, 0);
    for (j = 0; j < m->cols; j++) {
      lua_pushnumber(L, m->data[(size_t)i * m->cols + j]);
      lua_rawseti(L, -2, j + 1);
    }
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* A:apply(f): A[i][j] = f(A[i][j], i, j) for every element; returns A */
int mat_apply(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  int i, j;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  for (i = 0; i < m->rows; i++)
    for (j = 0; j < m->cols; j++) {
      float *x = m->data + (size_t)i * m->cols + j;
      int isnum;
      lua_Number v;
      lua_pushvalue(L, 2);
      lua_pushnumber(L, *x);
      lua_pushinteger(L, i + 1);
      lua_pushinteger(L, j + 1);
      lua_call(L, 3, 1);
      v = lua_tonumberx(L, -1, &isnum);
      if (!isnum)
        return luaL_error(L, "Matrix:apply: the function returned %s at "
                          "[%d][%d], expected a number",
                          luaL_typename(L, -1), i + 1, j + 1);
      *x = (float)v;
      lua_pop(L, 1);
    }
  lua_settop(L, 1);
  return 1;
}

/* ---- printing --------------------------------------------------------- */

#define SHOW_ROWS 10     /* more than this: the first 5 and last 4 */
#define SHOW_COLS 10     /* more than this: the first 5 and last 4 */

static void addrow(luaL_Buffer *b, const Matrix *m, int i) {
  char s[32];
  int j;
  for (j = 0; j < m->cols; j++) {
    if (m->cols > SHOW_COLS && j == 5) {
      luaL_addstring(b, "        ...");
      j = m->cols - 5;
      continue;
    }
    float v = m->data[(size_t)i * m->cols + j];
    if (isnan(v)) snprintf(s, sizeof s, " %10s", "nan");     /* not -nan */
    else snprintf(s, sizeof s, " %10.4g", (double)v);
    luaL_addstring(b, s);
  }
  luaL_addchar(b, '\n');
}

int mat_tostring(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  luaL_Buffer b;
  char head[64];
  int i;
  luaL_buffinit(L, &b);
  snprintf(head, sizeof head, "nn.Matrix %dx%d\n", m->rows, m->cols);
  luaL_addstring(&b, head);
  for (i = 0; i < m->rows; i++) {
    if (m->rows > SHOW_ROWS && i == 5) {
      snprintf(head, sizeof head, "  ... (%d more rows)\n", m->rows - 9);
      luaL_addstring(&b, head);
      i = m->rows - 5;
      continue;
    }
    addrow(&b, m, i);
  }
  luaL_pushresult(&b);
  {                                    /* drop the last newline */
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    lua_pushlstring(L, s, len - 1);
  }
  return 1;
}

/* A.name: the class's methods.  A[i] is an error that says what to write
** instead (Torch7's A[i] is a row; here rows are A:row(i)), not a silent
** nil that fails later as "attempt to index a nil value". */
int mat_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  if (lua_type(L, 2) == LUA_TNUMBER)
    return luaL_error(L, "nn.Matrix: A[%s] is not an element or a row; use "
                      "A:row(i) for a row (a view), A:get(i, j) for an "
                      "element", luaL_tolstring(L, 2, NULL));
  return 0;
}
