/*
** typed.c: Matrix.fromdata, matrices from numbers stored in other types
** (nn.npy and nn.safetensors read through it).  Kernel in k_typed.c.
*/
#include <string.h>

#include "nn.h"

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
static int t_fromdata(lua_State *L) {
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

void nn_typed_open(lua_State *L) {
  lua_getfield(L, -1, "Matrix");
  lua_pushcfunction(L, t_fromdata);
  lua_setfield(L, -2, "fromdata");
  lua_pop(L, 1);
}
