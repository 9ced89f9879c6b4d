/*
** rnn.c: the recurrent layers' descriptors, as PyTorch's: nn.RNN (tanh or
** ReLU), nn.LSTM and nn.GRU, of any number of layers, one direction or
** both, dropout between layers, batch first: a batch is n rows of T steps
** of D features (any T), the output n rows of T steps of dirs*H (or, with
** returns = "last", the top layer's final states, dirs*H).  Parameters and
** state-dict names are PyTorch's (weight_ih_l0, bias_hh_l1_reverse, ...),
** in its order, so weights load from PyTorch.  Kernels in k_rnn.c.
**
** The state: forward starts from zeros, or from what setState gave; it
** leaves the final state, which state() returns and from which step()
** goes on (generation, one token at a time, without the prefix again).
** A state is n x (layers*dirs*H): for each sample, layer 1's forward
** state, then its reverse state, then layer 2's, ... (PyTorch's h_n of
** (layers*dirs, n, H), transposed to batch first).  These live in a table
** in the module's second scratch slot, with the forward's saved arrays
** and backward's scratch, each reused while its size fits.
**
** This file: the descriptors (options, tensors, saving, printing);
** rnn_run.c: a run (forward, backward, the state's methods); rnn.h what
** they share.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rnn.h"

/* nn.RNN's options; the gated kinds' lack the last */
static const char *const rnn_options[] = {"layers", "bidirectional",
                                          "dropout", "bias", "returns",
                                          "nonlinearity", NULL};
static const char *const gated_options[] = {"layers", "bidirectional",
                                            "dropout", "bias", "returns",
                                            NULL};
static const char *const returns_names[] = {"all", "last", NULL};
static const char *const nonlin_names[] = {"tanh", "relu", NULL};

static void rnn_option(lua_State *L, void *ud, const char *fn,
                       const char *k) {
  Module *m = (Module *)ud;
  RNNSet *s = RS(m);
  if (strcmp(k, "layers") == 0) {
    s->L = (int)nn_checkwhole(L, -1, fn, "option layers", 1, NN_MAXTENSORS);
  } else if (strcmp(k, "bidirectional") == 0) {
    s->dirs = nn_optboolean(L, -1, fn, k) ? 2 : 1;
  } else if (strcmp(k, "dropout") == 0) {
    s->dropout = nn_optfloat(L, -1, 0, fn, "option dropout");
    if (!(s->dropout >= 0 && s->dropout < 1))
      luaL_error(L, "%s: dropout must be in [0, 1), got %f", fn,
                 (double)s->dropout);
  } else if (strcmp(k, "bias") == 0) {
    s->bias = nn_optboolean(L, -1, fn, k);
  } else if (strcmp(k, "returns") == 0) {
    s->last = nn_optchoice(L, -1, fn, k, returns_names);
  } else {                                        /* nonlinearity */
    s->cell = nn_optchoice(L, -1, fn, k, nonlin_names) ? K_RNN_RELU
                                                       : K_RNN_TANH;
  }
}

/* nn.LSTM(D, H [, {layers = 1, bidirectional = false, dropout = 0, bias =
** true, returns = "all"}]); nn.RNN also nonlinearity = "tanh" */
static void rnn_init(lua_State *L, Module *m, const char *fn, int a) {
  RNNSet *s = RS(m);
  const char *name = m->kind->name;
  lua_Integer G, wide;
  s->cell = strcmp(name, "LSTM") == 0 ? K_LSTM
            : strcmp(name, "GRU") == 0 ? K_GRU : K_RNN_TANH;
  s->D = (int)nn_checkwhole(L, a, fn, "argument 1 (inputSize)", 1,
                            NN_MAXELEMS);
  s->H = (int)nn_checkwhole(L, a + 1, fn, "argument 2 (hiddenSize)", 1,
                            NN_MAXELEMS);
  s->L = 1;
  s->dirs = 1;
  s->bias = 1;
  nn_options(L, a + 2, fn, s->cell == K_RNN_TANH ? rnn_options
                                                 : gated_options,
             rnn_option, m);
  if (s->L * s->dirs * pertensor(s) > NN_MAXTENSORS)
    luaL_error(L, "%s: %d layers%s%s make %d tensors, at most %d (%d layers)",
               fn, s->L, s->dirs == 2 ? ", bidirectional" : "",
               s->bias ? ", with biases" : "",
               s->L * s->dirs * pertensor(s), NN_MAXTENSORS,
               NN_MAXTENSORS / (s->dirs * pertensor(s)));
  /* every weight, and the state's width, must be a matrix */
  G = k_rnn_gates(s->cell);
  wide = s->D > s->dirs * (lua_Integer)s->H ? s->D
                                            : s->dirs * (lua_Integer)s->H;
  nn_checkcount(L, fn, G * s->H, wide);
  nn_checkcount(L, fn, (lua_Integer)s->L * s->dirs, s->H);
  m->din = s->D;
  m->dout = s->last ? 0 : s->dirs * s->H;   /* no steps: not a sequence */
}

