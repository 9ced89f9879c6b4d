#!/bin/sh
# The LuaRock, built the way a user's `luarocks make` would, but from a copy
# of the sources: luarocks' builtin type compiles the objects next to the
# sources and links the core into nn/ where it runs, and building from a
# copy keeps both out of the checkout (`luarocks make` in the checkout works
# too: make keeps every core under build/, so lua/, which luarocks copies
# into the tree whole, holds only Lua files).  No network is used.
#
#   sh tools/rock.sh install    into luarocks' default (system) tree
#   sh tools/rock.sh check      into temporary trees, then require it from
#                               elsewhere; for Lua 5.4 once with cblas.h
#                               where this system keeps it, once from a
#                               directory of its own (as Fedora's
#                               /usr/include/openblas); then for Lua 5.1
#
# ROCK_LUA (5.4) is the Lua version `install` builds for.
#
# OPENBLAS_INCDIR (the directory holding cblas.h) is found when not given.
set -e
top=$(pwd)
mode=${1:-check}

if [ -z "$OPENBLAS_INCDIR" ]; then
  for d in "/usr/include/$(${CC:-cc} -print-multiarch 2>/dev/null)" \
           /usr/include/openblas /usr/include /usr/local/include; do
    if [ -f "$d/cblas.h" ]; then OPENBLAS_INCDIR=$d; break; fi
  done
fi
[ -n "$OPENBLAS_INCDIR" ] || { echo "rock: cannot find cblas.h; set OPENBLAS_INCDIR" >&2; exit 1; }

src=$(mktemp -d)
trees=""
trap 'rm -rf "$src" $trees' EXIT
mkdir "$src/lua"
cp -r "$top/csrc" "$top/lua-nn-scm-1.rockspec" "$src"
cp -r "$top/lua/nn" "$src/lua/nn"
find "$src" \( -name '*.so' -o -name '*.o' \) -exec rm -f {} +

# build(version incdir [tree]): luarocks make from the copy
build() {
  (cd "$src" && luarocks --lua-version="$1" ${3:+--tree="$3"} make --deps-mode=none \
    lua-nn-scm-1.rockspec OPENBLAS_INCDIR="$2")
  find "$src" -name '*.o' -exec rm -f {} +
}

if [ "$mode" = install ]; then
  build "${ROCK_LUA:-5.4}" "$OPENBLAS_INCDIR"
  exit 0
fi

# check(version tree): exactly one nn/core.so, under lib/; nn loads from
# the tree, on that Lua
check() {
  sos=$(find "$2" -name core.so)
  [ "$(echo "$sos" | wc -l)" -eq 1 ] && echo "$sos" | grep -q "/lib/lua/$1/nn/core.so$" || {
    echo "rock-check: expected one nn/core.so under lib/lua/$1, found:" $sos >&2
    exit 1
  }
  (eval "$(luarocks --lua-version="$1" --tree="$2" path)"
   cd / && TREE="$2" "lua$1" -e '
local function from(name, path)          -- package.searchpath, which 5.1 lacks
  for t in path:gmatch("[^;]+") do
    local f = io.open((t:gsub("%?", (name:gsub("%.", "/")))))
    if f then f:close() return t end
  end
end
local nn = require "nn"
assert(from("nn", package.path):find(os.getenv("TREE"), 1, true),
  "nn did not come from the rock tree")
assert(from("nn.core", package.cpath):find(os.getenv("TREE"), 1, true),
  "nn.core did not come from the rock tree")
local P = nn.Matrix{{1, 2}, {3, 4}} * nn.eye(2)
assert(P:get(2, 1) == 3)
assert(nn.deserialize(nn.serialize(nn.Linear(2, 2))))')
}

t1=$(mktemp -d); t2=$(mktemp -d); t3=$(mktemp -d); inc=$(mktemp -d)
trees="$t1 $t2 $t3 $inc"
# the rock holds one core.so, in lib/
build 5.4 "$OPENBLAS_INCDIR" "$t1"
check 5.4 "$t1"
echo "rock-check: Lua 5.4, built with cblas.h from $OPENBLAS_INCDIR; one nn/core.so, under lib/"
# cblas.h (and the headers it includes) in a directory of their own
mkdir -p "$inc/openblas"
cp -L "$OPENBLAS_INCDIR"/cblas.h "$OPENBLAS_INCDIR"/openblas_config.h "$inc/openblas/"
build 5.4 "$inc/openblas" "$t2"
check 5.4 "$t2"
echo "rock-check: Lua 5.4, built with OPENBLAS_INCDIR=<tmp>/openblas (a non-default directory)"
# the same rockspec for Lua 5.1 (the rockspec says lua >= 5.1, < 5.5)
build 5.1 "$OPENBLAS_INCDIR" "$t3"
check 5.1 "$t3"
echo "rock-check: Lua 5.1, built and loaded from its tree"
[ -z "$(find "$top/csrc" -name '*.o')" ] || { echo "rock-check: objects left in csrc/" >&2; exit 1; }
echo "rock-check: require \"nn\" from the rock works; no objects left in the source tree"
