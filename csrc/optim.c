/*
** optim.c: bindings for the optimizer kernels.  The optimizers themselves
** are Lua (lua/nn/optim.lua); each step calls one of these once, on lists
** of every parameter, its gradient and its state, one Matrix a parameter:
**   sgd(params, grads, bufs|nil, lr, momentum, dampening, wd, nesterov,
**       fresh|nil)
**   adam(params, grads, m, v, vmax|nil, lr, beta1, beta2, eps, wd,
**        decoupled, t)
**   rmsprop(params, grads, v, gavg|nil, bufs|nil, lr, alpha, eps, wd,
**           momentum)
**   adagrad(params, grads, sums, clr, eps, wd)
**   zero(grads)
** A state Matrix has its parameter's shape; fresh[i] true says bufs[i] is
** new (SGD's first step with it: bufs[i] = the gradient).  No array may
** share memory with another where either is written (the kernels' arrays
** must not overlap, and two threads may run them at once).  Gradient
** clipping (nn.clipGradNorm, nn.clipGradValue: lua/nn/clip.lua) calls
**   gradnorm(g, p), clamp(g, v)
*/
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "pool.h"

/* ---- one job for every parameter ---------------------------------------- */

/* A step is one job on the state's threads (pool.c), however many
** parameters: thread t updates the t-th share of each one, the rows the
** layers' products give it (pool.c splits W's rows alike), and takes its
** shares in up to 4 pieces (nn_nparts) so that the others can take what
** it has not begun.  Each tensor's update is elementwise, so the bits do
** not depend on the split.  A call per parameter took a job each, and the
** small ones a job that did not pay: on 2 threads a batch-64 MLP's 256 x
** 128 weight took 10.2 us against 6.3 on one thread. */
enum { MAXT = 64, STATES = 3 };

typedef struct Multi Multi;
/* tensor i's elements a .. a + n - 1 */
typedef void (*Update)(const Multi *u, int i, size_t a, size_t n);

struct Multi {
  Update fn;
  int ntens, nt, per;           /* tensors, shares, parts a share */
  float *p[MAXT], *s[STATES][MAXT];
  const float *g[MAXT];
  size_t n[MAXT];
  unsigned char fresh[MAXT];
  float f[5];
  int flag;
  int64_t t;
};

/* where share t of tensor i begins: whole vectors of 16 but the end */
static size_t share(const Multi *u, int i, int t) {
  return t == u->nt ? u->n[i] : u->n[i] * (size_t)t / (size_t)u->nt / 16 * 16;
}

/* part k of share t: its piece of the share's concatenated ranges */
static void multipart(void *arg, int part, int thread) {
  const Multi *u = (const Multi *)arg;
  int t = part / u->per, k = part % u->per, i;
  size_t total = 0, a, b, at = 0;
  (void)thread;
  for (i = 0; i < u->ntens; i++) total += share(u, i, t + 1) - share(u, i, t);
  a = total * (size_t)k / (size_t)u->per / 16 * 16;
  b = k + 1 == u->per ? total
                      : total * (size_t)(k + 1) / (size_t)u->per / 16 * 16;
  for (i = 0; i < u->ntens && at < b; i++) {
    size_t lo = share(u, i, t), len = share(u, i, t + 1) - lo;
    size_t x = a > at ? a - at : 0, y = b - at < len ? b - at : len;
    if (x < y) u->fn(u, i, lo + x, y - x);
    at += len;
  }
}

/* runs u on the state's threads: as many parts as nn_prange would give
** the elements of all its tensors (nn_nparts), in whole shares, or one
** where those are fewer than the threads */
static void run(lua_State *L, Multi *u) {
  Pool *pool = nn_pool(L);
  size_t total = 0;
  int i;
  for (i = 0; i < u->ntens; i++) total += u->n[i];
  u->nt = nn_poolsize(pool);
  u->per = (int)(nn_nparts(pool, total, NN_PARAM_GRAIN) / (size_t)u->nt);
  if (u->per < 1 || u->nt == 1) u->nt = u->per = 1;
  nn_parallel(pool, multipart, u, u->nt * u->per);
}

static void sgd1(const Multi *u, int i, size_t a, size_t n) {
  k_sgd(u->p[i] + a, u->g[i] + a, u->s[0][i] ? u->s[0][i] + a : NULL, n,
        u->f[0], u->f[1], u->f[2], u->f[3], u->flag, u->fresh[i]);
}

