/*
** host.c: a C program that embeds Lua and lua-nn the way a game or a tool
** does.  lua-nn is linked in (build/<lua>/liblua-nn.a) and lua_nn_preload
** puts it in package.preload, so `require "nn"` reads no file: the host
** runs from any directory.  Each lua_State is made with lua_newstate and
** the host's own allocator, which counts every call and enforces a memory
** budget; the states share nothing, so worker threads train networks at
** the same time.  It builds against every Lua lua-nn does (make embed
** LUA=luajit).
**
**   make embed                       builds build/<lua>/embed-host and runs it
**   build/<lua>/embed-host [workers [steps]]
**
** It prints a line per check and exits 0 only if every check holds:
**   threads  W threads train W networks at once, each bit-identical to
**            the same seed trained alone on the main thread;
**   pools    W threads train W convolutional networks at once, each state
**            with a pool of 2 threads of its own (nn.threads(2)), each
**            bit-identical to its seed trained alone on 1 thread, and
**            every pool's threads joined by lua_close (where Linux counts
**            the process's threads);
**   budget   a state that asks for more than its budget gets a Lua error,
**            goes on working, and leaves nothing allocated after lua_close;
**   frame    a per-frame forward pass on the host's own floats (lua_nn.h:
**            a Matrix over them, the outputs read back as floats) gives
**            what Lua computes and, once warm, allocates nothing;
**   api      lua_nn.h refuses what it should, with Lua errors;
**   preload  with package.path and cpath emptied, every module of nn
**            loads from package.preload;
**   saves    two states in two threads save two networks to one path
**            over and over: every save succeeds, every file read back is
**            whole and is one of the two networks, no temporary is left.
*/
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_nn.h"

#ifndef LUA_OK
#define LUA_OK 0                           /* Lua 5.1 and LuaJIT */
#endif

#define MAXWORKERS 16

/* The host's accounting: bytes in use, the most ever in use, the limit,
** and the number of requests for new or more memory. */
typedef struct Budget {
  size_t used, peak, limit;
  unsigned long allocs;
} Budget;

/* a lua_Alloc (Lua manual 4.6) that keeps a Budget; returns NULL when a
** request would go over it, which Lua turns into a memory error */
static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  Budget *b = ud;
  void *p;
  if (ptr == NULL) osize = 0;  /* osize then codes the object's type */
  if (nsize == 0) {
    free(ptr);
    b->used -= osize;
    return NULL;
  }
  if (nsize > osize) {
    b->allocs++;
    if (b->used - osize + nsize > b->limit) return NULL;
  }
  p = realloc(ptr, nsize);
  if (p == NULL) return nsize <= osize ? ptr : NULL;  /* a shrink never fails */
  b->used = b->used - osize + nsize;
  if (b->used > b->peak) b->peak = b->used;
  return p;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* the standard libraries, and nn in package.preload */
static int openlibs(lua_State *L) {
  luaL_openlibs(L);
  lua_nn_preload(L);
  return 0;
}

