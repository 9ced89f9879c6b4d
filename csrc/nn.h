/*
** nn.h: what the binding files of nn.core share.
**
** A Matrix is a userdata of type "nn.Matrix": a 2-D, row-major, contiguous
** block of floats.  An owning matrix carries its elements inside the same
** userdata block (so they come from the lua_State's allocator and the GC
** counts them); a view carries only the header, points into its parent's
** block and keeps the parent alive through its user value.  Views are only
** ever whole rows (row, narrow, reshape), so every matrix is contiguous.
*/
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"          /* lua.h and lauxlib.h, as Lua 5.4 has them */

#include "kernels.h"

#define NN_MATRIX "nn.Matrix"
/* a matrix's elements begin on a cache line: an AVX-512 vector is one
** line, and at 32 bytes every other one split two (a batch-64 MLP's
** backward through its 256 x 128 layer: 48.0 -> 45.3 us on 2 threads) */
#define NN_ALIGN 64
/* BLAS takes int sizes, and one matrix is one BLAS operand. */
#define NN_MAXELEMS 2147483647L

/* Every userdata of nn.core starts with a tag, so that a block given
** another type's metatable (debug.setmetatable) is refused, not misread. */
enum { NN_TAG_MATRIX = 0x4e4e4d31, NN_TAG_MODULE, NN_TAG_LOSS };

typedef struct Matrix {
  unsigned tag;       /* NN_TAG_MATRIX */
  int rows, cols;
  float *data;
} Matrix;

static inline size_t nn_numel(const Matrix *m) {
  return (size_t)m->rows * (size_t)m->cols;
}

/* matrix.c */
Matrix *nn_newmatrix(lua_State *L, int rows, int cols);     /* uninitialised */
Matrix *nn_newzeros(lua_State *L, int rows, int cols);
/* pushes a block of n elements of size bytes; a refusal is an error
** naming fn, what and the size ("fn: what of n unit (X MB) refused: ...") */
void *nn_newblock(lua_State *L, size_t n, size_t size, const char *fn,
                  const char *what, const char *unit);
/* Runs body on the top nargs values in protected mode and returns the
** count of its results (on the top); running out of memory there is an
** error naming fn, what and the bytes it needs (0: not known before), any
** other error goes on as it was.  For results built in a luaL_Buffer,
** which cannot be made in protected mode on their own. */
int nn_protect(lua_State *L, lua_CFunction body, int nargs, size_t bytes,
               const char *fn, const char *what);
Matrix *nn_view(lua_State *L, int parent, float *data, int rows, int cols);
Matrix *nn_checkmatrix(lua_State *L, int arg);
Matrix *nn_tomatrix(lua_State *L, int arg);                 /* NULL if not one */
/* the userdata at arg if it has metatable tname, tag and size at least
** size; NULL (test) or an argument error naming its real type (check) */
void *nn_testudata(lua_State *L, int arg, const char *tname, unsigned tag,
                   size_t size);
void *nn_checkudata(lua_State *L, int arg, const char *tname, unsigned tag,
                    size_t size);
/* a number that float32 can hold: finite beyond FLT_MAX is an error (NaN
** and the infinities pass: they were asked for) */
float nn_checkfloat(lua_State *L, int arg, const char *fn, const char *what);
int nn_isfloat32(double v);     /* |v| in float's normal range, 0 or not finite */
int nn_checkdim(lua_State *L, int arg, const char *fn, const char *what);
/* an index from 1 to n, for `what` ("fn: row 5 out of range 1..3") */
int nn_checkindex(lua_State *L, int arg, int n, const char *fn,
                  const char *what);
/* a reduction's dim argument: 1 (down the rows) or 2 (along each row) */
int nn_checkdimarg(lua_State *L, int arg, const char *fn);
void nn_checkcount(lua_State *L, const char *fn, lua_Integer rows,
                   lua_Integer cols);
Matrix *nn_buffer(lua_State *L, int owner, int slot, int rows, int cols);
int nn_overlaps(const Matrix *a, const Matrix *b);

/* matrix.c: option tables ({bias = false}, {reduction = "sum"}), the one
** reader every layer and loss uses.  nn_options walks the table at idx
** (none or nil: no options): a key that is not a whole name of the
** NULL-terminated list names is an error naming it and listing them,
** "fn: unknown option 'k' (expected a, b, c)"; for each other key,
** set(L, ud, fn, name) runs with its value on the stack top (name is the
** list's entry).  nn_optboolean and nn_optchoice check such a value: a
** boolean; one of list, returning its index ("fn: option name must be
** "a", "b" or "c""). */
typedef void (*nn_Option)(lua_State *L, void *ud, const char *fn,
                          const char *name);
void nn_options(lua_State *L, int idx, const char *fn,
                const char *const names[], nn_Option set, void *ud);
int nn_optboolean(lua_State *L, int idx, const char *fn, const char *name);
int nn_optchoice(lua_State *L, int idx, const char *fn, const char *name,
                 const char *const list[]);

/* matrix_class.c: pushes the table of nn.core with the Matrix class, its
** methods and metamethods, and the functions that make matrices */
int luaopen_nn_matrix(lua_State *L);

/* rng.c: one generator per lua_State, in the registry */
Rng *nn_rng(lua_State *L);
void nn_rng_open(lua_State *L);   /* adds seed and random to the table on top */

/* module.c: a registry entry {name, sig, doc} (nn.help reads them) */
void nn_pushentry(lua_State *L, const char *name, const char *sig,
                  const char *doc);

/* Each file's part of nn.core, into the table on top: its types'
** metatables and its functions (module.c, loss.c, optim.c, file.c,
** typed.c: packdouble and unpackdouble) */
void nn_module_open(lua_State *L);
void nn_loss_open(lua_State *L);
void nn_optim_open(lua_State *L);
void nn_file_open(lua_State *L);
void nn_typed_open(lua_State *L);

#endif