static void adam1(const Multi *u, int i, size_t a, size_t n) {
  k_adam(u->p[i] + a, u->g[i] + a, u->s[0][i] + a, u->s[1][i] + a,
         u->s[2][i] ? u->s[2][i] + a : NULL, n, u->f[0], u->f[1], u->f[2],
         u->f[3], u->f[4], u->flag, u->t);
}

static void rms1(const Multi *u, int i, size_t a, size_t n) {
  k_rmsprop(u->p[i] + a, u->g[i] + a, u->s[0][i] + a,
            u->s[1][i] ? u->s[1][i] + a : NULL,
            u->s[2][i] ? u->s[2][i] + a : NULL, n, u->f[0], u->f[1],
            u->f[2], u->f[3], u->f[4]);
}

static void adagrad1(const Multi *u, int i, size_t a, size_t n) {
  k_adagrad(u->p[i] + a, u->g[i] + a, u->s[0][i] + a, n, u->f[0], u->f[1],
            u->f[2]);
}

static void zero1(const Multi *u, int i, size_t a, size_t n) {
  memset(u->p[i] + a, 0, n * sizeof(float));
}

/* ---- the lists ----------------------------------------------------------- */

/* The lists of one call: their names for messages, their stack slots (0:
** absent), which are written, which are required. */
typedef struct Lists {
  const char *fn;
  int count;                    /* lists: params (or grads for zero) first */
  const char *name[2 + STATES];
  int arg[2 + STATES];
  int written[2 + STATES];
  int dups;                     /* an entry twice is cleared once (zero) */
} Lists;

/* list j's entry i (0-based), a Matrix of the first list's entry's shape */
static Matrix *entry(lua_State *L, const Lists *ls, int j, int i,
                     const Matrix *p) {
  Matrix *m;
  lua_rawgeti(L, ls->arg[j], i + 1);
  m = nn_tomatrix(L, -1);
  lua_pop(L, 1);
  if (!m)
    luaL_error(L, "%s: %s[%d] is not a Matrix", ls->fn, ls->name[j], i + 1);
  if (p && (m->rows != p->rows || m->cols != p->cols))
    luaL_error(L, "%s: %s[%d] is %d x %d, %s[%d] is %d x %d", ls->fn,
               ls->name[j], i + 1, m->rows, m->cols, ls->name[0], i + 1,
               p->rows, p->cols);
  return m;
}

/* the number of parameters: the first list's length, which every other
** must have */
static int checklists(lua_State *L, Lists *ls) {
  int j, n;
  for (j = 0; j < ls->count; j++) {
    if (!ls->arg[j]) continue;
    luaL_checktype(L, ls->arg[j], LUA_TTABLE);
  }
  n = (int)lua_rawlen(L, ls->arg[0]);
  for (j = 1; j < ls->count; j++)
    if (ls->arg[j] && (int)lua_rawlen(L, ls->arg[j]) != n)
      luaL_error(L, "%s: %s has %d entries, %s has %d", ls->fn, ls->name[j],
                 (int)lua_rawlen(L, ls->arg[j]), ls->name[0], n);
  return n;
}

typedef struct Span {
  const float *a, *b;
  int list, index, written;
} Span;

static int bystart(const void *x, const void *y) {
  const Span *s = (const Span *)x, *t = (const Span *)y;
  return s->a < t->a ? -1 : s->a > t->a;
}

static const char SPANKEY = 's';    /* its address is the registry key */

/* room for n spans: the stack's for a few, else a userdata kept in the
** registry and grown, so that a steady loop allocates nothing */
static Span *spans(lua_State *L, Span *local, size_t nlocal, size_t n) {
  Span *s;
  if (n <= nlocal) return local;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &SPANKEY) == LUA_TUSERDATA &&
      lua_rawlen(L, -1) >= n * sizeof(Span)) {
    s = (Span *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return s;
  }
  lua_pop(L, 1);
  s = (Span *)lua_newuserdatauv(L, n * sizeof(Span), 0);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &SPANKEY);
  return s;
}

