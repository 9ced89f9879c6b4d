/*
** core.c: luaopen_nn_core, the C half of `require "nn"`.
*/
#ifndef NN_BLAS_NONE
#include <cblas.h>
#endif

#include "nn.h"

#ifdef NN_BLAS_NONE
/* nn.threads([n]): the own SGEMM (k_gemm.c) runs on the calling thread
** only, so the count in force is always 1; n is checked and ignored. */
static int l_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1 || n > 1024)
      return luaL_error(L, "nn.threads: n must be from 1 to 1024, got %I", n);
  }
  lua_pushinteger(L, 1);
  return 1;
}

/* nn.blas(): "none" and the own SGEMM's micro-kernel ("avx2", ...) */
static int l_blas(lua_State *L) {
  lua_pushliteral(L, "none");
  lua_pushstring(L, k_sgemm_kernel());
  return 2;
}
#else
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

/* nn.blas(): "openblas" and the kernels OpenBLAS chose ("Haswell", ...) */
static int l_blas(lua_State *L) {
  lua_pushliteral(L, "openblas");
  lua_pushstring(L, openblas_get_corename());
  return 2;
}
#endif

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
  lua_pushcfunction(L, l_blas);
  lua_setfield(L, -2, "blas");
  return 1;
}
