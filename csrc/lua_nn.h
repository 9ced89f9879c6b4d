/*
** lua_nn.h: lua-nn's C API for hosts that embed Lua (a game, a tool).
**
** The same header and the same calls for Lua 5.1, 5.2, 5.3, 5.4 and
** LuaJIT: build lua-nn against the Lua the host links (make LUA=...).
** Two ways in:
**
**   - Linked into the host (make embed-lib: build/<lua>/liblua-nn.a):
**     lua_nn_preload(L) makes `require "nn"` work with no files on disk.
**   - As a module on disk: require "nn" finds nn/core.so and the Lua files
**     on package.path/cpath; the matrix calls below work on its Matrices
**     when the host links the same library.
**
** Then a host hands a network its own floats and reads the outputs back
** without building Lua tables:
**
**   lua_nn_preload(L);                         (after luaL_openlibs)
**   ... require "nn", build or nn.load a network, leave net:forward on
**   the stack ...
**   lua_nn_pushmatrix(L, 1, 784, pixels);      a 1 x 784 Matrix, copied
**   lua_call(L, 1, 1);                         (forward)
**   const float *p = lua_nn_tomatrix(L, -1, &rows, &cols);
**
** Every call that can fail raises a Lua error (call them in protected
** mode, as any Lua API call that allocates); none aborts.
*/
#ifndef LUA_NN_H
#define LUA_NN_H

#include "lua.h"

#ifdef __cplusplus
extern "C" {
#endif

/* the C half of require "nn" (package.preload or a static loader) */
int luaopen_nn_core(lua_State *L);

/* Registers nn.core and every Lua module of nn (their sources were built
** into the library) in package.preload, so require "nn" needs no files.
** The package library must be open (luaL_openlibs).  In liblua-nn.a only. */
void lua_nn_preload(lua_State *L);

/* Pushes a new rows x cols Matrix (1 <= rows, cols; rows * cols < 2^31)
** holding a copy of data, row-major (data NULL: zeros).  Returns its
** elements, valid while the Matrix is alive. */
float *lua_nn_pushmatrix(lua_State *L, int rows, int cols, const float *data);

/* The Matrix at index idx: its elements (row-major, contiguous; writable)
** and, when rows and cols are not NULL, its shape.  NULL when the value is
** not a Matrix.  Valid while the Matrix is alive. */
float *lua_nn_tomatrix(lua_State *L, int idx, int *rows, int *cols);

/* As lua_nn_tomatrix for a C function's argument arg, but a value that is
** not a Matrix raises an argument error. */
float *lua_nn_checkmatrix(lua_State *L, int arg, int *rows, int *cols);

#ifdef __cplusplus
}
#endif

#endif
