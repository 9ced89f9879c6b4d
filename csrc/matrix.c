/*
** matrix.c: the nn.Matrix userdata and what every binding file uses on
** it: allocation (nn_newmatrix, and nn_newblock and nn_protect for any
** block whose size a user chooses), views, buffers, the type and argument
** checks, and the one reader of option tables.  The class's methods live
** in the files matrix.h names: making, access and printing in
** matrix_basic.c, arithmetic in matrix_ops.c, elementwise functions in
** matrix_math.c, conversions from and to bytes in typed.c; matrix_class.c
** registers them all.
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
int nn_checkindex(lua_State *L, int arg, int n, const char *fn,
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
