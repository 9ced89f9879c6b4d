/*
** matrix_class.c: the nn.Matrix class as Lua sees it.  Every method and
** metamethod of a Matrix, and every function of nn.core that makes one, is
** registered here and nowhere else, in three tables as liolib's: meth[]
** (the class table, which is also where a Matrix looks up A:name),
** metameth[] (the userdata's metatable) and lib[] (nn.core's functions).
** The functions themselves live in the files matrix.h names.
*/
#include "matrix.h"

static const luaL_Reg meth[] = {
  /* matrix_basic.c */
  {"shape", mat_shape}, {"numel", mat_numel}, {"get", mat_get},
  {"set", mat_set}, {"row", mat_row}, {"narrow", mat_narrow},
  {"reshape", mat_reshape}, {"isview", mat_isview}, {"clone", mat_clone},
  {"copy", mat_copy}, {"fill", mat_fill}, {"zero", mat_zero}, {"t", mat_t},
  {"totable", mat_totable}, {"apply", mat_apply},
  /* matrix_ops.c */
  {"add", mat_add}, {"mul", mat_mul}, {"div", mat_div},
  {"scale", mat_scale}, {"matmul", mat_matmul}, {"gemm", mat_gemm},
  {"sum", mat_sum}, {"mean", mat_mean}, {"max", mat_max}, {"min", mat_min},
  {"argmax", mat_argmax}, {"argmin", mat_argmin}, {"dot", mat_dot},
  {"norm", mat_norm}, {"allfinite", mat_allfinite}, {"gather", mat_gather},
  /* matrix_math.c */
  {"exp", mat_exp}, {"log", mat_log}, {"sqrt", mat_sqrt}, {"abs", mat_abs},
  {"pow", mat_pow}, {"clamp", mat_clamp}, {"var", mat_var},
  {"std", mat_std}, {"col", mat_col}, {"equal", mat_equal},
  {"setcols", mat_setcols}, {"getcols", mat_getcols},
  /* typed.c */
  {"fromdata", mat_fromdata}, {"frombytes", mat_frombytes},
  {"fromfloats", mat_fromfloats}, {"tobytes", mat_tobytes},
  {"quantize", mat_quantize},
  /* file.c */
  {"fromfile", mat_fromfile},
  {NULL, NULL}
};

/* each gets the class table as upvalue 1, which __index reads */
static const luaL_Reg metameth[] = {
  {"__index", mat_index}, {"__tostring", mat_tostring},
  {"__add", mat_add_op}, {"__sub", mat_sub_op}, {"__mul", mat_mul_op},
  {"__div", mat_div_op}, {"__unm", mat_unm}, {"__len", mat_len},
  {"__pow", mat_pow_op},
  {NULL, NULL}
};

/* the class table's own metatable: nn.Matrix(...) constructs */
static const luaL_Reg classmeta[] = {
  {"__call", mat_new}, {NULL, NULL}
};

static const luaL_Reg lib[] = {
  {"zeros", lib_zeros}, {"ones", lib_ones}, {"eye", lib_eye},
  {"rand", lib_rand}, {"randn", lib_randn}, {"correct", lib_correct},
  {"onehot", lib_onehot},
  {NULL, NULL}
};

/* Pushes a table with Matrix (the class: its methods, callable to
** construct) and lib[]'s functions. */
int luaopen_nn_matrix(lua_State *L) {
  luaL_newlib(L, lib);
  luaL_newmetatable(L, NN_MATRIX);
  luaL_newlib(L, meth);                       /* the class table */
  luaL_newlib(L, classmeta);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, "Matrix");              /* module.Matrix = class */
  luaL_setfuncs(L, metameth, 1);              /* pops the class */
  lua_pop(L, 1);                              /* the metatable */
  return 1;
}
