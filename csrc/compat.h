/*
** compat.h: the one place where Lua versions differ.  nn.core is written
** against the Lua 5.4 C API; this header gives Lua 5.1, 5.2, 5.3 and
** LuaJIT 2.1 the parts of it nn.core uses, with 5.4's meaning, so that no
** other file has a version test.
**
** Hand-written rather than Debian's lua-compat53-dev: that one stops at 5.3
** (no user values by index, no luaL_pushfail, no %I in lua_pushfstring on
** 5.1/5.2), it would be one more build dependency for the rock on every
** other system, and nn.core needs about twenty functions of it.
**
** What no shim can make equal (README, "Every Lua"):
** - 5.1, 5.2 and LuaJIT have no integer subtype: an integral float (3.0)
**   counts as the integer 3 where 5.3 and 5.4 refuse it.
** - Before 5.4 a userdata has one user value; ours hold a table of them,
**   so `debug.getuservalue` (5.1: `debug.getfenv`) shows a table there.
** - 5.1's and LuaJIT's luaL_len is the raw length (no __len).
**
** Every shim is a static function named nnc_* and the 5.4 name is a macro
** for it, so a header that already declares the name (LuaJIT has some of
** 5.2's) does not clash.
*/
#ifndef NN_COMPAT_H
#define NN_COMPAT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"         /* LUA_FILEHANDLE, before 5.2 */

#if LUA_VERSION_NUM < 504

/* ---- 5.1 and LuaJIT: what 5.2 added ---- */
#if LUA_VERSION_NUM == 501

#ifndef LUA_OK
#define LUA_OK 0
#endif

#define lua_absindex nnc_absindex
static inline int nnc_absindex(lua_State *L, int i) {
  return (i > 0 || i <= LUA_REGISTRYINDEX) ? i : lua_gettop(L) + i + 1;
}

/* 5.2's checks that the core and the interpreter agree; 5.1 has none */
#define luaL_checkversion(L) ((void)(L))

#define lua_rawlen(L, i) lua_objlen(L, i)
#define lua_pushstring(L, s) (lua_pushstring(L, s), lua_tostring(L, -1))
#define luaL_len(L, i) ((lua_Integer)lua_objlen(L, i))

#define lua_tonumberx nnc_tonumberx
static inline lua_Number nnc_tonumberx(lua_State *L, int i, int *isnum) {
  lua_Number n = lua_tonumber(L, i);
  if (isnum) *isnum = n != 0 || lua_isnumber(L, i);
  return n;
}

