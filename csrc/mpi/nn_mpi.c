/*
** nn_mpi.c: nn.mpi, the optional MPI module (make mpi): collectives on
** nn.Matrix for data-parallel training.  Built with mpicc as its own
** build/<lua>/nn/mpi.so; neither nn.core nor the rock depends on it.
**
**   local mpi = require "nn.mpi"
**   local rank, size = mpi.init()          -- idempotent; rank 0 first
**   mpi.allreduce(M [, "sum" | "mean" | "max"])   -- in place, views too
**   mpi.broadcast(M [, root])              -- in place, from root (0)
**   mpi.barrier(); mpi.rank(); mpi.size(); mpi.finalize()
**
** A Matrix is recognised as nn.core recognises one (matrix.c): the
** "nn.Matrix" metatable, the tag and a block at least a Matrix header
** long; nn.h is the shared header.  The module calls nothing of nn.core,
** so it loads beside any core of the same Lua.
**
** Every collective checks first, in one small allreduce, that every rank
** called it with the same element count, operation and root: a mismatch
** is the same Lua error on every rank instead of a truncated message or
** memory overwritten.  MPI errors return (MPI_ERRORS_RETURN) and become
** Lua errors.
**
** The end of the process: MPI_Init here registers an exit handler, so that
** a script that returns (or os.exit(0)) finalizes, and one that ends with
** a failure status (an uncaught Lua error: lua and luajit exit with 1)
** calls MPI_Abort, which ends every rank: no rank is left waiting in a
** collective for one that has gone.  The module is linked -z nodelete, so
** the handler's code stays mapped after lua_close unloads C modules.
** There is no mutable global: MPI itself answers whether it is running
** (MPI_Initialized, MPI_Finalized), and it starts once per process, so
** the handler is registered once.
*/
#define _DEFAULT_SOURCE            /* on_exit (glibc) */
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "../nn.h"

/* ---- errors and state -------------------------------------------------- */

/* raises "fn: MPI error: <MPI's text>" for a failed call */
static void check(lua_State *L, int rc, const char *fn) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (rc == MPI_SUCCESS) return;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS || len <= 0) {
    luaL_error(L, "%s: MPI error %d", fn, rc);
  }
  text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
  luaL_error(L, "%s: MPI error: %s", fn, text);
}

/* MPI must be running: init called, finalize not yet */
static void running(lua_State *L, const char *fn) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (fin)
    luaL_error(L, "%s: MPI is finalized (mpi.finalize or the end of the "
               "process); it cannot run again in this process", fn);
  if (!init)
    luaL_error(L, "%s: MPI is not initialized (call mpi.init() first)", fn);
}

/* the process' end: finalize after a success, abort after a failure */
static void atend(int status, void *unused) {
  int init = 0, fin = 0;
  (void)unused;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (!init || fin) return;
  if (status != 0) MPI_Abort(MPI_COMM_WORLD, status);
  else MPI_Finalize();
}

#if !defined(__GLIBC__)
static void atend0(void) { atend(0, NULL); }
#endif

/* ---- arguments --------------------------------------------------------- */

/* the Matrix at arg (views included), checked as matrix.c checks one */
static Matrix *checkmatrix(lua_State *L, int arg, const char *fn) {
  Matrix *m = (Matrix *)luaL_testudata(L, arg, NN_MATRIX);
  if (m && lua_rawlen(L, arg) >= sizeof(Matrix) && m->tag == NN_TAG_MATRIX)
    return m;
  luaL_error(L, "%s: argument %d must be an nn.Matrix, got %s", fn, arg,
             m ? "a userdata of another type" : luaL_typename(L, arg));
  return NULL;
}

/* a bad argument for a message: a string quoted, a number as written,
** anything else by its type */
static const char *describe(lua_State *L, int arg) {
  switch (lua_type(L, arg)) {
  case LUA_TSTRING: return lua_pushfstring(L, "\"%s\"", lua_tostring(L, arg));
  case LUA_TNUMBER: return luaL_tolstring(L, arg, NULL);
  default: return luaL_typename(L, arg);
  }
}

/* Every rank must call a collective with the same count, operation and
** root: one allreduce of the maximum of each and of its negative tells
** every rank alike whether they agree. */
static void agree(lua_State *L, const char *fn, long count, long op,
                  long root, const char *const *opnames) {
  long v[6] = {count, -count, op, -op, root, -root};
  check(L, MPI_Allreduce(MPI_IN_PLACE, v, 6, MPI_LONG, MPI_MAX,
                         MPI_COMM_WORLD), fn);
  if (v[0] != -v[1])
    luaL_error(L, "%s: the ranks' matrices differ in size (from %I to %I "
               "elements); every rank must pass one of the same size", fn,
               (lua_Integer)-v[1], (lua_Integer)v[0]);
  if (v[2] != -v[3])
    luaL_error(L, "%s: the ranks asked for different operations (\"%s\" "
               "and \"%s\"); every rank must ask for the same", fn,
               opnames[-v[3]], opnames[v[2]]);
  if (v[4] != -v[5])
    luaL_error(L, "%s: the ranks named different roots (%I and %I); every "
               "rank must name the same", fn, (lua_Integer)-v[5],
               (lua_Integer)v[4]);
}

