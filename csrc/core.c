/*
** core.c: luaopen_nn_core, the C half of `require "nn"`.
*/
#include <cblas.h>

#include "nn.h"

/* nn.threads([n]): sets OpenBLAS's thread count when n is given; returns
** the count in force.  OpenBLAS keeps this per process, not per state. */
static int l_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1 || n > 1024)
      return luaL_error(L, "nn.threads: n must be from 1 to 1024, got %I", n);
    openblas_set_num_threads((int)n);
  }
  lua_pushinteger(L, openblas_get_num_threads());
  return 1;
}

int luaopen_nn_core(lua_State *L) {
  /* a core built for another Lua (5.3's in 5.4, ...) fails here, named,
  ** instead of misreading the state */
  luaL_checkversion(L);
  luaopen_nn_matrix(L);
  nn_rng_open(L);
  nn_module_open(L);
  nn_loss_open(L);
  nn_optim_open(L);
  nn_data_open(L);
  nn_typed_open(L);
  lua_pushcfunction(L, l_threads);
  lua_setfield(L, -2, "threads");
  return 1;
}