#define luaL_setfuncs nnc_setfuncs
static inline void nnc_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  int i;
  for (; l->name; l++) {
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

#undef luaL_newlib
#define luaL_newlib(L, l) (lua_newtable(L), luaL_setfuncs(L, l, 0))

#define luaL_testudata nnc_testudata
static inline void *nnc_testudata(lua_State *L, int i, const char *tname) {
  void *p = lua_touserdata(L, i);
  int same;
  if (!p || !lua_getmetatable(L, i)) return NULL;
  luaL_getmetatable(L, tname);
  same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? p : NULL;
}

#define luaL_setmetatable(L, t) (luaL_getmetatable(L, t), lua_setmetatable(L, -2))

#define lua_rawsetp nnc_rawsetp
static inline void nnc_rawsetp(lua_State *L, int t, const void *p) {
  t = lua_absindex(L, t);
  lua_pushlightuserdata(L, (void *)p);
  lua_insert(L, -2);
  lua_rawset(L, t);
}

#define luaL_tolstring nnc_tolstring
static inline const char *nnc_tolstring(lua_State *L, int i, size_t *len) {
  if (luaL_callmeta(L, i, "__tostring")) {
    if (!lua_isstring(L, -1)) luaL_error(L, "'__tostring' must return a string");
  } else {
    switch (lua_type(L, i)) {
    case LUA_TNUMBER: case LUA_TSTRING: lua_pushvalue(L, i); break;
    case LUA_TBOOLEAN:
      lua_pushstring(L, lua_toboolean(L, i) ? "true" : "false"); break;
    case LUA_TNIL: lua_pushliteral(L, "nil"); break;
    default:
      lua_pushfstring(L, "%s: %p", luaL_typename(L, i), lua_topointer(L, i));
    }
  }
  return lua_tolstring(L, -1, len);
}

/* A buffer of a known size: 5.1's luaL_Buffer cannot hand one out, so the
** bytes live in a scratch userdata on the stack top until the result is
** pushed (every caller pushes it with nothing else pushed in between). */
#define luaL_buffinitsize nnc_buffinitsize
static inline char *nnc_buffinitsize(lua_State *L, luaL_Buffer *b, size_t n) {
  b->L = L;
  b->p = (char *)lua_newuserdata(L, n ? n : 1);
  return b->p;
}

#define luaL_pushresultsize nnc_pushresultsize
static inline void nnc_pushresultsize(luaL_Buffer *b, size_t n) {
  lua_pushlstring(b->L, b->p, n);
  lua_remove(b->L, -2);
}

/* 5.1's buffer grows by LUAL_BUFFERSIZE; callers ask for at most that */
#define NNC_PREPMAX ((size_t)LUAL_BUFFERSIZE)
#define luaL_prepbuffsize(b, n) ((void)(n), luaL_prepbuffer(b))

#define nnc_getuvtable(L, i) lua_getfenv(L, i)
#define nnc_setuvtable(L, i) lua_setfenv(L, i)

#else  /* 5.2 and 5.3 */

#define nnc_getuvtable(L, i) lua_getuservalue(L, i)
#define nnc_setuvtable(L, i) lua_setuservalue(L, i)

#endif /* LUA_VERSION_NUM == 501 */

#ifndef NNC_PREPMAX
#define NNC_PREPMAX ((size_t)-1)
#endif

/* ---- 5.1, 5.2 and LuaJIT: what 5.3 added ---- */
#if LUA_VERSION_NUM < 503

#ifndef LUA_MAXINTEGER
#define LUA_MAXINTEGER PTRDIFF_MAX
#define LUA_MININTEGER PTRDIFF_MIN
#endif

/* the 5.3 getters that return the type they pushed */
#define lua_rawget(L, i) (lua_rawget(L, i), lua_type(L, -1))
#define lua_rawgeti(L, i, n) (lua_rawgeti(L, i, n), lua_type(L, -1))
#define lua_getfield(L, i, k) (lua_getfield(L, i, k), lua_type(L, -1))

#define lua_geti nnc_geti
static inline int nnc_geti(lua_State *L, int t, lua_Integer i) {
  t = lua_absindex(L, t);
  lua_pushinteger(L, i);
  lua_gettable(L, t);
  return lua_type(L, -1);
}

#define lua_rawgetp nnc_rawgetp
static inline int nnc_rawgetp(lua_State *L, int t, const void *p) {
  t = lua_absindex(L, t);
  lua_pushlightuserdata(L, (void *)p);
  lua_rawget(L, t);
  return lua_type(L, -1);
}

#define luaL_getmetafield nnc_getmetafield
static inline int nnc_getmetafield(lua_State *L, int i, const char *k) {
  if (!lua_getmetatable(L, i)) return LUA_TNIL;
  lua_pushstring(L, k);
  lua_rawget(L, -2);
  if (lua_isnil(L, -1)) { lua_pop(L, 2); return LUA_TNIL; }
  lua_remove(L, -2);
  return lua_type(L, -1);
}

/* Integers as 5.3 sees them: a number with an exact integer value (no
** subtype to tell 3 from 3.0 here); a string converts as lua_tonumber does. */
#define lua_tointegerx nnc_tointegerx
static inline lua_Integer nnc_tointegerx(lua_State *L, int i, int *isint) {
  int ok = 0;
  lua_Number n = lua_tonumberx(L, i, &ok);
  ok = ok && n == floor(n) && n >= -9223372036854775808.0 &&
       n < 9223372036854775808.0 && n >= (lua_Number)LUA_MININTEGER &&
       n <= (lua_Number)LUA_MAXINTEGER;
  if (isint) *isint = ok;
  return ok ? (lua_Integer)n : 0;
}

#define lua_isinteger(L, i) \
  (lua_type(L, i) == LUA_TNUMBER && nnc_isintnum(lua_tonumber(L, i)))
static inline int nnc_isintnum(lua_Number n) {
  return n == floor(n) && fabs(n) < 9223372036854775808.0;
}

#define luaL_checkinteger nnc_checkinteger
static inline lua_Integer nnc_checkinteger(lua_State *L, int i) {
  int ok;
  lua_Integer v = lua_tointegerx(L, i, &ok);
  if (!ok) {
    if (lua_isnumber(L, i))
      luaL_argerror(L, i, "number has no integer representation");
    else
      luaL_argerror(L, i, lua_pushfstring(L, "number expected, got %s",
                                          luaL_typename(L, i)));
  }
  return v;
}

#define luaL_optinteger(L, i, d) \
  (lua_isnoneornil(L, i) ? (lua_Integer)(d) : luaL_checkinteger(L, i))

static inline int nnc_newmetatable(lua_State *L, const char *tname) {
  if (!luaL_newmetatable(L, tname)) return 0;
  lua_pushstring(L, tname);
  lua_setfield(L, -2, "__name");
  return 1;
}
#define luaL_newmetatable nnc_newmetatable

/* lua_pushfstring and luaL_error as 5.4 has them: %I (a lua_Integer), %f
** written as 5.4 writes a float (3.0, not 3), %d, %s, %c, %p and %%. */
static inline const char *nnc_pushvfstring(lua_State *L, const char *fmt, va_list ap) {
  luaL_Buffer b;
  char s[64];
  const char *e;
  luaL_buffinit(L, &b);
  while ((e = strchr(fmt, '%')) != NULL) {
    luaL_addlstring(&b, fmt, (size_t)(e - fmt));
    switch (e[1]) {
    case 's': {
      const char *a = va_arg(ap, const char *);
      luaL_addstring(&b, a ? a : "(null)");
      break;
    }
    case 'd': snprintf(s, sizeof s, "%d", va_arg(ap, int)); luaL_addstring(&b, s); break;
    case 'I':
      snprintf(s, sizeof s, "%lld", (long long)va_arg(ap, lua_Integer));
      luaL_addstring(&b, s);
      break;
    case 'c': luaL_addchar(&b, (char)va_arg(ap, int)); break;
    case 'p': snprintf(s, sizeof s, "%p", va_arg(ap, void *)); luaL_addstring(&b, s); break;
    case 'f':
      snprintf(s, sizeof s, "%.14g", (double)va_arg(ap, lua_Number));
      if (s[strspn(s, "-0123456789")] == '\0') strcat(s, ".0");
      luaL_addstring(&b, s);
      break;
    case '%': luaL_addchar(&b, '%'); break;
    default: luaL_addlstring(&b, e, 2); break;
    }
    fmt = e + 2;
  }
  luaL_addstring(&b, fmt);
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

#define lua_pushfstring nnc_pushfstring
static inline const char *nnc_pushfstring(lua_State *L, const char *fmt, ...) {
  const char *s;
  va_list ap;
  va_start(ap, fmt);
  s = nnc_pushvfstring(L, fmt, ap);
  va_end(ap);
  return s;
}

#define luaL_error nnc_error
static inline int nnc_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  luaL_where(L, 1);
  va_start(ap, fmt);
  nnc_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 2);
  return lua_error(L);
}