/* a new state with the standard libraries, on the host's allocator; NULL
** (and a message in err) if the budget cannot hold even that.  LuaJIT
** takes a host allocator only in its GC64 mode (the default on x86-64
** since 2.1); elsewhere its lua_newstate returns NULL, said here. */
static lua_State *newstate(Budget *b, size_t limit, char *err, size_t errlen) {
  lua_State *L;
  memset(b, 0, sizeof *b);
  b->limit = limit;
  L = lua_newstate(budget_alloc, b);
  if (L == NULL) {
    snprintf(err, errlen, "lua_newstate failed: out of memory, or a LuaJIT "
             "that takes no host allocator (not GC64)");
    return NULL;
  }
  lua_pushcfunction(L, openlibs);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    snprintf(err, errlen, "luaL_openlibs: %s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

/* runs code (named name in messages) in L; nres results, or the error
** message, on top; returns whether it ran */
static int run(lua_State *L, const char *name, const char *code, int nres) {
  return luaL_loadbuffer(L, code, strlen(code), name) == LUA_OK &&
         lua_pcall(L, 0, nres, 0) == LUA_OK;
}

/* What every job runs: seed, steps -> first loss, last loss, the CRC-32 of
** the trained network's serialized bytes, net:forward bound to the net
** (the per-frame call of a game), and the first sample and its outputs as
** Lua computes them, for the host to check its own call against. */
static const char TRAIN[] =
  "local nn = require 'nn'\n"
  "local seed, steps = ...\n"
  "nn.seed(seed)\n"
  "local X = nn.randn(256, 8)\n"
  "local Y = (X * nn.randn(8, 1)):apply(function(v) return v > 0 and 2 or 1 end)\n"
  "local net = nn.Sequential{nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 2)}\n"
  "local crit = nn.CrossEntropyLoss()\n"
  "local opt = nn.SGD(net, {lr = 0.1, momentum = 0.9})\n"
  "local first, loss\n"
  "for _ = 1, steps do\n"
  "  opt:zeroGrad()\n"
  "  local out = net:forward(X)\n"
  "  loss = crit:forward(out, Y)\n"
  "  first = first or loss\n"
  "  net:backward(X, crit:backward(out, Y), false)\n"
  "  opt:step()\n"
  "end\n"
  "local x = X:row(1):clone()\n"
  "return first, loss, require('nn.core').crc32(nn.serialize(net)),\n"
  "  function(v) return net:forward(v) end, x, net:forward(x):clone()\n";

typedef struct Job {
  lua_Integer seed, steps;
  Budget budget;
  double first, loss;
  lua_Integer crc;
  char err[512];
} Job;

/* runs TRAIN for one job in a state of its own; leaves the state open
** with the frame closure, the sample and its outputs on top when keep is
** given, else closes it */
static int runjob(Job *j, lua_State **keep) {
  lua_State *L = newstate(&j->budget, (size_t)64 << 20, j->err, sizeof j->err);
  if (L == NULL) return 0;
  if (luaL_loadbuffer(L, TRAIN, sizeof TRAIN - 1, "=train") != LUA_OK) goto fail;
  lua_pushinteger(L, j->seed);
  lua_pushinteger(L, j->steps);
  if (lua_pcall(L, 2, 6, 0) != LUA_OK) goto fail;
  j->first = lua_tonumber(L, -6);
  j->loss = lua_tonumber(L, -5);
  j->crc = lua_tointeger(L, -4);
  if (keep) *keep = L;
  else lua_close(L);
  return 1;
fail:
  snprintf(j->err, sizeof j->err, "%s", lua_tostring(L, -1));
  lua_close(L);
  return 0;
}

static void *worker(void *arg) {
  Job *j = arg;
  if (!runjob(j, NULL) && j->err[0] == '\0') strcpy(j->err, "failed");
  return NULL;
}

/* W jobs one after another on this thread, then W threads at once: the
** same seeds must give bit-identical losses and networks */
static int check_threads(int w, lua_Integer steps) {
  Job alone[MAXWORKERS], together[MAXWORKERS];
  pthread_t tid[MAXWORKERS];
  double t0, t1, t2;
  int i;
  memset(alone, 0, sizeof alone);
  memset(together, 0, sizeof together);
  t0 = now();
  for (i = 0; i < w; i++) {
    alone[i].seed = together[i].seed = i + 1;
    alone[i].steps = together[i].steps = steps;
    if (!runjob(&alone[i], NULL)) {
      printf("threads: FAILED: job %d: %s\n", i + 1, alone[i].err);
      return 0;
    }
  }
  t1 = now();
  for (i = 0; i < w; i++)
    if (pthread_create(&tid[i], NULL, worker, &together[i]) != 0) {
      printf("threads: FAILED: pthread_create\n");
      while (i-- > 0) pthread_join(tid[i], NULL);
      return 0;
    }
  for (i = 0; i < w; i++) pthread_join(tid[i], NULL);
  t2 = now();
  for (i = 0; i < w; i++) {
    Job *a = &alone[i], *b = &together[i];
    if (b->err[0]) {
      printf("threads: FAILED: thread %d: %s\n", i + 1, b->err);
      return 0;
    }
    if (a->first != b->first || a->loss != b->loss || a->crc != b->crc) {
      printf("threads: FAILED: thread %d differs from the same seed alone "
             "(loss %.9g vs %.9g, crc %08llx vs %08llx)\n", i + 1, b->loss,
             a->loss, (unsigned long long)b->crc, (unsigned long long)a->crc);
      return 0;
    }
    if (!(a->loss < 0.5 * a->first)) {
      printf("threads: FAILED: job %d did not learn (loss %.4f -> %.4f)\n",
             i + 1, a->first, a->loss);
      return 0;
    }
  }
  printf("threads: %d networks trained at once, each bit-identical to its "
         "seed trained alone (loss %.3f -> %.3f); %.3f s together, %.3f s "
         "one after another\n", w, alone[0].first, alone[0].loss, t2 - t1,
         t1 - t0);
  return 1;
}

/* What every pooled job runs: seed, steps, threads -> the CRC-32 of the
** trained network, a convolutional one big enough that its layers split
** their work across the state's pool */
static const char POOLED[] =
  "local nn = require 'nn'\n"
  "local seed, steps, threads = ...\n"
  "assert(nn.threads(threads) == threads)\n"
  "nn.seed(seed)\n"
  "local net = nn.Sequential{nn.Conv2d(1, 8, 5, {padding = 2, input = {1, 16, 16}}),\n"
  "  nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Linear(8 * 64, 64), nn.ReLU(),\n"
  "  nn.Linear(64, 4)}\n"
  "local crit, opt = nn.CrossEntropyLoss(), nn.Adam(net, {lr = 1e-3})\n"
  "local X, Y = nn.randn(64, 256), {}\n"
  "for i = 1, 64 do Y[i] = nn.random(4) end\n"
  "for _ = 1, steps do\n"
  "  opt:zeroGrad()\n"
  "  local out = net:forward(X)\n"
  "  crit:forward(out, Y)\n"
  "  net:backward(X, crit:backward(out, Y), false)\n"
  "  opt:step()\n"
  "end\n"
  "return require('nn.core').crc32(nn.serialize(net))\n";

typedef struct Pooled {
  lua_Integer seed, steps, threads, crc;
  Budget budget;
  char err[512];
} Pooled;

static void *pooled(void *arg) {
  Pooled *j = arg;
  lua_State *L = newstate(&j->budget, (size_t)64 << 20, j->err, sizeof j->err);
  if (L == NULL) return NULL;
  if (luaL_loadbuffer(L, POOLED, sizeof POOLED - 1, "=pooled") == LUA_OK) {
    lua_pushinteger(L, j->seed);
    lua_pushinteger(L, j->steps);
    lua_pushinteger(L, j->threads);
    if (lua_pcall(L, 3, 1, 0) == LUA_OK) {
      j->crc = lua_tointeger(L, -1);
      lua_close(L);
      return NULL;
    }
  }
  snprintf(j->err, sizeof j->err, "%s", lua_tostring(L, -1));
  lua_close(L);
  return NULL;
}

/* the process's threads, where Linux shows them; -1 elsewhere */
static int threadcount(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1) break;
  fclose(f);
  return n;
}

/* the thread count once it is want, or after a second: pthread_join
** returns when a thread has cleared its id, a moment before the kernel
** stops counting it, and on a loaded machine that moment can be seen (CI
** once read "1 threads before, 2 after"; threads_spec.lua's settled()
** waits the same way); a thread never joined still shows after it */
static int settled(int want) {
  const struct timespec tick = {0, 10 * 1000 * 1000};
  int k, n = threadcount();
  for (k = 0; k < 100 && n != want; k++) {
    nanosleep(&tick, NULL);
    n = threadcount();
  }
  return n;
}

/* W pooled jobs on 1 thread, one after another; then W at once, each
** state with 2 threads of its own: the same bits, and the threads gone
** once every state is closed */
static int check_pools(int w, lua_Integer steps) {
  Pooled alone[MAXWORKERS], together[MAXWORKERS];
  pthread_t tid[MAXWORKERS];
  int i, before, after;
  double t0;
  memset(alone, 0, sizeof alone);
  memset(together, 0, sizeof together);
  for (i = 0; i < w; i++) {
    alone[i].seed = together[i].seed = 100 + i;
    alone[i].steps = together[i].steps = steps;
    alone[i].threads = 1;
    together[i].threads = 2;
    pooled(&alone[i]);
    if (alone[i].err[0]) {
      printf("pools: FAILED: job %d alone: %s\n", i + 1, alone[i].err);
      return 0;
    }
  }
  before = threadcount();
  t0 = now();
  for (i = 0; i < w; i++)
    if (pthread_create(&tid[i], NULL, pooled, &together[i]) != 0) {
      printf("pools: FAILED: pthread_create\n");
      while (i-- > 0) pthread_join(tid[i], NULL);
      return 0;
    }
  for (i = 0; i < w; i++) pthread_join(tid[i], NULL);
  after = settled(before);
  for (i = 0; i < w; i++) {
    if (together[i].err[0]) {
      printf("pools: FAILED: thread %d: %s\n", i + 1, together[i].err);
      return 0;
    }
    if (together[i].crc != alone[i].crc) {
      printf("pools: FAILED: thread %d, on 2 threads of its own, differs from "
             "its seed alone on 1 (crc %08llx vs %08llx)\n", i + 1,
             (unsigned long long)together[i].crc,
             (unsigned long long)alone[i].crc);
      return 0;
    }
  }
  if (before != after) {
    printf("pools: FAILED: %d threads before, %d after every state closed\n",
           before, after);
    return 0;
  }
  printf("pools: %d states trained at once, each on a pool of 2 threads of its "
         "own, each bit-identical to its seed on 1 thread; %d threads before "
         "and after (%.3f s)\n", w, before, now() - t0);
  return 1;
}

/* a 4 MB state asks for a 1000 x 2000 matrix (8,000,000 bytes): a Lua
** error, not an abort; then
** it still works, and lua_close gives back every byte */
static int check_budget(void) {
  static const char BIG[] = "local nn = require 'nn'; return nn.Matrix(1000, 2000)";
  static const char SMALL[] = "return require('nn').ones(10, 10):sum()";
  Budget b;
  char err[512];
  const char *msg;
  lua_State *L = newstate(&b, (size_t)4 << 20, err, sizeof err);
  if (L == NULL) {
    printf("budget: FAILED: %s\n", err);
    return 0;
  }
  if (run(L, "=budget", BIG, 1)) {
    printf("budget: FAILED: an 8 MB matrix fit in a 4 MB budget\n");
    lua_close(L);
    return 0;
  }
  msg = lua_tostring(L, -1);
  if (msg == NULL || strstr(msg, "not enough memory") == NULL) {
    printf("budget: FAILED: unexpected error: %s\n", msg ? msg : "(none)");
    lua_close(L);
    return 0;
  }
  snprintf(err, sizeof err, "%s", msg);
  lua_pop(L, 1);
  if (!run(L, "=budget", SMALL, 1) || lua_tonumber(L, -1) != 100) {
    printf("budget: FAILED: the state did not go on after the error: %s\n",
           lua_tostring(L, -1));
    lua_close(L);
    return 0;
  }
  lua_close(L);
  if (b.used != 0) {
    printf("budget: FAILED: %zu bytes still allocated after lua_close\n", b.used);
    return 0;
  }
  printf("budget: a 4 MB state asked for a 1000 x 2000 matrix and got \"%s\"; "
         "it went on (peak %.1f MB); 0 bytes left after lua_close\n", err,
         (double)b.peak / (1 << 20));
  return 1;
}

/* a trained network's one-sample forward called as a game's frame would,
** on the host's own floats: one input Matrix made from them with
** lua_nn_pushmatrix, refilled in place each frame, and the outputs read
** back with lua_nn_tomatrix.  The first frame must give exactly what Lua
** computed; once warm (the layers' buffers take the one-row shape;
** LuaJIT compiles its traces, which are collectable objects) a frame asks
** the allocator for nothing. */
static int check_frame(lua_Integer steps) {
  enum { FRAMES = 10000, WARM = 1000 };
  Job j;
  lua_State *L = NULL;
  float feats[8], *in;
  const float *x, *want, *out;
  unsigned long before = 0, n;
  double t0 = 0, t1, sum = 0;
  int i, k, r, c;
  memset(&j, 0, sizeof j);
  j.seed = 1;
  j.steps = steps;
  if (!runjob(&j, &L)) {
    printf("frame: FAILED: %s\n", j.err);
    return 0;
  }
  /* stack: forward closure, sample x (1 x 8), Lua's outputs (1 x 2) */
  x = lua_nn_tomatrix(L, -2, &r, &c);
  want = lua_nn_tomatrix(L, -1, NULL, NULL);
  if (x == NULL || want == NULL || r != 1 || c != 8) {
    printf("frame: FAILED: the job did not return its sample as a Matrix\n");
    lua_close(L);
    return 0;
  }
  memcpy(feats, x, sizeof feats);         /* the host's own copy */
  lua_pop(L, 2);
  in = lua_nn_pushmatrix(L, 1, 8, feats);  /* at -1; the closure at -2 */
  for (i = -WARM; i < FRAMES; i++) {
    if (i == 0) {
      before = j.budget.allocs;
      t0 = now();
    }
    for (k = 0; k < 8; k++)                /* this frame's features */
      in[k] = i <= -WARM ? feats[k] : feats[k] + 0.001f * (float)(i % 7);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      printf("frame: FAILED: %s\n", lua_tostring(L, -1));
      lua_close(L);
      return 0;
    }
    out = lua_nn_tomatrix(L, -1, &r, &c);
    if (out == NULL || r != 1 || c != 2) {
      printf("frame: FAILED: forward did not return a 1 x 2 Matrix\n");
      lua_close(L);
      return 0;
    }
    if (i == -WARM && (out[0] != want[0] || out[1] != want[1])) {
      printf("frame: FAILED: the host's call gave %.9g %.9g, Lua's %.9g %.9g\n",
             out[0], out[1], want[0], want[1]);
      lua_close(L);
      return 0;
    }
    sum += out[0];
    lua_pop(L, 1);
  }
  t1 = now();
  n = j.budget.allocs - before;
  lua_close(L);
  if (n != 0) {
    printf("frame: FAILED: %lu allocations in %d frames\n", n, FRAMES);
    return 0;
  }
  printf("frame: one-sample forward on the host's floats %.2f us, the first "
         "bit-identical to Lua's; 0 allocations in %d frames (checksum %.3f)\n",
         1e6 * (t1 - t0) / FRAMES, FRAMES, sum);
  return 1;
}

