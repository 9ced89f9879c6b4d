/*
** matrix.h: the functions of the nn.Matrix class (lua_CFunctions), by the
** file that defines them.  matrix_class.c registers every one of them, in
** its meth[], metameth[] and lib[] tables; nothing else registers any.
*/
#ifndef NN_MATRIX_H
#define NN_MATRIX_H

#include "nn.h"

/* matrix_basic.c: construction, shape, access, views, copies, printing */
int mat_new(lua_State *L);                  /* nn.Matrix(...): __call */
int lib_zeros(lua_State *L);
int lib_ones(lua_State *L);
int lib_eye(lua_State *L);
int lib_rand(lua_State *L);
int lib_randn(lua_State *L);
int mat_shape(lua_State *L);
int mat_numel(lua_State *L);
int mat_get(lua_State *L);
int mat_set(lua_State *L);
int mat_row(lua_State *L);
int mat_narrow(lua_State *L);
int mat_reshape(lua_State *L);
int mat_isview(lua_State *L);
int mat_clone(lua_State *L);
int mat_copy(lua_State *L);
int mat_fill(lua_State *L);
int mat_zero(lua_State *L);
int mat_t(lua_State *L);
int mat_totable(lua_State *L);
int mat_apply(lua_State *L);
int mat_tostring(lua_State *L);             /* __tostring */
int mat_index(lua_State *L);                /* __index: the class, A[i] */

/* matrix_ops.c: operators, in-place arithmetic, products, reductions,
** batches and labels */
int mat_add_op(lua_State *L);               /* __add */
int mat_sub_op(lua_State *L);               /* __sub */
int mat_mul_op(lua_State *L);               /* __mul */
int mat_div_op(lua_State *L);               /* __div */
int mat_unm(lua_State *L);                  /* __unm */
int mat_len(lua_State *L);                  /* __len */
int mat_add(lua_State *L);
int mat_mul(lua_State *L);
int mat_div(lua_State *L);
int mat_scale(lua_State *L);
int mat_matmul(lua_State *L);
int mat_gemm(lua_State *L);
int mat_sum(lua_State *L);
int mat_mean(lua_State *L);
int mat_max(lua_State *L);
int mat_min(lua_State *L);
int mat_argmax(lua_State *L);
int mat_argmin(lua_State *L);
int mat_dot(lua_State *L);
int mat_norm(lua_State *L);
int mat_allfinite(lua_State *L);
int mat_gather(lua_State *L);
int lib_correct(lua_State *L);
int lib_onehot(lua_State *L);

/* matrix_math.c: elementwise functions, spread, columns, comparison */
int mat_exp(lua_State *L);
int mat_log(lua_State *L);
int mat_sqrt(lua_State *L);
int mat_abs(lua_State *L);
int mat_pow(lua_State *L);
int mat_pow_op(lua_State *L);               /* __pow */
int mat_clamp(lua_State *L);
int mat_var(lua_State *L);
int mat_std(lua_State *L);
int mat_col(lua_State *L);
int mat_equal(lua_State *L);
int mat_setcols(lua_State *L);
int mat_getcols(lua_State *L);

/* typed.c: from and to bytes */
int mat_fromdata(lua_State *L);
int mat_frombytes(lua_State *L);
int mat_fromfloats(lua_State *L);
int mat_tobytes(lua_State *L);
int mat_quantize(lua_State *L);

/* file.c: a matrix streamed from a file */
int mat_fromfile(lua_State *L);

#endif
