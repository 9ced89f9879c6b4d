/*
** activations.c: the pointwise layers' descriptors.  Each is its kernels
** (k_act.c) and, for the three with a parameter, its name, default and
** lower bound; one forward and one backward here serve them all.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "module.h"
#include "pool.h"

/* a pointwise kind's constant data: its kernels, and for the three with
** a parameter (the field, the first float of the settings) its default
** and whether it must be > 0 */
typedef struct Act {
  k_actfn f;                  /* y = f(x) */
  k_actgrad df;               /* gx = gy f'(x) */
  float def;
  int positive;
} Act;

#define ACT(m) ((const Act *)(m)->kind->data)

/* nn.Name([a]) for kinds with a field, nn.Name() otherwise */
static void act_init(lua_State *L, Module *m, const char *fn, int a) {
  const LayerKind *k = m->kind;
  char what[32];
  float v;
  if (!k->field) {
    nn_noargs(L, fn, a);
    return;
  }
  snprintf(what, sizeof what, "argument 1 (%s)", k->field);
  v = nn_optfloat(L, a, ACT(m)->def, fn, what);
  if (ACT(m)->positive && !(v > 0))
    luaL_error(L, "%s: %s must be > 0", fn, k->field);
  NN_FIELD(m) = v;
}

/* elementwise, in ranges across the state's threads */
typedef struct ActJob {
  const Ctx *c;
  float a;
} ActJob;

/* ranges of at least this many elements (a few us of the cheapest).  The
** rows a Linear wrote on 2 threads are half in the other core's cache:
** with 16384 a batch-64 MLP's 64 x 256 ReLU ran on the caller alone,
** which fetched the worker's half, and took 13 to 18 us on 2 threads
** against 5 on 1; split, each thread fetches half, 5 to 8.  With 4096 a
** one-image CNN's first ReLU (16 x 28 x 28, all on the caller, whose
** convolution was one part) was split too, and its forward ran 10 to
** 20% slower on 2 threads than on 1. */
#define ACT_GRAIN 8192

static void fpart(void *arg, size_t a, size_t b, int thread) {
  const ActJob *j = (const ActJob *)arg;
  const Ctx *c = j->c;
  (void)thread;
  ACT(c->m)->f(c->out + a, c->x + a, b - a, j->a);
}

static void dfpart(void *arg, size_t a, size_t b, int thread) {
  const ActJob *j = (const ActJob *)arg;
  const Ctx *c = j->c;
  (void)thread;
  ACT(c->m)->df(c->gx + a, c->x + a, c->y + a, c->gy + a, b - a, j->a);
}

static void act_forward(Ctx *c) {
  ActJob j;
  j.c = c;
  j.a = NN_FIELD(c->m);
  nn_prange(c->pool, fpart, &j, (size_t)c->n * c->cols, ACT_GRAIN);
}

static void act_backward(Ctx *c) {
  ActJob j;
  j.c = c;
  j.a = NN_FIELD(c->m);
  nn_prange(c->pool, dfpart, &j, (size_t)c->n * c->cols, ACT_GRAIN);
}

static const char *const gelu_options[] = {"approximate", NULL};

typedef struct GeluSet {
  int tanh;                   /* the tanh approximation */
} GeluSet;

static void gelu_option(lua_State *L, void *ud, const char *fn,
                        const char *k) {
  static const char *const ways[] = {"none", "tanh", NULL};
  NN_SET((Module *)ud, GeluSet)->tanh = nn_optchoice(L, -1, fn, k, ways);
}

/* GELU([{approximate = "none" | "tanh"}]), as PyTorch's */
static void gelu_init(lua_State *L, Module *m, const char *fn, int a) {
  nn_options(L, a, fn, gelu_options, gelu_option, m);
}

static void gelu_forward(Ctx *c) {
  (NN_CSET(c->m, GeluSet)->tanh ? k_gelutanh_forward : k_gelu_forward)(
      c->out, c->x, (size_t)c->n * c->cols, 0);
}

static void gelu_backward(Ctx *c) {
  (NN_CSET(c->m, GeluSet)->tanh ? k_gelutanh_backward : k_gelu_backward)(
      c->gx, c->x, c->y, c->gy, (size_t)c->n * c->cols, 0);
}

static void gelu_config(lua_State *L, const Module *m) {
  if (!NN_CSET(m, GeluSet)->tanh) return;
  lua_createtable(L, 0, 1);
  lua_pushstring(L, "tanh");
  lua_setfield(L, -2, "approximate");
  lua_rawseti(L, -2, 1);
}

