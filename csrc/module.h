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
/* A layer's parameters, and its buffers, are each a list of at most
** NN_MAXTENSORS named matrices: an LSTM of 2 layers, bidirectional, has
** 16 parameters; every count up to this one costs nothing (the user
** values are made per layer, for the tensors it has). */
#define NN_MAXTENSORS 32
#define NN_NAMELEN 32         /* a tensor's name, with its "grad" prefix */
#define NN_SETTINGS 128       /* bytes of a kind's settings (its struct) */
#define NN_MAXEXAMPLES 4

struct LayerKind;

typedef struct Module {
  unsigned tag;                 /* NN_TAG_MODULE */
  const struct LayerKind *kind; /* in a static table: never freed */
  int train;                    /* training mode */
  int init;                     /* constructor only: the init scheme */
  /* Widths: nin the input's column count (0 takes any width; the output
  ** then has the input's), nout the output's.  Image layers also know
  ** the (C, H, W) of their input and output rows; 0 where not known.
  ** Sequence layers take rows of T steps of din features, any T (nin is
  ** 0), and give T steps of dout; din is 0 for every other layer. */
  int nin, nout;
  int in[3], out[3];
  int din, dout;
  int np, nb;                   /* parameters and buffers: fixed when made */
  /* the kind's settings: a struct of its own, read through NN_SET; a kind
  ** with a field (LeakyReLU's slope, Dropout's p) keeps it first, a float */
  union {
    double d;
    void *p;
    unsigned char b[NN_SETTINGS];
  } set;
} Module;

/* The kind's settings of m as a T * (const T * for a const m: NN_CSET);
** a T larger than NN_SETTINGS does not compile. */
#define NN_SETFITS(T) ((void)sizeof(char[sizeof(T) <= NN_SETTINGS ? 1 : -1]))
#define NN_SET(m, T) (NN_SETFITS(T), (T *)(void *)(m)->set.b)
#define NN_CSET(m, T) (NN_SETFITS(T), (const T *)(const void *)(m)->set.b)

/* user values of a module: then its np parameters, np gradients and nb
** buffers, from UV_P0 on (nn_uvgrad, nn_uvbuf) */
enum {
  UV_OUTPUT = 1, UV_GRADINPUT, UV_PARAMS, UV_GRADS, UV_SCRATCH, UV_SCRATCH2,
  UV_P0
};

/* One tensor of a layer: its field ("weight", "runningMean"; its
** gradient's is "grad" and the name capitalised, "gradWeight"), its
** PyTorch state-dict name ("running_mean"), the matrix lua-nn keeps and
** PyTorch's shape of the same elements, row-major (a Conv2d weight:
** outC x inC*kh*kw here, (outC, inC, kh, kw) there). */
typedef struct Tensor {
  char name[NN_NAMELEN];
  char torch[NN_NAMELEN];
  int rows, cols;
  int ndim, dims[4];
} Tensor;

/* What a kind's forward and backward get: the batch of n rows, the
** arrays (checked not to overlap, of the shapes the widths say), the
** parameters, their gradients and saved buffers.  gx is NULL when the
** caller does not want dL/dx (only kinds with skipgx set are asked). */
typedef struct Ctx {
  lua_State *L;
  Module *m;
  struct Pool *pool;            /* the state's threads (pool.h), or NULL */
  int n, cols, ycols;           /* x is n x cols, y n x ycols */
  const float *x, *y, *gy;
  float *out, *gx;
  float *p[NN_MAXTENSORS], *g[NN_MAXTENSORS], *buf[NN_MAXTENSORS];
} Ctx;

typedef void (*k_actfn)(float *restrict y, const float *restrict x, size_t n,
                        float a);
typedef void (*k_actgrad)(float *restrict gx, const float *x, const float *y,
                          const float *gy, size_t n, float a);

/* An example of a kind, for every spec and tool that loops over the
** registry (the hostile sweep, the PyTorch cross-check, the arguments
** spec, nn.export's spec, the docs): the constructor call in Lua, the
** same layer in PyTorch (a Python expression over torch; NULL where
** PyTorch has none to compare with, or the layer draws at random), and
** its input: cols columns, normal numbers, or whole numbers from 1 to
** ids (token ids) when ids > 0. */
typedef struct LayerExample {
  const char *lua;
  const char *torch;
  int cols;
  int ids;
} LayerExample;

