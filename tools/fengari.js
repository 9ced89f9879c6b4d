// Runs a Lua file under Fengari (Lua 5.3's VM written in JavaScript, from
// npm), a Lua that cannot load C: `node tools/fengari.js file.lua`, with
// fengari found through NODE_PATH (make test-deps installs it into
// build/fengari/node_modules).  An error is printed and exits 1.
"use strict";
const {lua, lauxlib, lualib, to_luastring, to_jsstring} = require("fengari");

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: node tools/fengari.js file.lua\n");
  process.exit(2);
}
const L = lauxlib.luaL_newstate();
lualib.luaL_openlibs(L);
if (lauxlib.luaL_loadfile(L, to_luastring(file)) !== lua.LUA_OK ||
    lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) {
  const msg = lua.lua_tostring(L, -1);
  process.stderr.write("fengari: " + (msg ? to_jsstring(msg) : "error") + "\n");
  process.exit(1);
}
