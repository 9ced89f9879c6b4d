/*
** preload.c: lua_nn_preload, for hosts that link lua-nn into their
** executable (build/<lua>/liblua-nn.a): nn.core and the sources of every
** Lua module of nn, built in, go into package.preload, so `require "nn"`
** reads no file.  nn_sources.h is generated from the .lua files of lua/nn at build
** time by tools/embed_sources.lua.
*/
#include "nn.h"
#include "lua_nn.h"
#include "nn_sources.h"

/* the loader of embedded module i (upvalue 1): its chunk is named as the
** file would be, so messages and tracebacks read the same */
static int loadsource(lua_State *L) {
  const NNSource *s = &nn_sources[lua_tointeger(L, lua_upvalueindex(1))];
  if (luaL_loadbuffer(L, (const char *)s->text, s->len, s->chunk) != LUA_OK)
    return lua_error(L);
  lua_pushvalue(L, 1);                 /* the name, as require passes it */
  lua_call(L, 1, 1);
  return 1;
}

void lua_nn_preload(lua_State *L) {
  int i;
  lua_getglobal(L, "package");
  if (!lua_istable(L, -1))
    luaL_error(L, "lua_nn_preload: the package library is not open "
               "(call luaL_openlibs first)");
  lua_getfield(L, -1, "preload");
  if (!lua_istable(L, -1))
    luaL_error(L, "lua_nn_preload: package.preload is not a table");
  lua_pushcfunction(L, luaopen_nn_core);
  lua_setfield(L, -2, "nn.core");
  for (i = 0; nn_sources[i].name != NULL; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, loadsource, 1);
    lua_setfield(L, -2, nn_sources[i].name);
  }
  lua_pop(L, 2);
}
