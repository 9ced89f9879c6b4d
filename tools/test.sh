#!/bin/sh
# Runs the busted suite on $NN_LUA (default lua5.4; make test LUA=... sets
# it) and ends with the line CI reads:
# "N passed, N failed, N skipped".  Exits non-zero if anything failed or
# busted itself did not finish.  $BUSTED overrides how busted is started
# (the sanitizer and valgrind targets wrap the interpreter).
log=$(mktemp)
lua=${NN_LUA:-lua5.4}
# every Lua's core is in build/<lua>/ (.busted names 5.4's), and a
# BLAS=none core (NN_BLAS=none) in build/<lua>-noblas
if [ "$NN_BLAS" = none ]; then set -- "--cpath=./build/$lua-noblas/?.so" "$@"
elif [ "$lua" != lua5.4 ]; then set -- "--cpath=./build/$lua/?.so" "$@"; fi
eval "${BUSTED:-busted --lua=$lua} \"\$@\"" 2>&1 | tee "$log"
# a sanitizer or valgrind report anywhere fails the run
reports=$(grep -cE '^==[0-9]+==ERROR|runtime error:|ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$log")
summary=$(grep -E '^[0-9]+ successe?s? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' "$log" | tail -n 1)
rm -f "$log"
if [ -z "$summary" ]; then
  echo "busted did not finish (crash or load error)"
  echo "0 passed, 1 failed"
  exit 1
fi
set -- $(echo "$summary" | sed 's/[^0-9 ]//g')
passed=$1 failed=$(($2 + $3 + reports)) skipped=$4
[ "$reports" -gt 0 ] && echo "$reports sanitizer or valgrind report(s) above"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
