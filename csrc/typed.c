/*
** typed.c: matrices to and from bytes: Matrix.fromdata (numbers stored in
** other types: nn.npy and nn.safetensors read through it), frombytes,
** fromfloats, tobytes and quantize, and doubles to and from 8 bytes
** (packdouble, unpackdouble).  Kernels in k_typed.c.
*/
#include <math.h>
#include <string.h>

#include "matrix.h"

/* a type in NumPy's notation: a byte order ('<' little, '>' big, '|' or
** '=' this machine's, which for one byte does not matter), a kind ('f'
** float, 'i' signed, 'u' unsigned, 'b' bfloat16: lua-nn's own, for
** safetensors) and a width in bytes; 0 if it is not one we read */
static int parsetype(const char *t, int *kind, int *w, int *big) {
  const uint32_t one = 1;
  int native = *(const unsigned char *)&one == 0;
  if (strlen(t) != 3 || !strchr("<>|=", t[0]) || !strchr("1248", t[2]))
    return 0;
  *big = t[0] == '>' || ((t[0] == '=' || t[0] == '|') && native);
  *w = t[2] - '0';
  switch (t[1]) {
  case 'f': *kind = K_FLOAT; return *w >= 2;
  case 'b': *kind = K_BFLOAT; return *w == 2;
  case 'i': *kind = K_INT; return 1;
  case 'u': *kind = K_UINT; return 1;
  default: return 0;
  }
}

/* Matrix.fromdata(s, rows, cols, offset, type) -> rows*cols elements of
** type (e.g. "<f4", ">f8", "|u1", "<i8", "<f2", "<b2") from byte offset
** (0-based) of s, as float32 */
int mat_fromdata(lua_State *L) {
  size_t len, need;
  const char *s = luaL_checklstring(L, 1, &len);
  int risint, cisint, offisint, r, c;
  lua_Integer rows = lua_tointegerx(L, 2, &risint);
  lua_Integer cols = lua_tointegerx(L, 3, &cisint);
  lua_Integer off = lua_tointegerx(L, 4, &offisint);
  const char *type = luaL_checkstring(L, 5);
  int kind, w, big;
  Matrix *m;
  /* the shape's size before either side's range: 2 x 2^62 is too large */
  if (risint && cisint && rows >= 1 && cols >= 1)
    nn_checkcount(L, "Matrix.fromdata", rows, cols);
  r = nn_checkdim(L, 2, "Matrix.fromdata", "rows");
  c = nn_checkdim(L, 3, "Matrix.fromdata", "cols");
  if (!offisint)
    return luaL_error(L, "Matrix.fromdata: offset must be an integer, got %s",
                      lua_type(L, 4) == LUA_TNUMBER ? luaL_tolstring(L, 4, NULL)
                                                    : luaL_typename(L, 4));
  if (!parsetype(type, &kind, &w, &big))
    return luaL_error(L, "Matrix.fromdata: type '%s' is not one of <f2 <f4 "
                      "<f8 <b2 <i1..<i8 <u1..<u8 (or with >, | or =)", type);
  if ((size_t)r * (size_t)c > (size_t)-1 / (size_t)w)      /* 32-bit size_t */
    return luaL_error(L, "Matrix.fromdata: a %d x %d matrix of %d-byte "
                      "elements is too large", r, c, w);
  need = (size_t)r * (size_t)c * (size_t)w;
  if (off < 0 || (size_t)off > len || len - (size_t)off < need)
    return luaL_error(L, "Matrix.fromdata: need %I bytes at offset %I, the "
                      "string has %I", (lua_Integer)need, off,
                      (lua_Integer)len);
  m = nn_newmatrix(L, r, c);
  k_fromtyped(m->data, (const unsigned char *)s + off, nn_numel(m), kind, w,
              big);
  return 1;
}

/* Matrix.frombytes(s, rows, cols [, offset [, scale]]): unsigned bytes of
** s, from byte offset (0-based), times scale (default 1), into a matrix. */
int mat_frombytes(lua_State *L) {
  size_t len, need;
  const char *s = luaL_checklstring(L, 1, &len);
  int r = nn_checkdim(L, 2, "Matrix.frombytes", "rows");
  int c = nn_checkdim(L, 3, "Matrix.frombytes", "cols");
  lua_Integer off = luaL_optinteger(L, 4, 0);
  float scale = lua_isnoneornil(L, 5) ? 1.0f
                : nn_checkfloat(L, 5, "Matrix.frombytes", "scale");
  Matrix *m;
  nn_checkcount(L, "Matrix.frombytes", r, c);
  if (off < 0 || (size_t)off > len)
    return luaL_error(L, "Matrix.frombytes: offset %I outside the string's "
                      "%I bytes", off, (lua_Integer)len);
  need = (size_t)r * (size_t)c;
  if (len - (size_t)off < need)
    return luaL_error(L, "Matrix.frombytes: string has %I bytes after offset "
                      "%I, need %I for %d x %d", (lua_Integer)(len - off),
                      off, (lua_Integer)need, r, c);
  m = nn_newmatrix(L, r, c);
  k_frombytes(m->data, (const unsigned char *)s + off, need, scale);
  return 1;
}

