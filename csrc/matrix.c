/*
** matrix.c: the nn.Matrix userdata: allocation, views, the argument checks
** every binding file uses, constructors, element access, printing.
** Arithmetic is in matrix_ops.c, elementwise functions in matrix_math.c,
** conversions from and to bytes in typed.c; matrix_class.c registers the
** class's methods, all of them.
*/
#if defined(__linux__)
#define _DEFAULT_SOURCE            /* madvise, MADV_HUGEPAGE */
#include <sys/mman.h>
#endif
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "matrix.h"

/* ---- allocation and views --------------------------------------------- */

static float *align_up(void *p) {
  uintptr_t u = (uintptr_t)p;
  u = (u + NN_ALIGN - 1) & ~(uintptr_t)(NN_ALIGN - 1);
  return (float *)u;
}

static int newud(lua_State *L) {
  lua_newuserdatauv(L, (size_t)lua_tointeger(L, 1), 1);
  return 1;
}

/* Pushes a block of n elements of size bytes each, made in protected mode:
** a refusal says who asked, what for and how much ("Conv2d:forward: scratch
** of 1600040000 floats (6103 MB) refused: not enough memory"), where Lua
** would say only "not enough memory". */
static int newblock(lua_State *L) {
  lua_newuserdatauv(L, *(const size_t *)lua_touserdata(L, 1), 0);
  return 1;
}

void *nn_newblock(lua_State *L, size_t n, size_t size, const char *fn,
                  const char *what, const char *unit) {
  size_t bytes = n * size;
  const char *why;
  if (n > NNC_MAXUDATA / size) {
    why = *NNC_UDATALIMIT ? NNC_UDATALIMIT : "too large";
  } else {
    if (bytes == 0) bytes = 1;
    lua_pushcfunction(L, newblock);
    lua_pushlightuserdata(L, &bytes);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK) return lua_touserdata(L, -1);
    why = lua_tostring(L, -1);
  }
  luaL_error(L, "%s: %s of %I %s (%I MB) refused: %s", fn, what,
             (lua_Integer)n, unit, (lua_Integer)((double)n * size / 1048576),
             why ? why : "an error object that is not a string");
  return NULL;
}

int nn_protect(lua_State *L, lua_CFunction body, int nargs, size_t bytes,
               const char *fn, const char *what) {
  int base = lua_gettop(L) - nargs, status;
  lua_pushcfunction(L, body);
  lua_insert(L, base + 1);
  status = lua_pcall(L, nargs, LUA_MULTRET, 0);
  if (status == LUA_OK) return lua_gettop(L) - base;
  if (status != LUA_ERRMEM) return lua_error(L);
  if (bytes == 0)
    return luaL_error(L, "%s: %s refused: not enough memory", fn, what);
  return luaL_error(L, "%s: %s of %I bytes (%I MB) refused: not enough memory",
                    fn, what, (lua_Integer)bytes,
                    (lua_Integer)((double)bytes / 1048576));
}

/* Asks for transparent huge pages on the 2 MB-aligned interior of a large
** block before anything touches it: one page fault per 2 MB instead of one
** per 4 KB.  A hint; it changes nothing where unsupported. */
static void hugepages(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)1 << 21;
  uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);
  if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
  (void)p; (void)n;
#endif
}

/* Pushes a matrix with uninitialised elements.  Large requests allocate in
** protected mode so that a failure says what was asked for. */
Matrix *nn_newmatrix(lua_State *L, int rows, int cols) {
  size_t n = (size_t)rows * (size_t)cols;
  size_t bytes = sizeof(Matrix) + NN_ALIGN + n * sizeof(float);
  Matrix *m;
  if (bytes > NNC_MAXUDATA)
    luaL_error(L, "nn.Matrix: cannot allocate a %d x %d matrix (%I MB): %s",
               rows, cols, (lua_Integer)(bytes >> 20), NNC_UDATALIMIT);
  if (bytes > ((size_t)1 << 20)) {
    lua_pushcfunction(L, newud);
    lua_pushinteger(L, (lua_Integer)bytes);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
      luaL_error(L, "nn.Matrix: cannot allocate a %d x %d matrix (%I MB): %s",
                 rows, cols, (lua_Integer)(bytes >> 20), lua_tostring(L, -1));
    m = (Matrix *)lua_touserdata(L, -1);
    hugepages(m, bytes);
  } else {
    m = (Matrix *)lua_newuserdatauv(L, bytes, 1);
  }
  m->tag = NN_TAG_MATRIX;
  m->data = align_up(m + 1);
  m->rows = rows;
  m->cols = cols;
  luaL_setmetatable(L, NN_MATRIX);
  return m;
}