/* every entry checked (a Matrix, its parameter's shape), and no two
** arrays sharing memory where either is written: sorted by where they
** begin, each against the one that reaches furthest before it (an
** overlap with a written array shows there, or earlier).  Before any
** update: an error leaves every parameter as it was. */
static int checkall(lua_State *L, Lists *ls) {
  Span local[128], *s, *far = NULL;
  int n = checklists(L, ls), j, i, k = 0;
  s = spans(L, local, sizeof local / sizeof *local,
            (size_t)n * (size_t)ls->count);
  for (i = 0; i < n; i++) {
    const Matrix *p = NULL;
    for (j = 0; j < ls->count; j++) {
      Matrix *m;
      if (!ls->arg[j]) continue;
      m = entry(L, ls, j, i, p);
      if (j == 0) p = m;
      s[k].a = m->data;
      s[k].b = m->data + nn_numel(m);
      s[k].list = j;
      s[k].index = i;
      s[k++].written = ls->written[j];
    }
  }
  qsort(s, (size_t)k, sizeof *s, bystart);
  for (i = 0; i < k; i++) {
    if (far && s[i].a < far->b && (far->written || s[i].written) &&
        !(ls->dups && s[i].a == far->a && s[i].b == far->b))
      luaL_error(L, "%s: %s[%d] and %s[%d] share memory (parameters, "
                 "gradients and states must not overlap)", ls->fn,
                 ls->name[far->list], far->index + 1, ls->name[s[i].list],
                 s[i].index + 1);
    if (!far || s[i].b > far->b) far = &s[i];
  }
  return n;
}

/* the Matrix data of list j's entry i, NULL where the list is absent */
static float *data(lua_State *L, const Lists *ls, int j, int i) {
  float *d;
  if (!ls->arg[j]) return NULL;
  lua_rawgeti(L, ls->arg[j], i + 1);
  d = nn_tomatrix(L, -1)->data;
  lua_pop(L, 1);
  return d;
}

/* u's update on every parameter of the lists (checked first), MAXT at a
** time; fresh: a table's slot or 0 */
static void update(lua_State *L, Lists *ls, Multi *u, int fresh) {
  int n = checkall(L, ls), i0, i, j, k, e;
  for (i0 = 0; i0 < n; i0 += e) {
    e = n - i0 < MAXT ? n - i0 : MAXT;
    u->ntens = 0;
    for (i = 0; i < e; i++) {
      const Matrix *m;
      lua_rawgeti(L, ls->arg[0], i0 + i + 1);
      m = nn_tomatrix(L, -1);
      lua_pop(L, 1);
      for (j = 0; ls->dups && j < u->ntens; j++)
        if (u->p[j] == m->data) break;
      if (ls->dups && j < u->ntens) continue;   /* the same range again */
      u->p[u->ntens] = m->data;
      u->n[u->ntens] = nn_numel(m);
      u->ntens++;
      k = u->ntens - 1;
      u->g[k] = ls->count > 1 ? data(L, ls, 1, i0 + i) : NULL;
      for (j = 0; j < STATES; j++)
        u->s[j][k] = 2 + j < ls->count ? data(L, ls, 2 + j, i0 + i) : NULL;
      u->fresh[k] = 0;
      if (fresh) {
        lua_rawgeti(L, fresh, i0 + i + 1);
        u->fresh[k] = (unsigned char)lua_toboolean(L, -1);
        lua_pop(L, 1);
      }
    }
    run(L, u);
  }
}

static float num(lua_State *L, int arg) {
  return (float)luaL_checknumber(L, arg);
}

/* u's numbers f[0 .. n - 1] from arguments first .. first + n - 1 */
static void nums(lua_State *L, Multi *u, int first, int n) {
  int k;
  for (k = 0; k < n; k++) u->f[k] = num(L, first + k);
}

/* list slot arg, or 0 where it may be nil (or absent) and is */
static int optlist(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? 0 : arg;
}

static void lists(Lists *ls, const char *fn, int count,
                  const char *const *names, const int *args) {
  int j;
  ls->fn = fn;
  ls->count = count;
  for (j = 0; j < count; j++) {
    ls->name[j] = names[j];
    ls->arg[j] = args[j];
    ls->written[j] = j != 1;    /* all but the gradients */
  }
  ls->dups = 0;
}