/* per layer l and direction d, PyTorch's names and order; weights G H x
** D (layer 0) or G H x dirs H, G H x H, biases 1 x G H (PyTorch's (G H)) */
static int rnn_tensors(const Module *m, int buf, Tensor *t) {
  const RNNSet *s = CRS(m);
  int GH = k_rnn_gates(s->cell) * s->H, l, d, k = 0;
  if (buf) return 0;
  for (l = 0; l < s->L; l++)
    for (d = 0; d < s->dirs; d++) {
      char nm[NN_NAMELEN];
      const char *rev = d ? "_reverse" : "";
      snprintf(nm, sizeof nm, "weight_ih_l%d%s", l, rev);
      nn_tensor(&t[k++], nm, NULL, GH, l ? s->dirs * s->H : s->D);
      snprintf(nm, sizeof nm, "weight_hh_l%d%s", l, rev);
      nn_tensor(&t[k++], nm, NULL, GH, s->H);
      if (!s->bias) continue;
      snprintf(nm, sizeof nm, "bias_ih_l%d%s", l, rev);
      nn_tensor(&t[k], nm, NULL, 1, GH);
      nn_torchshape(&t[k++], 1, GH, 0, 0, 0);
      snprintf(nm, sizeof nm, "bias_hh_l%d%s", l, rev);
      nn_tensor(&t[k], nm, NULL, 1, GH);
      nn_torchshape(&t[k++], 1, GH, 0, 0, 0);
    }
  return k;
}

/* PyTorch's: every weight and bias U(-1/sqrt(H), 1/sqrt(H)), in order */
static void rnn_reset(Rng *r, const Module *m, float *const *p,
                      float *const *b) {
  Tensor t[NN_MAXTENSORS];
  const RNNSet *s = CRS(m);
  float bound = 1.0f / sqrtf((float)s->H);
  int n = rnn_tensors(m, 0, t), i;
  (void)b;
  if (m->init == NN_INIT_ZEROS) return;
  for (i = 0; i < n; i++)
    k_rand(r, p[i], (size_t)t[i].rows * t[i].cols, -bound, bound);
}

/* the output: T steps of dirs*H, or the final states only */
static lua_Integer rnn_outcols(const Module *m, int cols) {
  const RNNSet *s = CRS(m);
  lua_Integer Hd = (lua_Integer)s->dirs * s->H;
  return s->last ? Hd : (lua_Integer)(cols / s->D) * Hd;
}

/* ---- saving and printing ------------------------------------------------- */

static void rnn_config(lua_State *L, const Module *m) {
  const RNNSet *s = CRS(m);
  nn_setint(L, 1, s->D);
  nn_setint(L, 2, s->H);
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, s->L);
  lua_setfield(L, -2, "layers");
  lua_pushboolean(L, s->dirs == 2);
  lua_setfield(L, -2, "bidirectional");
  lua_pushnumber(L, s->dropout);
  lua_setfield(L, -2, "dropout");
  lua_pushboolean(L, s->bias);
  lua_setfield(L, -2, "bias");
  lua_pushstring(L, returns_names[s->last]);
  lua_setfield(L, -2, "returns");
  if (s->cell == K_RNN_TANH || s->cell == K_RNN_RELU) {
    lua_pushstring(L, nonlin_names[s->cell == K_RNN_RELU]);
    lua_setfield(L, -2, "nonlinearity");
  }
  lua_rawseti(L, -2, 3);
}

static void rnn_describe(luaL_Buffer *b, const Module *m) {
  const RNNSet *s = CRS(m);
  char d[160];
  size_t len = (size_t)snprintf(d, sizeof d, "(%d -> %d", s->D, s->H);
  if (s->L > 1)
    len += (size_t)snprintf(d + len, sizeof d - len, ", %d layers", s->L);
  if (s->dirs == 2)
    len += (size_t)snprintf(d + len, sizeof d - len, ", bidirectional");
  if (s->cell == K_RNN_RELU)
    len += (size_t)snprintf(d + len, sizeof d - len, ", relu");
  if (s->dropout > 0)
    len += (size_t)snprintf(d + len, sizeof d - len, ", dropout %g",
                            (double)s->dropout);
  if (!s->bias)
    len += (size_t)snprintf(d + len, sizeof d - len, ", no bias");
  if (s->last)
    len += (size_t)snprintf(d + len, sizeof d - len, ", last step");
  snprintf(d + len, sizeof d - len, ")");
  luaL_addstring(b, d);
}

#define RNN_STATEDOC                                                        \
  " State (n x layers*dirs*H): m:setState(h) where forward starts (zeros), " \
  "m:state() where it ended, m:step(x) goes on from there; "                \
  "m:gradState() after backward."
#define RNN_CONFIGDOC                                                       \
  "inputSize, hiddenSize, map {`layers`, `bidirectional`, `dropout`, "      \
  "`bias`, `returns`"
