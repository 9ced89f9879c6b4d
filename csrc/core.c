/*
** core.c: luaopen_nn_core, the C half of `require "nn"`, and what it asks
** of the system: the state's threads (pool.c) and OpenBLAS's, a monotonic
** clock, whether a stream is a terminal.
*/
#include <stdio.h>

#ifndef NN_BLAS_NONE
#include <cblas.h>
#endif

#include "nn.h"
#include "platform.h"
#include "pool.h"

/* nn.threads([n]): the threads this state's layers, losses and
** optimizers split their work across (pool.c), n - 1 of them started here
** (nn.threads(1), the default, has none).  Returns the count in force for
** this state.  OpenBLAS's own threads, which the Matrix products run on
** in that build, are left to OpenBLAS (OPENBLAS_NUM_THREADS): its count
** is one per process, and two states setting it from two threads at once
** would race inside OpenBLAS. */
static int lib_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1 || n > 1024)
      return luaL_error(L, "nn.threads: n must be from 1 to 1024, got %I", n);
    nn_setthreads(L, (int)n);
  }
  lua_pushinteger(L, nn_poolsize(nn_pool(L)));
  return 1;
}

#ifdef NN_BLAS_NONE
/* nn.blas(): "none" and the own SGEMM's micro-kernel ("avx2", ...) */
static int lib_blas(lua_State *L) {
  lua_pushliteral(L, "none");
  lua_pushstring(L, k_sgemm_kernel());
  return 2;
}
#else
/* nn.blas(): "openblas" and the kernels OpenBLAS chose ("Haswell", ...) */
static int lib_blas(lua_State *L) {
  lua_pushliteral(L, "openblas");
  lua_pushstring(L, openblas_get_corename());
  return 2;
}
#endif

/* nn.clock() -> seconds from a monotonic clock, for timing */
static int lib_clock(lua_State *L) {
  lua_pushnumber(L, (lua_Number)nnp_clock());
  return 1;
}

/* which of io.stdin, io.stdout and io.stderr (0, 1, 2) the file handle at
** arg is, -1 if none */
static int stdstream(lua_State *L, int arg) {
  static const char *const names[] = {"stdin", "stdout", "stderr"};
  int i, std = -1;
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  lua_getfield(L, -1, "io");
  for (i = 0; i < 3 && std < 0 && lua_istable(L, -1); i++) {
    lua_getfield(L, -1, names[i]);
    if (lua_rawequal(L, -1, arg)) std = i;
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return std;
}

/* nn.core.isatty([file]) -> whether the file (default io.stdout) is a
** terminal */
static int lib_isatty(lua_State *L) {
  FILE *f = stdout;
  int std = 1;
  if (!lua_isnoneornil(L, 1)) {
    if (!(f = nnc_checkfile(L, 1)))
      return luaL_error(L, "isatty: the file is closed");
    std = stdstream(L, 1);
  }
  lua_pushboolean(L, nnp_isatty(f, std));
  return 1;
}

static const luaL_Reg lib[] = {
  {"threads", lib_threads}, {"blas", lib_blas}, {"clock", lib_clock},
  {"isatty", lib_isatty}, {NULL, NULL}
};

int luaopen_nn_core(lua_State *L) {
  /* a core built for another Lua (5.3's in 5.4, ...) fails here, named,
  ** instead of misreading the state */
  luaL_checkversion(L);
  luaopen_nn_matrix(L);
  nn_rng_open(L);
  nn_module_open(L);
  nn_loss_open(L);
  nn_optim_open(L);
  nn_file_open(L);
  nn_typed_open(L);
  luaL_setfuncs(L, lib, 0);
  return 1;
}
