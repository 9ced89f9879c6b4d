#!/bin/sh
# The LÖVE digit demo as a game to ship (make love):
#
#   sh tools/love.sh MODEL PLATFORM=CORE...
#
# writes
#   dist/love-digit.love   the game: examples/love's main.lua, conf.lua and
#                          digit.lua, MODEL as mnist_mlp.nn, lua/nn/*.lua as
#                          nn/*.lua, each CORE as nn/PLATFORM/core.so (or
#                          .dll; nn.love copies it into the save directory),
#                          nn/LICENSE and nn/THIRD-PARTY.txt
#   dist/love-digit/       what goes beside a fused executable: the .love
#                          (to fuse), nn/core.so and nn/core.dll (the cores
#                          nn.love looks for first), LICENSE, THIRD-PARTY.txt
#                          and README.txt
# The .love is the same bytes for the same inputs: files in one order, one
# timestamp, no extra attributes.
set -eu
[ $# -ge 2 ] || { echo "usage: sh tools/love.sh MODEL PLATFORM=CORE..." >&2; exit 2; }
model=$1
shift
stage=build/love/game
out=dist/love-digit.love
kit=dist/love-digit
[ -f "$model" ] || { echo "love.sh: no model at $model (make mnist trains one)" >&2; exit 1; }
rm -rf build/love "$kit" "$out"
mkdir -p "$stage/nn" "$kit/nn"
cp examples/love/main.lua examples/love/conf.lua examples/love/digit.lua "$stage/"
cp "$model" "$stage/mnist_mlp.nn"
cp lua/nn/*.lua "$stage/nn/"
cp LICENSE THIRD-PARTY.txt "$stage/nn/"
for pc in "$@"; do
  platform=${pc%%=*}
  core=${pc#*=}
  [ -f "$core" ] || { echo "love.sh: no core for $platform at $core" >&2; exit 1; }
  mkdir -p "$stage/nn/$platform"
  cp "$core" "$stage/nn/$platform/"
  cp "$core" "$kit/nn/"
done
find "$stage" -exec touch -h -d '2000-01-01 00:00:00 UTC' {} +
mkdir -p dist
(cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
  TZ=UTC zip -q -X -D -9 "../love-digit.love" -@)
mv build/love/love-digit.love "$out"
cp "$out" LICENSE THIRD-PARTY.txt "$kit/"
cat > "$kit/README.txt" <<'EOF'
lua-nn's LÖVE digit demo, ready to fuse (see "Shipping a game" in lua-nn's
README).

  love love-digit.love              run it with an installed LÖVE 11

A fused game is LÖVE's executable with the .love appended; keep the nn
folder beside it (nn.love loads nn/core.so or nn/core.dll from there before
it copies the core inside the .love into the save directory):

  Linux:    cat /usr/bin/love love-digit.love > love-digit && chmod +x love-digit
  Windows:  copy /b love.exe+love-digit.love love-digit.exe
            (in LÖVE's Windows folder, beside its DLLs and license.txt)

LICENSE is lua-nn's (MIT); THIRD-PARTY.txt lists the code linked into the
cores and what its licences ask. The model's weights were trained on MNIST.
EOF
echo "love: $out ($(wc -c < "$out") bytes) and $kit/"
