/*
** core.c: luaopen_nn_core, the C half of `require "nn"`, and what it asks
** of the system: OpenBLAS's thread count, a monotonic clock, whether a
** stream is a terminal.
*/
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, fileno, isatty */

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "nn.h"

/* nn.threads([n]): sets OpenBLAS's thread count when n is given; returns
** the count in force.  OpenBLAS keeps this per process, not per state. */
static int lib_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1 || n > 1024)
      return luaL_error(L, "nn.threads: n must be from 1 to 1024, got %I", n);
    openblas_set_num_threads((int)n);
  }
  lua_pushinteger(L, openblas_get_num_threads());
  return 1;
}

/* nn.clock() -> seconds from a monotonic clock, for timing */
static int lib_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + ts.tv_nsec * 1e-9);
  return 1;
}

/* nn.core.isatty([file]) -> whether the file (default io.stdout) is a
** terminal */
static int lib_isatty(lua_State *L) {
  FILE *f = stdout;
  if (!lua_isnoneornil(L, 1)) {
    if (!(f = nnc_checkfile(L, 1)))
      return luaL_error(L, "isatty: the file is closed");
  }
  lua_pushboolean(L, isatty(fileno(f)));
  return 1;
}

static const luaL_Reg lib[] = {
  {"threads", lib_threads}, {"clock", lib_clock}, {"isatty", lib_isatty},
  {NULL, NULL}
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