#define RNN_PARAMSDOC                                                       \
  "for each layer l (from 0) and direction (forward, then `_reverse`), "    \
  "PyTorch's names and order: weight_ih_l<l> (G*H x inputSize, or "        \
  "x dirs*H above layer 0), weight_hh_l<l> (G*H x H), then bias_ih_l<l> "  \
  "and bias_hh_l<l> (1 x G*H) unless `bias` is false; G = "

const LayerKind nn_rnn_kinds[] = {
  {.name = "RNN",
   .sig = "nn.RNN(inputSize, hiddenSize [, {layers = 1, bidirectional = "
          "false, dropout = 0, bias = true, returns = \"all\", "
          "nonlinearity = \"tanh\"}])",
   .doc = "An Elman RNN over rows of T steps of inputSize (any T), as "
          "PyTorch's (batch first): h = tanh (or relu)(x W_ih^T + b_ih + "
          "h' W_hh^T + b_hh); the output is every step's h of the top "
          "layer (T steps of dirs*H), or with returns = \"last\" its "
          "final states (dirs*H)." RNN_STATEDOC,
   .configdoc = RNN_CONFIGDOC ", `nonlinearity`}",
   .paramsdoc = RNN_PARAMSDOC "1",
   .examples = {{"nn.RNN(3, 4)",
                 "torch.nn.RNN(3, 4, batch_first=True)", 15, 0},
                {"nn.RNN(2, 3, {layers = 2, bidirectional = true, "
                 "nonlinearity = \"relu\"})",
                 "torch.nn.RNN(2, 3, num_layers=2, bidirectional=True, "
                 "nonlinearity='relu', batch_first=True)", 8, 0},
                {"nn.RNN(3, 2, {bias = false, returns = \"last\"})", NULL, 9,
                 0}},
   .init = rnn_init, .tensors = rnn_tensors, .reset = rnn_reset,
   .forward = nn_rnn_forward, .backward = nn_rnn_backward,
   .config = rnn_config, .describe = rnn_describe, .outcols = rnn_outcols,
   .skipgx = 1,
   .methods = nn_rnn_methods},
  {.name = "LSTM",
   .sig = "nn.LSTM(inputSize, hiddenSize [, {layers = 1, bidirectional = "
          "false, dropout = 0, bias = true, returns = \"all\"}])",
   .doc = "A long short-term memory over rows of T steps of inputSize (any "
          "T), as PyTorch's (batch first; gates i, f, g, o): the output is "
          "every step's h of the top layer (T steps of dirs*H), or with "
          "returns = \"last\" its final states (dirs*H)." RNN_STATEDOC
          " An LSTM's state is h and c.",
   .configdoc = RNN_CONFIGDOC "}",
   .paramsdoc = RNN_PARAMSDOC "4 (gates i, f, g, o)",
   .examples = {{"nn.LSTM(3, 4)",
                 "torch.nn.LSTM(3, 4, batch_first=True)", 15, 0},
                {"nn.LSTM(2, 3, {layers = 2, bidirectional = true})",
                 "torch.nn.LSTM(2, 3, num_layers=2, bidirectional=True, "
                 "batch_first=True)", 8, 0},
                {"nn.LSTM(4, 3, {bias = false})",
                 "torch.nn.LSTM(4, 3, bias=False, batch_first=True)", 4, 0},
                {"nn.LSTM(3, 5, {layers = 2, returns = \"last\"})", NULL, 12,
                 0}},
   .init = rnn_init, .tensors = rnn_tensors, .reset = rnn_reset,
   .forward = nn_rnn_forward, .backward = nn_rnn_backward,
   .config = rnn_config, .describe = rnn_describe, .outcols = rnn_outcols,
   .skipgx = 1,
   .methods = nn_rnn_methods},
  {.name = "GRU",
   .sig = "nn.GRU(inputSize, hiddenSize [, {layers = 1, bidirectional = "
          "false, dropout = 0, bias = true, returns = \"all\"}])",
   .doc = "A gated recurrent unit over rows of T steps of inputSize (any "
          "T), as PyTorch's (batch first; gates r, z, n): the output is "
          "every step's h of the top layer (T steps of dirs*H), or with "
          "returns = \"last\" its final states (dirs*H)." RNN_STATEDOC,
   .configdoc = RNN_CONFIGDOC "}",
   .paramsdoc = RNN_PARAMSDOC "3 (gates r, z, n)",
   .examples = {{"nn.GRU(3, 4)",
                 "torch.nn.GRU(3, 4, batch_first=True)", 15, 0},
                {"nn.GRU(2, 3, {layers = 2, bidirectional = true})",
                 "torch.nn.GRU(2, 3, num_layers=2, bidirectional=True, "
                 "batch_first=True)", 8, 0},
                {"nn.GRU(3, 4, {bidirectional = true, returns = \"last\"})",
                 NULL, 6, 0}},
   .init = rnn_init, .tensors = rnn_tensors, .reset = rnn_reset,
   .forward = nn_rnn_forward, .backward = nn_rnn_backward,
   .config = rnn_config, .describe = rnn_describe, .outcols = rnn_outcols,
   .skipgx = 1,
   .methods = nn_rnn_methods},
  {.name = NULL}
};