/* ---- the functions ----------------------------------------------------- */

/* mpi.init() -> rank, size */
static int l_init(lua_State *L) {
  int init = 0, fin = 0, rank, size;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (fin)
    return luaL_error(L, "mpi.init: MPI was finalized; it cannot start "
                      "again in this process");
  if (!init) {
    int rc = MPI_Init(NULL, NULL);
    if (rc != MPI_SUCCESS)
      return luaL_error(L, "mpi.init: MPI_Init failed (error %d)", rc);
#if defined(__GLIBC__)
    on_exit(atend, NULL);
#else
    atexit(atend0);
#endif
  }
  check(L, MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN),
        "mpi.init");
  check(L, MPI_Comm_rank(MPI_COMM_WORLD, &rank), "mpi.init");
  check(L, MPI_Comm_size(MPI_COMM_WORLD, &size), "mpi.init");
  lua_pushinteger(L, rank);
  lua_pushinteger(L, size);
  return 2;
}

static int l_rank(lua_State *L) {
  int rank;
  running(L, "mpi.rank");
  check(L, MPI_Comm_rank(MPI_COMM_WORLD, &rank), "mpi.rank");
  lua_pushinteger(L, rank);
  return 1;
}

static int l_size(lua_State *L) {
  int size;
  running(L, "mpi.size");
  check(L, MPI_Comm_size(MPI_COMM_WORLD, &size), "mpi.size");
  lua_pushinteger(L, size);
  return 1;
}

static const char *const ops[] = {"sum", "mean", "max", NULL};

/* mpi.allreduce(M [, op]) -> M, every rank's M reduced elementwise, in
** place; "mean" is the sum divided by the number of ranks */
static int l_allreduce(lua_State *L) {
  const char *fn = "mpi.allreduce";
  Matrix *m = checkmatrix(L, 1, fn);
  int op = 0, size;
  size_t i, n = nn_numel(m);
  if (!lua_isnoneornil(L, 2)) {
    const char *s = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    for (op = 0; s && ops[op] && strcmp(ops[op], s) != 0; op++) {}
    if (!s || !ops[op])
      return luaL_error(L, "%s: op must be \"sum\", \"mean\" or \"max\", "
                        "got %s", fn, describe(L, 2));
  }
  running(L, fn);
  check(L, MPI_Comm_size(MPI_COMM_WORLD, &size), fn);
  agree(L, fn, (long)n, op, 0, ops);
  check(L, MPI_Allreduce(MPI_IN_PLACE, m->data, (int)n, MPI_FLOAT,
                         op == 2 ? MPI_MAX : MPI_SUM, MPI_COMM_WORLD), fn);
  if (op == 1)
    for (i = 0; i < n; i++) m->data[i] /= (float)size;
  lua_settop(L, 1);
  return 1;
}

/* mpi.broadcast(M [, root]) -> M, root's M on every rank, in place */
static int l_broadcast(lua_State *L) {
  const char *fn = "mpi.broadcast";
  Matrix *m = checkmatrix(L, 1, fn);
  lua_Integer root = 0;
  int size, isint = 1;
  if (!lua_isnoneornil(L, 2)) root = lua_tointegerx(L, 2, &isint);
  running(L, fn);
  check(L, MPI_Comm_size(MPI_COMM_WORLD, &size), fn);
  if (!isint || lua_type(L, 2) == LUA_TSTRING)
    return luaL_error(L, "%s: root must be a rank (an integer from 0 to %d), "
                      "got %s", fn, size - 1, describe(L, 2));
  if (root < 0 || root >= size)
    return luaL_error(L, "%s: root %I is not a rank (0 to %d)", fn, root,
                      size - 1);
  agree(L, fn, (long)nn_numel(m), 0, (long)root, ops);
  check(L, MPI_Bcast(m->data, (int)nn_numel(m), MPI_FLOAT, (int)root,
                     MPI_COMM_WORLD), fn);
  lua_settop(L, 1);
  return 1;
}

static int l_barrier(lua_State *L) {
  running(L, "mpi.barrier");
  check(L, MPI_Barrier(MPI_COMM_WORLD), "mpi.barrier");
  return 0;
}

/* mpi.finalize(): idempotent; collectives after it are errors */
static int l_finalize(lua_State *L) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) check(L, MPI_Finalize(), "mpi.finalize");
  return 0;
}

static const luaL_Reg lib[] = {
  {"init", l_init}, {"rank", l_rank}, {"size", l_size},
  {"allreduce", l_allreduce}, {"broadcast", l_broadcast},
  {"barrier", l_barrier}, {"finalize", l_finalize}, {NULL, NULL}
};

int luaopen_nn_mpi(lua_State *L) {
  luaL_checkversion(L);
  luaL_newlib(L, lib);
  return 1;
}
