#!/bin/sh
# Builds the rock from this tree into a temporary tree, then requires it from
# another directory with only `luarocks path` set.  No network is used.
set -e
tree=$(mktemp -d)
src=$(mktemp -d)
trap 'rm -rf "$tree" "$src"' EXIT
# build from a copy, so the rock's objects do not land in the work tree
cp -r csrc lua lua-nn-scm-1.rockspec "$src"
rm -f "$src"/lua/nn/core.so
(cd "$src" && luarocks --lua-version=5.4 --tree="$tree" make --deps-mode=none \
  lua-nn-scm-1.rockspec)
eval "$(luarocks --lua-version=5.4 --tree="$tree" path)"
cd /
TREE="$tree" lua5.4 -e '
local nn = require "nn"
assert(package.searchpath("nn", package.path):find(os.getenv("TREE"), 1, true),
  "nn did not come from the rock tree")
local P = nn.Matrix{{1, 2}, {3, 4}} * nn.eye(2)
assert(P:get(2, 1) == 3)
print("rock-check: require \"nn\" from the rock works")
print(P)'
