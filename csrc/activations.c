/*
** activations.c: the pointwise layers' descriptors.  Each is its kernels
** (k_act.c) and, for the three with a parameter, its name, default and
** lower bound; one forward and one backward here serve them all.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "module.h"

/* nn.Name([a]) for kinds with a field, nn.Name() otherwise */
static void act_init(lua_State *L, Module *m, const char *fn, int a) {
  const LayerKind *k = m->kind;
  if (!k->field) {
    nn_noargs(L, fn, a);
    return;
  }
  char what[32];
  snprintf(what, sizeof what, "argument 1 (%s)", k->field);
  m->a = nn_optfloat(L, a, k->def, fn, what);
  if (k->positive && !(m->a > 0))
    luaL_error(L, "%s: %s must be > 0", fn, k->field);
}

static void act_forward(Ctx *c) {
  const Module *m = c->m;
  m->kind->f(c->out, c->x, (size_t)c->n * c->cols, m->a);
}

static void act_backward(Ctx *c) {
  const Module *m = c->m;
  m->kind->df(c->gx, c->x, c->y, c->gy, (size_t)c->n * c->cols, m->a);
}

static const char *const gelu_options[] = {"approximate", NULL};

static void gelu_option(lua_State *L, void *ud, const char *fn,
                        const char *k) {
  static const char *const ways[] = {"none", "tanh", NULL};
  ((Module *)ud)->c[0] = nn_optchoice(L, -1, fn, k, ways);
}

/* GELU([{approximate = "none" | "tanh"}]), as PyTorch's: c[0] is 1 for
** the tanh approximation */
static void gelu_init(lua_State *L, Module *m, const char *fn, int a) {
  nn_options(L, a, fn, gelu_options, gelu_option, m);
}

static void gelu_forward(Ctx *c) {
  (c->m->c[0] ? k_gelutanh_forward : k_gelu_forward)(
      c->out, c->x, (size_t)c->n * c->cols, 0);
}

static void gelu_backward(Ctx *c) {
  (c->m->c[0] ? k_gelutanh_backward : k_gelu_backward)(
      c->gx, c->x, c->y, c->gy, (size_t)c->n * c->cols, 0);
}

static void gelu_config(lua_State *L, const Module *m) {
  if (!m->c[0]) return;
  lua_createtable(L, 0, 1);
  lua_pushstring(L, "tanh");
  lua_setfield(L, -2, "approximate");
  lua_rawseti(L, -2, 1);
}

static void gelu_describe(luaL_Buffer *b, const Module *m) {
  if (m->c[0]) luaL_addstring(b, "(tanh)");
}

#define ACT(nm, sg, dc, fw, bw)                                              \
  {.name = nm, .sig = sg, .doc = dc, .init = act_init,                      \
   .forward = act_forward, .backward = act_backward, .f = fw, .df = bw}
#define ACTA(nm, sg, dc, fw, bw, fd, df_, pos)                              \
  {.name = nm, .sig = sg, .doc = dc, .init = act_init,                      \
   .forward = act_forward, .backward = act_backward, .f = fw, .df = bw,     \
   .field = fd, .def = df_, .positive = pos}

const LayerKind nn_activation_kinds[] = {
  ACT("Identity", "nn.Identity()", "y = x.",
      k_identity_forward, k_identity_backward),
  ACT("Sigmoid", "nn.Sigmoid()",
      "y = 1 / (1 + exp(-x)), elementwise, computed without overflow.",
      k_sigmoid_forward, k_sigmoid_backward),
  ACT("Tanh", "nn.Tanh()", "y = tanh(x), elementwise.",
      k_tanh_forward, k_tanh_backward),
  ACT("ReLU", "nn.ReLU()", "y = max(0, x), elementwise.",
      k_relu_forward, k_relu_backward),
  ACTA("LeakyReLU", "nn.LeakyReLU([slope = 0.01])",
       "y = x above 0, slope * x below.",
       k_leakyrelu_forward, k_leakyrelu_backward, "slope", 0.01f, 0),
  ACTA("ELU", "nn.ELU([alpha = 1])", "y = x above 0, alpha (exp(x) - 1) below.",
       k_elu_forward, k_elu_backward, "alpha", 1.0f, 0),
  ACTA("Softplus", "nn.Softplus([beta = 1])",
       "y = log(1 + exp(beta x)) / beta, stable.",
       k_softplus_forward, k_softplus_backward, "beta", 1.0f, 1),
  ACT("Step", "nn.Step()", "Heaviside: 0 below 0, 1/2 at 0, 1 above; gradient 0.",
      k_step_forward, k_zero_backward),
  ACT("Sign", "nn.Sign()", "-1, 0 or 1; gradient 0.",
      k_sign_forward, k_zero_backward),
  ACT("PiecewiseLinear", "nn.PiecewiseLinear()",
      "0 below -1/2, x + 1/2 between, 1 above 1/2; gradient 1 inside.",
      k_piecewise_forward, k_piecewise_backward),
  {.name = "GELU", .sig = "nn.GELU([{approximate = \"none\" | \"tanh\"}])",
   .doc = "y = x Phi(x), Phi the normal CDF (exact, with erf), or its tanh "
          "approximation; as PyTorch's.",
   .init = gelu_init, .forward = gelu_forward, .backward = gelu_backward,
   .config = gelu_config, .describe = gelu_describe},
  {.name = NULL}
};
