#!/bin/sh
# The Windows side of lua-nn, built and run from Debian (make windows):
#
#   sh tools/windows.sh luajit DIR     LuaJIT for Windows (x64) from Debian's
#                                      luajit source package, cross-built
#                                      with mingw-w64 into DIR/luajit:
#                                      luajit.exe, lua51.dll, its import
#                                      library, the headers
#   sh tools/windows.sh check DLL      DLL imports only the system's DLLs
#                                      and lua51.dll, and exports
#                                      luaopen_nn_core alone
#   sh tools/windows.sh run DIR EXE [ARG...]
#                                      EXE under wine64, headless, with its
#                                      own prefix in DIR/wine
#
# The source comes with `apt-get source`, which needs a deb-src entry: one
# is added beside the machine's own apt source (same mirror, suites and
# key) when apt cannot find the source package yet.
set -eu

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
CROSS=x86_64-w64-mingw32-

# 0 when apt knows where to get luajit's source
have_source() {
  apt-cache showsrc luajit 2>/dev/null | grep -q '^Package: luajit'
}

# Adds the deb-src twin of the machine's Debian source: deb822 in
# sources.list.d (Debian 12's default), or one-line sources.list entries.
add_debsrc() {
  list=/etc/apt/sources.list.d
  if [ -f $list/debian.sources ]; then
    sed 's/^Types:.*$/Types: deb-src/' $list/debian.sources |
      $SUDO tee $list/lua-nn-src.sources >/dev/null
  elif grep -qs '^deb ' /etc/apt/sources.list; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list |
      $SUDO tee $list/lua-nn-src.list >/dev/null
  else
    echo "windows.sh: no Debian apt source to add a deb-src entry beside" >&2
    exit 1
  fi
  echo "windows.sh: added a deb-src entry ($list/lua-nn-src.*)"
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
}

luajit() {
  dir=$1
  have_source || add_debsrc
  rm -rf "$dir/src" "$dir/luajit"
  mkdir -p "$dir/src" "$dir/luajit/include"
  # unpacked with Debian's patches applied (dpkg-source, from dpkg-dev)
  (cd "$dir/src" && apt-get source -qq luajit) >"$dir/src/source.log" 2>&1 || {
    cat "$dir/src/source.log" >&2
    echo "windows.sh: apt-get source luajit failed" >&2
    exit 1
  }
  src=$(ls -d "$dir"/src/luajit-*/src 2>/dev/null | head -n 1)
  [ -n "$src" ] && [ -f "$src/Makefile" ] || {
    echo "windows.sh: apt-get source luajit gave no source tree" >&2
    exit 1
  }
  # LuaJIT's own cross-build recipe (src/Makefile, doc/install.html): the
  # host compiler builds the build tools, CROSS the target; a 64-bit host
  # for a 64-bit target needs no -m32.  CCDEBUG= drops the -g that
  # Debian's patch adds.
  nice make -s -C "$src" -j2 HOST_CC=gcc CROSS=$CROSS TARGET_SYS=Windows \
    CCDEBUG= BUILDMODE=dynamic >"$dir/src/build.log" 2>&1 || {
    tail -n 30 "$dir/src/build.log" >&2
    echo "windows.sh: the LuaJIT cross-build failed" >&2
    exit 1
  }
  cp "$src/luajit.exe" "$src/lua51.dll" "$src/libluajit-5.1.dll.a" "$dir/luajit/"
  cp "$src/lua.h" "$src/lualib.h" "$src/lauxlib.h" "$src/luaconf.h" \
     "$src/luajit.h" "$src/lua.hpp" "$dir/luajit/include/"
  echo "windows.sh: $dir/luajit/lua51.dll and luajit.exe ($(sed -n 's/^Version: //p' "$dir"/src/luajit_*.dsc))"
}

# What a DLL may import: the Windows system (kernel32, the C runtime,
# bcrypt for random bytes) and the Lua it is loaded into.
check() {
  dlls=$(${CROSS}objdump -p "$1" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z' | sort)
  bad=$(echo "$dlls" | grep -vxE 'kernel32\.dll|msvcrt\.dll|bcrypt\.dll|lua51\.dll' || true)
  if [ -n "$bad" ]; then
    echo "windows.sh: $1 imports $(echo $bad): only the system's DLLs and lua51.dll may be needed" >&2
    exit 1
  fi
  exports=$(${CROSS}objdump -p "$1" | sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/s/^[[:space:]]*\[ *[0-9]*\] //p')
  if [ "$exports" != luaopen_nn_core ]; then
    echo "windows.sh: $1 exports $(echo $exports | head -c 300), expected luaopen_nn_core alone" >&2
    exit 1
  fi
  echo "windows.sh: $1 imports" $dlls "and exports $exports"
}

# wine64 as Debian installs it (the wine package adds /usr/bin/wine64)
wine64() {
  for w in /usr/lib/wine/wine64 "$(command -v wine64 2>/dev/null || true)"; do
    [ -n "$w" ] && [ -x "$w" ] && { echo "$w"; return 0; }
  done
  return 1
}

run() {
  dir=$1; shift
  w=$(wine64) || { echo "windows.sh: wine64 is not installed" >&2; exit 1; }
  mkdir -p "$dir/wine"
  # its own prefix (made on the first run, a few seconds), no debug
  # chatter, and neither Mono nor Gecko offered: no window is ever needed
  WINEPREFIX=$(cd "$dir/wine" && pwd) WINEDEBUG=-all \
    WINEDLLOVERRIDES="mscoree,mshtml=" exec "$w" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  luajit) luajit "$@" ;;
  check) check "$@" ;;
  run) run "$@" ;;
  wine) wine64 ;;
  *) echo "usage: sh tools/windows.sh luajit DIR | check DLL | run DIR EXE [ARG...] | wine" >&2; exit 2 ;;
esac
