/*
** module.h: a layer kind is one descriptor, a LayerKind: its name, how its
** constructor reads arguments, its parameters' shapes, its forward and
** backward, what it saves.  module.c is the one userdata type,
** "nn.Module", that runs any kind; it holds no list of kinds and no
** switch over them.  A kind is registered once, in the table of the file
** that defines it (dense.c, activations.c, conv.c, norm.c), and everything
** that lists layers (nn's constructors, the model loader, nn.help, the
** docs) reads that registry through core.layers().
*/
#ifndef NN_MODULE_H
#define NN_MODULE_H

#include "nn.h"

#define NN_MODULE "nn.Module"
#define NN_MAXPARAMS 2        /* weight and bias */
#define NN_MAXBUFFERS 2       /* saved state that is not trained (BatchNorm) */
#define NN_MAXCFG 16

struct LayerKind;

typedef struct Module {
  unsigned tag;                 /* NN_TAG_MODULE */
  const struct LayerKind *kind; /* in a static table: never freed */
  int train;                    /* training mode */
  int init;                     /* constructor only: the init scheme */
  float a, b;                   /* a kind's real settings (slope, p, eps) */
  int c[NN_MAXCFG];             /* a kind's whole-number settings */
  /* Widths: nin the input's column count (0 takes any width; the output
  ** then has the input's), nout the output's.  Image layers also know
  ** the (C, H, W) of their input and output rows; 0 where not known. */
  int nin, nout;
  int in[3], out[3];
} Module;

/* user values of a module */
enum {
  UV_OUTPUT = 1, UV_GRADINPUT, UV_PARAMS, UV_GRADS, UV_SCRATCH, UV_SCRATCH2,
  UV_P0, UV_G0 = UV_P0 + NN_MAXPARAMS, UV_B0 = UV_G0 + NN_MAXPARAMS,
  UV_N = UV_B0 + NN_MAXBUFFERS - 1
};

/* What a kind's forward and backward get: the batch of n rows, the
** arrays (checked not to overlap, of the shapes the widths say), the
** parameters, their gradients and saved buffers.  gx is NULL when the
** caller does not want dL/dx (only kinds with wantgx set are asked). */
typedef struct Ctx {
  lua_State *L;
  Module *m;
  int n, cols, ycols;           /* x is n x cols, y n x ycols */
  const float *x, *y, *gy;
  float *out, *gx;
  float *p[NN_MAXPARAMS], *g[NN_MAXPARAMS], *buf[NN_MAXBUFFERS];
} Ctx;

typedef void (*k_actfn)(float *restrict y, const float *restrict x, size_t n,
                        float a);
typedef void (*k_actgrad)(float *restrict gx, const float *x, const float *y,
                          const float *gy, size_t n, float a);

typedef struct LayerKind {
  const char *name;
  const char *sig, *doc;      /* nn.help's entry: a signature and a line */
  /* Reads the constructor's arguments at a, a + 1, ... (none past the
  ** top) into m; fn is "nn.Name" for errors.  Allocates nothing: the
  ** generic constructor then makes the parameters. */
  void (*init)(lua_State *L, Module *m, const char *fn, int a);
  /* the parameters' shapes, in parameters() order; returns the count */
  int (*params)(const Module *m, int shape[][2]);
  /* fills the parameters p and buffers b (zeroed) as m->init says */
  void (*reset)(Rng *r, const Module *m, float *const *p, float *const *b);
  /* the saved buffers' names and shapes (running statistics) */
  int (*buffers)(const Module *m, int shape[][2]);
  /* y = f(x), and the backward pass: gx = dL/dx, g += dL/dp */
  void (*forward)(Ctx *c);
  void (*backward)(Ctx *c);
  /* pushes the constructor's arguments as a list, for the model file */
  void (*config)(lua_State *L, const Module *m);
  /* appends what follows "nn.Name" in tostring, e.g. "(784 -> 10)" */
  void (*describe)(luaL_Buffer *b, const Module *m);
  /* for image kinds: checks m->in and sets m->out, m->nin and m->nout */
  void (*shape)(lua_State *L, Module *m, const char *fn);
  const char *bufnames[NN_MAXBUFFERS];  /* fields of the buffers */
  const char *field;          /* the name m->a goes by: slope, p, ... */
  float def;                  /* m->a's default */
  int settable;               /* m.<field> = v is allowed */
  int skipgx;                 /* backward honours wantgx = false */
  int flat;                   /* forgets its input's image shape (Flatten) */
  k_actfn f;                  /* pointwise kinds: y = f(x) */
  k_actgrad df;               /*   and gx = gy f'(x) */
  int positive;               /* m->a must be > 0 (Softplus' beta) */
} LayerKind;

/* Module.init: how a constructor fills the parameters (zeros draws
** nothing from the generator: the model loader uses it) */
enum { NN_INIT_KAIMING, NN_INIT_XAVIER, NN_INIT_UNIFORM, NN_INIT_ZEROS };

/* the registries (each ends with a kind whose name is NULL) */
extern const LayerKind nn_dense_kinds[];
extern const LayerKind nn_activation_kinds[];
extern const LayerKind nn_conv_kinds[];
extern const LayerKind nn_norm_kinds[];

/* helpers for descriptors (module.c) */
/* a constructor's number at arg (nil: def), finite in float32; a numeric
** string is refused */
float nn_optfloat(lua_State *L, int arg, float def, const char *fn,
                  const char *what);
/* a constructor's whole number at idx, from lo to hi; a numeric string
** is refused ("nn.Linear: argument 1 (nin) must be a whole number from 1
** to 2147483647, got string '2'") */
lua_Integer nn_checkwhole(lua_State *L, int idx, const char *fn,
                          const char *what, lua_Integer lo, lua_Integer hi);
/* the value at idx for a message: "string '2'", "2.5", "nil", "table" */
const char *nn_argdesc(lua_State *L, int idx);
void nn_noargs(lua_State *L, const char *fn, int a);
/* the init option's value at idx: "kaiming", "xavier", "uniform", "zeros" */
int nn_checkinit(lua_State *L, int idx, const char *fn);
/* uniform weights for fan-in fanin and fan-out fanout as m->init says;
** the bias (nb elements, b may be NULL) too for "uniform" (PyTorch) */
void nn_initweights(Rng *r, int init, float *w, size_t nw, float *b,
                    size_t nb, int fanin, int fanout);
/* a scratch array of n floats in user value slot (UV_SCRATCH, ...),
** reused while big enough; made only before a kernel runs.  With make
** 0, NULL unless it is there (backward reads what forward left). */
float *nn_scratch(Ctx *c, int slot, size_t n, int make);
/* config list helpers: t[i] = v */
void nn_setint(lua_State *L, int i, lua_Integer v);
void nn_setnum(lua_State *L, int i, lua_Number v);

#endif
