/*
** fuzz_load.c: libFuzzer target for the model loader and the weight
** readers.  Each input goes to nn.deserialize, nn.npy.decode,
** nn.safetensors.decode and nn.json.decode in a Lua state with the C core
** built in (and sanitized); a Lua error is a correct answer, a crash or
** sanitizer report is a bug, and so is a raw error (not the reader's own),
** json.decode raising, or a safetensors tensor whose element count is not
** its shape's size (a product that wrapped).  fuzz/layer.lua's FuzzScale
** is registered, so that model files holding a Lua layer are built too.
** A model that loads is printed and run forward on a batch of zeros.
** Each input is tried twice: as it is, and with the header's payload
** length and CRC-32 made right, so that mutations get past the checksum
** to the decoder.
**
** The Lua state lives across inputs (a harness may hold state; the library
** may not): building one per input would cost more than the input.
*/
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

int luaopen_nn_core(lua_State *L);

#ifndef NN_LUA_DIR
#define NN_LUA_DIR "lua"
#endif

static const char *const driver =
  "package.path = '" NN_LUA_DIR "/?.lua;" NN_LUA_DIR "/?/init.lua'\n"
  "local nn = require 'nn'\n"
  "local json, util = require 'nn.json', require 'nn.util'\n"
  "dofile('" NN_LUA_DIR "/../fuzz/layer.lua')(nn)\n"
  "return function(s)\n"
  "  local ok, t, info = pcall(nn.safetensors.decode, s)\n"
  "  if ok then\n"
  "    for name, M in pairs(t) do\n"
  "      assert(util.numel(info[name].shape) == M:numel(),\n"
  "             'nn.safetensors.decode: a tensor whose size is not its shape')\n"
  "    end\n"
  "  else\n"
  "    local prefix = 'nn.safetensors.decode: '\n"
  "    assert(type(t) == 'string' and t:sub(1, #prefix) == prefix, t)\n"
  "  end\n"
  "  ok, t = pcall(nn.npy.decode, s)\n"
  "  assert(ok or (type(t) == 'string' and t:sub(1, 15) == 'nn.npy.decode: '), t)\n"
  "  ok, t = pcall(json.decode, s)\n"
  "  assert(ok, 'nn.json.decode raised: ' .. tostring(t))\n"
  "  local net\n"
  "  ok, net = pcall(nn.deserialize, s)\n"
  "  if not ok then\n"
  "    assert(type(net) == 'string' and net:find('^nn.deserialize: '), net)\n"
  "    return\n"
  "  end\n"
  "  tostring(net)\n"
  "  local width = net.nin or (net.modules and net.modules[1] and net.modules[1].nin)\n"
  "  if width then pcall(net.forward, net, nn.Matrix(2, width)) end\n"
  "end\n";

static lua_State *state;   /* the harness's one Lua state */

static lua_State *setup(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_nn_core);
  lua_setfield(L, -2, "nn.core");
  lua_pop(L, 1);
  if (luaL_dostring(L, driver) != LUA_OK) {
    fprintf(stderr, "fuzz_load: %s\n", lua_tostring(L, -1));
    return NULL;
  }
  lua_setglobal(L, "check");
  return L;
}

static void run(const uint8_t *data, size_t size) {
  lua_getglobal(state, "check");
  lua_pushlstring(state, (const char *)data, size);
  if (lua_pcall(state, 1, 0, 0) != LUA_OK) {
    /* the driver's assert: deserialize raised something other than its
    ** own error */
    fprintf(stderr, "fuzz_load: %s\n", lua_tostring(state, -1));
    __builtin_trap();
  }
}

static void put32(uint8_t *p, uint32_t v) {
  int i;
  for (i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static unsigned long runs;
  if (!state && !(state = setup())) __builtin_trap();
  run(data, size);
  if (size >= 24) {
    uint8_t *fixed = (uint8_t *)malloc(size);
    uint64_t len = size - 24;
    int i;
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    put32(fixed + 12, (uint32_t)crc32(0L, fixed + 24, (uInt)len));
    for (i = 0; i < 8; i++) fixed[16 + i] = (uint8_t)(len >> (8 * i));
    run(fixed, size);
    free(fixed);
  }
  if (++runs % 1000 == 0) lua_gc(state, LUA_GCCOLLECT);
  return 0;
}