Matrix *nn_newzeros(lua_State *L, int rows, int cols) {
  Matrix *m = nn_newmatrix(L, rows, cols);
  memset(m->data, 0, nn_numel(m) * sizeof(float));
  return m;
}

/* Pushes a view of `rows` x `cols` elements at `data`, which lies inside the
** memory kept alive by the value at `parent`.  A view of a view holds the
** root, so chains stay one link long. */
Matrix *nn_view(lua_State *L, int parent, float *data, int rows, int cols) {
  Matrix *v;
  parent = lua_absindex(L, parent);
  v = (Matrix *)lua_newuserdatauv(L, sizeof(Matrix), 1);
  v->tag = NN_TAG_MATRIX;
  v->data = data;
  v->rows = rows;
  v->cols = cols;
  luaL_setmetatable(L, NN_MATRIX);
  if (nn_tomatrix(L, parent) &&
      lua_getiuservalue(L, parent, 1) != LUA_TNIL) {
    lua_setiuservalue(L, -2, 1);           /* parent is a view: its root */
  } else {
    if (nn_tomatrix(L, parent)) lua_pop(L, 1);
    lua_pushvalue(L, parent);
    lua_setiuservalue(L, -2, 1);
  }
  return v;
}

void *nn_testudata(lua_State *L, int arg, const char *tname, unsigned tag,
                   size_t size) {
  unsigned *p = (unsigned *)luaL_testudata(L, arg, tname);
  if (p && (lua_rawlen(L, arg) < size || *p != tag)) return NULL;
  return p;
}

/* As luaL_checkudata, but the message names what the value really is: a
** table that carries the Matrix metatable is a "table", not an
** "nn.Matrix" (luaL_typeerror reads __name, whoever holds it). */
void *nn_checkudata(lua_State *L, int arg, const char *tname, unsigned tag,
                    size_t size) {
  void *p = nn_testudata(L, arg, tname, tag, size);
  const char *got;
  if (p) return p;
  if (lua_type(L, arg) == LUA_TUSERDATA &&
      luaL_getmetafield(L, arg, "__name") == LUA_TSTRING) {
    got = lua_tostring(L, -1);
    if (strcmp(got, tname) == 0) got = "a userdata of another type";
  } else {
    got = luaL_typename(L, arg);
  }
  /* a layer's or a loss's first argument is always self: m.forward(x) is
  ** the dot-for-a-colon slip */
  if (arg == 1 && tag != NN_TAG_MATRIX)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s expected, got %s: call it "
                                          "with a colon, m:method(...)", tname,
                                          got));
  luaL_argerror(L, arg, lua_pushfstring(L, "%s expected, got %s", tname, got));
  return NULL;
}

Matrix *nn_checkmatrix(lua_State *L, int arg) {
  return (Matrix *)nn_checkudata(L, arg, NN_MATRIX, NN_TAG_MATRIX,
                                 sizeof(Matrix));
}

Matrix *nn_tomatrix(lua_State *L, int arg) {
  return (Matrix *)nn_testudata(L, arg, NN_MATRIX, NN_TAG_MATRIX,
                                sizeof(Matrix));
}

int nn_overlaps(const Matrix *a, const Matrix *b) {
  return a->data < b->data + nn_numel(b) && b->data < a->data + nn_numel(a);
}

/* Pushes the matrix kept in user value `slot` of the userdata at `owner`,
** made anew if it is missing or of another shape.  Layers keep their
** outputs this way, so a steady loop allocates nothing. */
Matrix *nn_buffer(lua_State *L, int owner, int slot, int rows, int cols) {
  Matrix *m;
  owner = lua_absindex(L, owner);
  lua_getiuservalue(L, owner, slot);
  m = nn_tomatrix(L, -1);
  if (m && m->rows == rows && m->cols == cols) return m;
  lua_pop(L, 1);
  m = nn_newmatrix(L, rows, cols);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, owner, slot);
  return m;
}

/* ---- argument checks --------------------------------------------------- */

static const char *describe(lua_State *L, int arg) {
  if (lua_type(L, arg) == LUA_TNUMBER) return lua_pushfstring(L, "%s",
                                                 luaL_tolstring(L, arg, NULL));
  return luaL_typename(L, arg);
}

/* A size: an integer from 1 to NN_MAXELEMS. */
int nn_checkdim(lua_State *L, int arg, const char *fn, const char *what) {
  int isint;
  lua_Integer v = lua_tointegerx(L, arg, &isint);
  if (!isint)
    luaL_error(L, "%s: %s must be a positive integer, got %s", fn, what,
               describe(L, arg));
  if (v < 1 || v > NN_MAXELEMS)
    luaL_error(L, "%s: %s must be from 1 to %d, got %I", fn, what,
               (int)NN_MAXELEMS, v);
  return (int)v;
}

