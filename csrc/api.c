/*
** api.c: the Matrix half of lua_nn.h, the C API for hosts: a Matrix from
** the host's floats, and a Matrix's floats for the host.
*/
#include <string.h>

#include "nn.h"
#include "lua_nn.h"

float *lua_nn_pushmatrix(lua_State *L, int rows, int cols, const float *data) {
  Matrix *m;
  luaL_getmetatable(L, NN_MATRIX);
  if (!lua_istable(L, -1))
    luaL_error(L, "lua_nn_pushmatrix: nn is not loaded in this state "
               "(require \"nn\" first)");
  lua_pop(L, 1);
  if (rows < 1 || cols < 1)
    luaL_error(L, "lua_nn_pushmatrix: shape %d x %d, expected positive sizes",
               rows, cols);
  nn_checkcount(L, "lua_nn_pushmatrix", rows, cols);
  m = data ? nn_newmatrix(L, rows, cols) : nn_newzeros(L, rows, cols);
  if (data) memcpy(m->data, data, nn_numel(m) * sizeof(float));
  return m->data;
}

static float *shape(Matrix *m, int *rows, int *cols) {
  if (m == NULL) return NULL;
  if (rows) *rows = m->rows;
  if (cols) *cols = m->cols;
  return m->data;
}

float *lua_nn_tomatrix(lua_State *L, int idx, int *rows, int *cols) {
  return shape(nn_tomatrix(L, idx), rows, cols);
}

float *lua_nn_checkmatrix(lua_State *L, int arg, int *rows, int *cols) {
  return shape(nn_checkmatrix(L, arg), rows, cols);
}