static int lib_sgd(lua_State *L) {
  static const char *const names[] = {"params", "grads", "bufs"};
  int args[3];
  Lists ls;
  Multi u;
  args[0] = 1; args[1] = 2; args[2] = optlist(L, 3);
  lists(&ls, "optim.sgd", 3, names, args);
  u.fn = sgd1;
  nums(L, &u, 4, 4);
  u.flag = lua_toboolean(L, 8);
  if (!lua_isnoneornil(L, 9)) luaL_checktype(L, 9, LUA_TTABLE);
  update(L, &ls, &u, lua_isnoneornil(L, 9) ? 0 : 9);
  return 0;
}

static int lib_adam(lua_State *L) {
  static const char *const names[] = {"params", "grads", "m", "v", "vmax"};
  int args[5];
  Lists ls;
  Multi u;
  lua_Integer t = luaL_checkinteger(L, 12);
  if (t < 1) return luaL_error(L, "optim.adam: step must be >= 1");
  args[0] = 1; args[1] = 2; args[2] = 3; args[3] = 4; args[4] = optlist(L, 5);
  lists(&ls, "optim.adam", 5, names, args);
  u.fn = adam1;
  nums(L, &u, 6, 5);
  u.flag = lua_toboolean(L, 11);
  u.t = (int64_t)t;
  update(L, &ls, &u, 0);
  return 0;
}

static int lib_rmsprop(lua_State *L) {
  static const char *const names[] = {"params", "grads", "v", "gavg", "bufs"};
  int args[5];
  Lists ls;
  Multi u;
  args[0] = 1; args[1] = 2; args[2] = 3; args[3] = optlist(L, 4);
  args[4] = optlist(L, 5);
  lists(&ls, "optim.rmsprop", 5, names, args);
  u.fn = rms1;
  nums(L, &u, 6, 5);
  update(L, &ls, &u, 0);
  return 0;
}

static int lib_adagrad(lua_State *L) {
  static const char *const names[] = {"params", "grads", "sums"};
  int args[3];
  Lists ls;
  Multi u;
  args[0] = 1; args[1] = 2; args[2] = 3;
  lists(&ls, "optim.adagrad", 3, names, args);
  u.fn = adagrad1;
  nums(L, &u, 4, 3);
  update(L, &ls, &u, 0);
  return 0;
}

/* zero(grads): every gradient cleared, in the shares a step updates, so
** that each thread clears what it has just read; a gradient twice in the
** list is cleared once (in one job; MAXT apart, twice) */
static int lib_zero(lua_State *L) {
  static const char *const names[] = {"grads"};
  int args[1];
  Lists ls;
  Multi u;
  args[0] = 1;
  lists(&ls, "optim.zero", 1, names, args);
  ls.dups = 1;
  u.fn = zero1;
  update(L, &ls, &u, 0);
  return 0;
}

/* gradnorm(g, p) -> the sum of |g|^p over g's elements (the largest |g|
** for p = math.huge): one gradient's part of nn.clipGradNorm's total */
static int lib_gradnorm(lua_State *L) {
  Matrix *g = nn_checkmatrix(L, 1);
  lua_Number p = luaL_checknumber(L, 2);
  if (!(p > 0)) return luaL_error(L, "optim.gradnorm: p must be > 0");
  lua_pushnumber(L, k_gradnorm(g->data, nn_numel(g), p));
  return 1;
}

/* clamp(g, v): every element of g into [-v, v], in place (NaN stays) */
static int lib_clamp(lua_State *L) {
  Matrix *g = nn_checkmatrix(L, 1);
  float v = num(L, 2);
  if (!(v >= 0)) return luaL_error(L, "optim.clamp: v must be >= 0");
  k_map(K_CLAMP, g->data, g->data, nn_numel(g), -v, v);
  return 0;
}

static const luaL_Reg lib[] = {
  {"sgd", lib_sgd}, {"adam", lib_adam}, {"rmsprop", lib_rmsprop},
  {"adagrad", lib_adagrad}, {"zero", lib_zero}, {"gradnorm", lib_gradnorm},
  {"clamp", lib_clamp}, {NULL, NULL}
};

/* core.optim = {sgd, adam, rmsprop, adagrad, zero, gradnorm, clamp} */
void nn_optim_open(lua_State *L) {
  luaL_newlib(L, lib);
  lua_setfield(L, -2, "optim");
}