/* A reduction's dim argument: 1 (down the rows) or 2 (along each row). */
int nn_checkdimarg(lua_State *L, int arg, const char *fn) {
  lua_Integer d = luaL_checkinteger(L, arg);
  if (d != 1 && d != 2)
    luaL_error(L, "%s: dim must be 1 (down the rows) or 2 (along each "
               "row), got %I", fn, d);
  return (int)d;
}

void nn_checkcount(lua_State *L, const char *fn, lua_Integer rows,
                   lua_Integer cols) {
  if (rows > NN_MAXELEMS / cols)
    luaL_error(L, "%s: %I x %I is too large (at most %d elements)", fn, rows,
               cols, (int)NN_MAXELEMS);
}

/* An index from 1 to n, for `what` (e.g. "row"). */
static int checkindex(lua_State *L, int arg, int n, const char *fn,
                      const char *what) {
  int isint;
  lua_Integer v = lua_tointegerx(L, arg, &isint);
  if (!isint)
    luaL_error(L, "%s: %s index must be an integer, got %s", fn, what,
               describe(L, arg));
  if (v < 1 || v > n)
    luaL_error(L, "%s: %s %I out of range 1..%d", fn, what, v, n);
  return (int)v;
}

int nn_isfloat32(double v) {
  double a = fabs(v);
  return v == 0 || !isfinite(v) || (a >= FLT_MIN && a <= FLT_MAX);
}

float nn_checkfloat(lua_State *L, int arg, const char *fn, const char *what) {
  int isnum;
  lua_Number x = lua_tonumberx(L, arg, &isnum);
  if (!isnum)
    luaL_error(L, "%s: %s must be a number, got %s", fn, what,
               luaL_typename(L, arg));
  if (isfinite(x) && fabs(x) > FLT_MAX)
    luaL_error(L, "%s: %s is %f, outside float32's range (largest %f)", fn,
               what, (double)x, (double)FLT_MAX);
  return (float)x;
}


/* ---- option tables ---------------------------------------------------- */

/* "a, b or c" of a NULL-terminated list, each quoted if quote, into buf */
static const char *joinnames(char *buf, size_t size, const char *const *names,
                             int quote, const char *last) {
  size_t len = 0;
  int i;
  buf[0] = '\0';
  for (i = 0; names[i] && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s%s%s",
                            i == 0 ? "" : names[i + 1] ? ", " : last,
                            quote ? "\"" : "", names[i], quote ? "\"" : "");
  return buf;
}

void nn_options(lua_State *L, int idx, const char *fn,
                const char *const names[], nn_Option set, void *ud) {
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int i = 0;
    if (lua_type(L, -2) == LUA_TSTRING)   /* a whole name, nothing less */
      while (names[i] && strcmp(lua_tostring(L, -2), names[i]) != 0) i++;
    if (lua_type(L, -2) != LUA_TSTRING || !names[i]) {
      char list[256];
      luaL_error(L, "%s: unknown option '%s' (expected %s)", fn,
                 luaL_tolstring(L, -2, NULL),
                 joinnames(list, sizeof list, names, 0, ", "));
    }
    set(L, ud, fn, names[i]);
    lua_pop(L, 1);
  }
}

int nn_optboolean(lua_State *L, int idx, const char *fn, const char *name) {
  if (!lua_isboolean(L, idx))
    luaL_error(L, "%s: option %s must be a boolean", fn, name);
  return lua_toboolean(L, idx);
}

int nn_optchoice(lua_State *L, int idx, const char *fn, const char *name,
                 const char *const list[]) {
  char s[256];
  const char *v = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "";
  int i;
  for (i = 0; list[i]; i++)
    if (strcmp(v, list[i]) == 0) return i;
  return luaL_error(L, "%s: option %s must be %s", fn, name,
                    joinnames(s, sizeof s, list, 1, " or "));
}

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
    return (size_t)checkindex(L, 2, (int)nn_numel(m), fn, "element") - 1;
  }
  {
    int i = checkindex(L, 2, m->rows, fn, "row");
    int j = checkindex(L, 3, m->cols, fn, "column");
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
  int i = checkindex(L, 2, m->rows, "Matrix:row", "row");
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
  first = checkindex(L, 2, m->rows, "Matrix:narrow", "first row");
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

int mat_fill(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  k_fill(m->data, nn_numel(m), nn_checkfloat(L, 2, "Matrix:fill", "value"));
  lua_settop(L, 1);
  return 1;
}

int mat_zero(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  k_fill(m->data, nn_numel(m), 0);
  lua_settop(L, 1);
  return 1;
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