/* ---- raw float32 bytes, for model files ----------------------------------- */

static int bigendian(void) {
  const uint32_t one = 1;
  return *(const unsigned char *)&one == 0;
}

/* A:tobytes() -> the elements as little-endian float32, row-major */
static int tobytes(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  size_t n = nn_numel(m), i;
  luaL_Buffer b;
  unsigned char *p = (unsigned char *)luaL_buffinitsize(L, &b, n * 4);
  memcpy(p, m->data, n * 4);
  if (bigendian())
    for (i = 0; i < n * 4; i += 4) {
      unsigned char t = p[i];
      p[i] = p[i + 3]; p[i + 3] = t;
      t = p[i + 1]; p[i + 1] = p[i + 2]; p[i + 2] = t;
    }
  luaL_pushresultsize(&b, n * 4);
  return 1;
}

int mat_tobytes(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  return nn_protect(L, tobytes, lua_gettop(L), nn_numel(m) * 4,
                    "Matrix:tobytes", "a string");
}

/* A:quantize(lo, hi) -> one byte per element, row-major: lo maps to 0,
** hi to 255, values outside are clamped and NaN is 0 (8-bit pixels) */
static int quantize(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  float lo = nn_checkfloat(L, 2, "Matrix:quantize", "lo");
  float hi = nn_checkfloat(L, 3, "Matrix:quantize", "hi");
  size_t n = nn_numel(m);
  luaL_Buffer b;
  if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
    return luaL_error(L, "Matrix:quantize: need finite lo < hi, got %f and %f",
                      (lua_Number)lo, (lua_Number)hi);
  k_tobytes8((unsigned char *)luaL_buffinitsize(L, &b, n), m->data, n,
             (float)lo, (float)hi);
  luaL_pushresultsize(&b, n);
  return 1;
}

int mat_quantize(lua_State *L) {
  Matrix *m = nn_checkmatrix(L, 1);
  return nn_protect(L, quantize, lua_gettop(L), nn_numel(m),
                    "Matrix:quantize", "a string");
}

/* Matrix.fromfloats(s, rows, cols [, offset]): rows*cols little-endian
** float32 from byte offset (0-based) of s */
int mat_fromfloats(lua_State *L) {
  size_t len, need, i;
  const char *s = luaL_checklstring(L, 1, &len);
  int r = nn_checkdim(L, 2, "Matrix.fromfloats", "rows");
  int c = nn_checkdim(L, 3, "Matrix.fromfloats", "cols");
  lua_Integer off = luaL_optinteger(L, 4, 0);
  Matrix *m;
  nn_checkcount(L, "Matrix.fromfloats", r, c);
  need = (size_t)r * (size_t)c * 4;
  if (off < 0 || (size_t)off > len || len - (size_t)off < need)
    return luaL_error(L, "Matrix.fromfloats: need %I bytes at offset %I, the "
                      "string has %I", (lua_Integer)need, off,
                      (lua_Integer)len);
  m = nn_newmatrix(L, r, c);
  memcpy(m->data, s + off, need);
  if (bigendian()) {
    unsigned char *p = (unsigned char *)m->data;
    for (i = 0; i < need; i += 4) {
      unsigned char t = p[i];
      p[i] = p[i + 3]; p[i + 3] = t;
      t = p[i + 1]; p[i + 1] = p[i + 2]; p[i + 2] = t;
    }
  }
  return 1;
}

/* nn.core.packdouble(x) -> x as 8 bytes, an IEEE 754 double, little-endian;
** nn.core.unpackdouble(s [, pos]) -> the double at pos (1-based) of s.
** string.pack("<d") for the Luas that have no string.pack (nn.compat). */
/* b[0..8) in little-endian order, from or to this machine's */
static void littleendian8(unsigned char *b) {
  int i;
  if (bigendian())
    for (i = 0; i < 4; i++) { unsigned char t = b[i]; b[i] = b[7 - i]; b[7 - i] = t; }
}

static int lib_packdouble(lua_State *L) {
  double x = (double)luaL_checknumber(L, 1);
  unsigned char b[8];
  memcpy(b, &x, 8);
  littleendian8(b);
  lua_pushlstring(L, (const char *)b, 8);
  return 1;
}

static int lib_unpackdouble(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer pos = luaL_optinteger(L, 2, 1);
  unsigned char b[8];
  double x;
  if (pos < 1 || (size_t)pos > len || len - (size_t)(pos - 1) < 8)
    return luaL_error(L, "unpackdouble: data string too short");
  memcpy(b, s + pos - 1, 8);
  littleendian8(b);
  memcpy(&x, b, 8);
  lua_pushnumber(L, (lua_Number)x);
  return 1;
}

static const luaL_Reg lib[] = {
  {"packdouble", lib_packdouble}, {"unpackdouble", lib_unpackdouble},
  {NULL, NULL}
};

/* packdouble and unpackdouble into the table on top (the Matrix
** functions are registered in matrix_class.c) */
void nn_typed_open(lua_State *L) {
  luaL_setfuncs(L, lib, 0);
}
