/*
** rng.c: one random generator per lua_State, kept in the registry, so two
** states in two threads never share one.  nn.seed(n) makes runs repeat.
*/
#include <time.h>

#include "nn.h"

static const char RNGKEY = 'r';          /* its address is the registry key */

Rng *nn_rng(lua_State *L) {
  Rng *r;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &RNGKEY) == LUA_TUSERDATA) {
    r = (Rng *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
  }
  lua_pop(L, 1);
  r = (Rng *)lua_newuserdatauv(L, sizeof(Rng), 0);
  /* unseeded: differ from run to run and from state to state */
  k_rng_seed(r, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)r);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &RNGKEY);
  return r;
}

/* nn.seed(n): n an integer */
static int lib_seed(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  k_rng_seed(nn_rng(L), (uint64_t)n);
  return 0;
}

/* nn.random() -> uniform [0, 1); nn.random(n) -> integer 1..n, from the
** same generator (shuffles in Lua use it, so nn.seed covers them) */
static int lib_random(lua_State *L) {
  Rng *r = nn_rng(L);
  if (lua_isnoneornil(L, 1)) {
    lua_pushnumber(L, k_rng_uniform(r));
  } else {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1) return luaL_error(L, "nn.random: n must be >= 1, got %I", n);
    lua_pushinteger(L, (lua_Integer)(k_rng_next(r) % (uint64_t)n) + 1);
  }
  return 1;
}

static const luaL_Reg lib[] = {
  {"seed", lib_seed}, {"random", lib_random}, {NULL, NULL}
};

void nn_rng_open(lua_State *L) {
  luaL_setfuncs(L, lib, 0);
}