#endif /* LUA_VERSION_NUM < 503 */

/* ---- 5.1 to 5.3: what 5.4 added ---- */
#define luaL_pushfail(L) lua_pushnil(L)

/* n user values by index, kept in a table that is the userdata's one
** user value (5.1: its environment) */
#define lua_newuserdatauv nnc_newuserdatauv
static inline void *nnc_newuserdatauv(lua_State *L, size_t size, int nuv) {
  void *p = lua_newuserdata(L, size);
  if (nuv > 0) {
    lua_createtable(L, nuv, 0);
    nnc_setuvtable(L, -2);
  }
  return p;
}

#define lua_getiuservalue nnc_getiuservalue
static inline int nnc_getiuservalue(lua_State *L, int i, int n) {
  nnc_getuvtable(L, i);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return LUA_TNONE;
  }
  lua_rawgeti(L, -1, n);
  lua_remove(L, -2);
  return lua_type(L, -1);
}

#define lua_setiuservalue nnc_setiuservalue
static inline int nnc_setiuservalue(lua_State *L, int i, int n) {
  i = lua_absindex(L, i);
  nnc_getuvtable(L, i);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 2);
    return 0;
  }
  lua_insert(L, -2);
  lua_rawseti(L, -2, n);
  lua_pop(L, 1);
  return 1;
}

#else

#define NNC_PREPMAX ((size_t)-1)

#endif /* LUA_VERSION_NUM < 504 */

/* The largest userdata block this Lua makes: LuaJIT's is just under 2 GB
** (lualib.h names LUA_JITLIBNAME only there). */
#ifdef LUA_JITLIBNAME
#define NNC_MAXUDATA ((size_t)0x7fffff00)
#define NNC_UDATALIMIT "LuaJIT's largest userdata is 2 GB"
#else
#define NNC_MAXUDATA ((size_t)-1)
#define NNC_UDATALIMIT ""
#endif

/* The FILE * of an io library handle at i, NULL if it is closed: a
** luaL_Stream from 5.2 on; before, a block whose first field is the FILE *
** (5.1: FILE **; LuaJIT: IOFileUD), NULL once closed. */
static inline FILE *nnc_checkfile(lua_State *L, int i) {
#if LUA_VERSION_NUM >= 502
  luaL_Stream *s = (luaL_Stream *)luaL_checkudata(L, i, LUA_FILEHANDLE);
  return s->closef ? s->f : NULL;
#else
  return *(FILE **)luaL_checkudata(L, i, LUA_FILEHANDLE);
#endif
}

#endif