typedef struct LayerKind {
  const char *name;
  const char *sig, *doc;      /* nn.help's entry: a signature and a line */
  /* docs/format.md: what config() holds, the parameters and the buffers
  ** (NULL: none) */
  const char *configdoc, *paramsdoc, *buffersdoc;
  LayerExample examples[NN_MAXEXAMPLES];       /* the first is the main one */
  /* Reads the constructor's arguments at a, a + 1, ... (none past the
  ** top) into m; fn is "nn.Name" for errors.  Allocates nothing: the
  ** generic constructor then makes the parameters. */
  void (*init)(lua_State *L, Module *m, const char *fn, int a);
  /* the parameters (buf 0) or buffers (buf 1) in order, into t (room for
  ** NN_MAXTENSORS); returns the count.  Called on every forward: it only
  ** fills in names and shapes */
  int (*tensors)(const Module *m, int buf, Tensor *t);
  /* fills the parameters p and buffers b (zeroed) as m->init says */
  void (*reset)(Rng *r, const Module *m, float *const *p, float *const *b);
  /* y = f(x), and the backward pass: gx = dL/dx, g += dL/dp */
  void (*forward)(Ctx *c);
  void (*backward)(Ctx *c);
  /* pushes the constructor's arguments as a list, for the model file */
  void (*config)(lua_State *L, const Module *m);
  /* appends what follows "nn.Name" in tostring, e.g. "(784 -> 10)" */
  void (*describe)(luaL_Buffer *b, const Module *m);
  /* for image kinds: checks m->in and sets m->out, m->nin and m->nout */
  void (*shape)(lua_State *L, Module *m, const char *fn);
  /* the output's width for an input of cols columns (accepted already);
  ** NULL: nout, or T dout for a sequence layer, or cols */
  lua_Integer (*outcols)(const Module *m, int cols);
  /* a PyTorch buffer lua-nn does not keep, a whole number a state dict
  ** holds as 0 (BatchNorm's num_batches_tracked); NULL: none */
  const char *torchcount;
  const char *field;          /* the name the settings' first float goes by */
  int settable;               /* m.<field> = v is allowed */
  int skipgx;                 /* backward honours wantgx = false */
  int flat;                   /* forgets its input's image shape (Flatten) */
  const void *data;           /* the kind's constant data (activations' kernels) */
  /* methods of this kind only (the recurrent layers' setState, step, ...),
  ** looked up after the common ones; NULL: none */
  const luaL_Reg *methods;
} LayerKind;

/* the field of a kind that has one: the first float of its settings */
#define NN_FIELD(m) (*NN_SET(m, float))

/* Module.init: how a constructor fills the parameters (zeros draws
** nothing from the generator: the model loader uses it) */
enum { NN_INIT_KAIMING, NN_INIT_XAVIER, NN_INIT_UNIFORM, NN_INIT_ZEROS };

/* the registries (each ends with a kind whose name is NULL) */
extern const LayerKind nn_dense_kinds[];
extern const LayerKind nn_activation_kinds[];
extern const LayerKind nn_conv_kinds[];
extern const LayerKind nn_norm_kinds[];
extern const LayerKind nn_rnn_kinds[];

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
/* a tensor: name, PyTorch's name (NULL: the same), rows x cols, and
** PyTorch's shape rows x cols (set t->ndim and t->dims for another) */
void nn_tensor(Tensor *t, const char *name, const char *torch, int rows,
               int cols);
/* PyTorch's shape of t: ndim sizes */
void nn_torchshape(Tensor *t, int ndim, int d0, int d1, int d2, int d3);
/* config list helpers: t[i] = v */
void nn_setint(lua_State *L, int i, lua_Integer v);
void nn_setnum(lua_State *L, int i, lua_Number v);
/* table fields: t.k = v (nothing for a NULL v), t.k = boolean v */
void nn_setstr(lua_State *L, const char *k, const char *v);
void nn_setbool(lua_State *L, const char *k, int v);

/* registry.c: the parameters (buf 0) or buffers (buf 1) of m into t; the
** count.  The user values of m's gradient i and buffer i. */
int nn_tensorsof(lua_State *L, const Module *m, int buf, Tensor *t);
static inline int nn_uvgrad(const Module *m, int i) {
  return UV_P0 + m->np + i;
}
static inline int nn_uvbuf(const Module *m, int i) {
  return UV_P0 + 2 * m->np + i;
}
/* the table kind -> its own methods; nn.<Kind>, build and layers into the
** table on top */
void nn_pushkindmethods(lua_State *L);
void nn_registry_open(lua_State *L);

#endif