static void gelu_describe(luaL_Buffer *b, const Module *m) {
  if (NN_CSET(m, GeluSet)->tanh) luaL_addstring(b, "(tanh)");
}

/* the kinds' data */
#define KERNELS(nm, def, pos)                                                \
  static const Act nm##_data = {k_##nm##_forward, k_##nm##_backward, def, pos}
KERNELS(identity, 0, 0);
KERNELS(sigmoid, 0, 0);
KERNELS(tanh, 0, 0);
KERNELS(relu, 0, 0);
KERNELS(leakyrelu, 0.01f, 0);
KERNELS(elu, 1.0f, 0);
KERNELS(softplus, 1.0f, 1);
KERNELS(piecewise, 0, 0);
static const Act step_data = {k_step_forward, k_zero_backward, 0, 0};
static const Act sign_data = {k_sign_forward, k_zero_backward, 0, 0};

static const char *const noconfig = "empty";

/* a kind without a parameter: its name, help, PyTorch's, input columns */
#define POINTWISE(nm, sg, dc, dat, torch)                                    \
  {.name = nm, .sig = sg, .doc = dc, .configdoc = noconfig,                 \
   .examples = {{sg, torch, 8, 0}}, .init = act_init,                       \
   .forward = act_forward, .backward = act_backward, .data = &dat}
/* one with: its field, the example's value and PyTorch's example */
#define POINTWISEA(nm, sg, dc, dat, fd, ex, torch)                           \
  {.name = nm, .sig = sg, .doc = dc, .configdoc = fd,                       \
   .examples = {{ex, torch, 8, 0}}, .init = act_init,                       \
   .forward = act_forward, .backward = act_backward, .data = &dat,          \
   .field = fd}

const LayerKind nn_activation_kinds[] = {
  POINTWISE("Identity", "nn.Identity()", "y = x.", identity_data,
            "torch.nn.Identity()"),
  POINTWISE("Sigmoid", "nn.Sigmoid()",
            "y = 1 / (1 + exp(-x)), elementwise, computed without overflow.",
            sigmoid_data, "torch.nn.Sigmoid()"),
  POINTWISE("Tanh", "nn.Tanh()", "y = tanh(x), elementwise.", tanh_data,
            "torch.nn.Tanh()"),
  POINTWISE("ReLU", "nn.ReLU()", "y = max(0, x), elementwise.", relu_data,
            "torch.nn.ReLU()"),
  POINTWISEA("LeakyReLU", "nn.LeakyReLU([slope = 0.01])",
             "y = x above 0, slope * x below.", leakyrelu_data, "slope",
             "nn.LeakyReLU(0.1)", "torch.nn.LeakyReLU(0.1)"),
  POINTWISEA("ELU", "nn.ELU([alpha = 1])",
             "y = x above 0, alpha (exp(x) - 1) below.", elu_data, "alpha",
             "nn.ELU(0.7)", "torch.nn.ELU(0.7)"),
  POINTWISEA("Softplus", "nn.Softplus([beta = 1])",
             "y = log(1 + exp(beta x)) / beta, stable.", softplus_data,
             "beta", "nn.Softplus(2)",
             "torch.nn.Softplus(beta=2, threshold=1e30)"),
  /* PyTorch's heaviside has no gradient: 0, as here */
  POINTWISE("Step", "nn.Step()",
            "Heaviside: 0 below 0, 1/2 at 0, 1 above; gradient 0.",
            step_data,
            "lambda x: torch.heaviside(x.detach(), torch.tensor(0.5)) + 0 * x"),
  POINTWISE("Sign", "nn.Sign()", "-1, 0 or 1; gradient 0.", sign_data,
            "torch.sign"),
  POINTWISE("PiecewiseLinear", "nn.PiecewiseLinear()",
            "0 below -1/2, x + 1/2 between, 1 above 1/2; gradient 1 inside.",
            piecewise_data, "lambda x: torch.clamp(x + 0.5, 0, 1)"),
  {.name = "GELU", .sig = "nn.GELU([{approximate = \"none\" | \"tanh\"}])",
   .doc = "y = x Phi(x), Phi the normal CDF (exact, with erf), or its tanh "
          "approximation; as PyTorch's.",
   .configdoc = "empty, or {map {`approximate` = \"tanh\"}}",
   .examples = {{"nn.GELU()", "torch.nn.GELU()", 8, 0},
                {"nn.GELU({approximate = \"tanh\"})",
                 "torch.nn.GELU(approximate='tanh')", 8, 0}},
   .init = gelu_init, .forward = gelu_forward, .backward = gelu_backward,
   .config = gelu_config, .describe = gelu_describe},
  {.name = NULL}
};