/* lua_nn.h on bad input: a Lua error with the function's name, never a
** crash; NULL for a value that is not a Matrix */
static int api_bad(lua_State *L) {
  int which = (int)lua_tointeger(L, 1);
  if (which == 1) lua_nn_pushmatrix(L, 0, 3, NULL);
  if (which == 2) lua_nn_pushmatrix(L, 65536, 65536, NULL);
  if (which == 3) lua_nn_checkmatrix(L, 2, NULL, NULL);
  return 0;
}

static int check_api(void) {
  static const char *want[] = {
    "lua_nn_pushmatrix: shape 0 x 3, expected positive sizes",
    "lua_nn_pushmatrix: 65536 x 65536 is too large",
    "nn.Matrix expected, got table",
  };
  Budget b;
  char err[512];
  int i, r = 0, c = 0, ok = 1;
  float *p;
  lua_State *L = newstate(&b, (size_t)64 << 20, err, sizeof err);
  if (L == NULL) {
    printf("api: FAILED: %s\n", err);
    return 0;
  }
  lua_newtable(L);
  if (lua_nn_tomatrix(L, -1, &r, &c) != NULL) ok = 0;
  lua_pop(L, 1);
  /* before require "nn" there is no Matrix type to make */
  lua_pushcfunction(L, api_bad);
  lua_pushinteger(L, 1);
  if (lua_pcall(L, 1, 0, 0) == LUA_OK ||
      strstr(lua_tostring(L, -1), "require \"nn\" first") == NULL) {
    printf("api: FAILED: a Matrix before nn was loaded: %s\n", lua_tostring(L, -1));
    ok = 0;
  }
  lua_pop(L, 1);
  if (!run(L, "=api", "require 'nn'", 0)) {
    printf("api: FAILED: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 0;
  }
  for (i = 0; i < 3; i++) {
    lua_pushcfunction(L, api_bad);
    lua_pushinteger(L, i + 1);
    lua_newtable(L);
    if (lua_pcall(L, 2, 0, 0) == LUA_OK ||
        strstr(lua_tostring(L, -1), want[i]) == NULL) {
      printf("api: FAILED: case %d: %s\n", i + 1,
             lua_isstring(L, -1) ? lua_tostring(L, -1) : "no error");
      ok = 0;
    }
    lua_pop(L, 1);
  }
  p = lua_nn_pushmatrix(L, 2, 3, NULL);
  if (p == NULL || lua_nn_tomatrix(L, -1, &r, &c) != p || r != 2 || c != 3 ||
      p[5] != 0) ok = 0;
  lua_close(L);
  if (ok) printf("api: lua_nn.h refuses a 0-row shape, a too-large one and a "
                 "table, with Lua errors; tomatrix gives NULL for a non-Matrix\n");
  else printf("api: FAILED\n");
  return ok;
}

/* every module lua_nn_preload registered, required with no search path */
static int check_preload(void) {
  static const char CODE[] =
    "package.path, package.cpath = '', ''\n"
    "local names = {}\n"
    "for name in pairs(package.preload) do\n"
    "  if name == 'nn' or name:sub(1, 3) == 'nn.' then names[#names + 1] = name end\n"
    "end\n"
    "table.sort(names)\n"
    "for _, name in ipairs(names) do require(name) end\n"
    "local nn = require 'nn'\n"
    "assert(nn.Linear(2, 3):forward(nn.ones(1, 2)):shape() == 1)\n"
    "return #names, table.concat(names, ' ')\n";
  Budget b;
  char err[512];
  lua_State *L = newstate(&b, (size_t)64 << 20, err, sizeof err);
  if (L == NULL) {
    printf("preload: FAILED: %s\n", err);
    return 0;
  }
  if (!run(L, "=preload", CODE, 2)) {
    printf("preload: FAILED: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 0;
  }
  printf("preload: with no search path, %d modules loaded from package.preload "
         "(%s)\n", (int)lua_tointeger(L, -2), lua_tostring(L, -1));
  lua_close(L);
  return 1;
}

/* Each state builds both networks (same seeds, same bytes), saves its own
** to the shared path, reads the path back and checks it is one of them. */
static const char SAVES[] =
  "local nn = require 'nn'\n"
  "local mine, path, n = ...\n"
  "local function make(seed)\n"
  "  nn.seed(seed)\n"
  "  return nn.Sequential{nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4)}\n"
  "end\n"
  "local nets = {make(1), make(2)}\n"
  "local bytes = {nn.serialize(nets[1]), nn.serialize(nets[2])}\n"
  "for i = 1, n do\n"
  "  nn.save(nets[mine], path)\n"
  "  local ok, got = pcall(nn.load, path)\n"
  "  if not ok then error(('load after save %d: %s'):format(i, got), 0) end\n"
  "  local s = nn.serialize(got)\n"
  "  if s ~= bytes[1] and s ~= bytes[2] then\n"
  "    error(('save %d: the file read back is neither network'):format(i), 0)\n"
  "  end\n"
  "end\n";

typedef struct Saver {
  int mine;
  const char *path;
  lua_Integer n;
  Budget budget;
  char err[512];
} Saver;

static void *saver(void *arg) {
  Saver *s = arg;
  lua_State *L = newstate(&s->budget, (size_t)64 << 20, s->err, sizeof s->err);
  if (L == NULL) return NULL;
  if (luaL_loadbuffer(L, SAVES, sizeof SAVES - 1, "=saves") != LUA_OK) {
    snprintf(s->err, sizeof s->err, "%s", lua_tostring(L, -1));
  } else {
    lua_pushinteger(L, s->mine);
    lua_pushstring(L, s->path);
    lua_pushinteger(L, s->n);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK)
      snprintf(s->err, sizeof s->err, "%s", lua_tostring(L, -1));
  }
  lua_close(L);
  return NULL;
}

static int check_saves(lua_Integer n) {
  char dir[] = "/tmp/embed-saves-XXXXXX", path[64];
  Saver sv[2];
  pthread_t tid[2];
  DIR *d;
  struct dirent *e;
  int i, started = 0, others = 0, ok = 1;
  double t0;
  if (!mkdtemp(dir)) {
    printf("saves: FAILED: mkdtemp\n");
    return 0;
  }
  snprintf(path, sizeof path, "%s/model.nn", dir);
  memset(sv, 0, sizeof sv);
  t0 = now();
  for (i = 0; i < 2; i++) {
    sv[i].mine = i + 1;
    sv[i].path = path;
    sv[i].n = n;
    if (pthread_create(&tid[i], NULL, saver, &sv[i]) != 0) break;
    started++;
  }
  for (i = 0; i < started; i++) pthread_join(tid[i], NULL);
  if (started < 2) {
    printf("saves: FAILED: pthread_create\n");
    ok = 0;
  }
  for (i = 0; i < started; i++)
    if (sv[i].err[0]) {
      printf("saves: FAILED: thread %d: %s\n", i + 1, sv[i].err);
      ok = 0;
    }
  if ((d = opendir(dir)) != NULL) {          /* only model.nn may be left */
    while ((e = readdir(d)) != NULL) {
      char f[320];
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      if (strcmp(e->d_name, "model.nn") != 0) others++;
      snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
      remove(f);
    }
    closedir(d);
  }
  rmdir(dir);
  if (others) {
    printf("saves: FAILED: %d temporary files left beside the model\n", others);
    ok = 0;
  }
  if (ok)
    printf("saves: two states saved to one path %lld times each; every file "
           "read back was whole and one of the two networks (%.2f s)\n",
           (long long)n, now() - t0);
  return ok;
}

int main(int argc, char **argv) {
  int w = argc > 1 ? atoi(argv[1]) : 2;
  long steps = argc > 2 ? atol(argv[2]) : 300;
  int ok;
  if (argc > 3 || w < 1 || w > MAXWORKERS || steps < 1) {
    fprintf(stderr, "usage: %s [workers 1..%d [steps >= 1]]\n", argv[0],
            MAXWORKERS);
    return 2;
  }
  /* one BLAS thread per worker: OpenBLAS's count is per process */
  {
    Budget b;
    char err[512];
    lua_State *L = newstate(&b, (size_t)64 << 20, err, sizeof err);
    if (L == NULL || !run(L, "=setup", "require('nn').threads(1)", 0)) {
      /* (with nn linked in and preloaded, only a broken build gets here) */
      fprintf(stderr, "embed-host: cannot load nn: %s\n",
              L ? lua_tostring(L, -1) : err);
      if (L) lua_close(L);
      return 1;
    }
    lua_close(L);
  }
  ok = check_threads(w, steps);
  ok = check_pools(w, steps / 10 + 1) && ok;
  ok = check_budget() && ok;
  ok = check_frame(steps) && ok;
  ok = check_api() && ok;
  ok = check_preload() && ok;
  ok = check_saves(10 * steps) && ok;
  printf("%s\n", ok ? "embed-host: ok" : "embed-host: FAILED");
  return ok ? 0 : 1;
}
