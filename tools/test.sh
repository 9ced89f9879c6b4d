#!/bin/sh
# Runs the busted suite on $NN_LUA (default lua5.4; make test LUA=... sets
# it) and ends with the line CI reads:
# "N passed, N failed, N skipped".  Exits non-zero if anything failed or
# busted itself did not finish.  $BUSTED overrides how busted is started
# (the sanitizer and valgrind targets wrap the interpreter).
#
# Arguments: busted options (starting with -) and spec files; no files
# means every spec/*_spec.lua.  The files run NN_TEST_JOBS at a time (the
# machine's processor count by default), one busted per file, the costly
# ones first (below); each file's output is printed whole, in that order,
# and the counts are added up.
# NN_TEST_JOBS=1 runs them one after another.
lua=${NN_LUA:-lua5.4}
opts="" files=""
for a in "$@"; do
  case $a in
    -*) opts="$opts '$a'" ;;
    *) files="$files $a" ;;
  esac
done
# every Lua's core is in build/<lua>/ (.busted names 5.4's), and a
# BLAS=none core (NN_BLAS=none) in build/<lua>-noblas
if [ "$NN_BLAS" = none ]; then opts="'--cpath=./build/$lua-noblas/?.so'$opts"
elif [ "$lua" != lua5.4 ]; then opts="'--cpath=./build/$lua/?.so'$opts"; fi
[ -z "$files" ] && files=$(echo spec/*_spec.lua)
# the costliest first, then the rest in the order given: with two at a
# time the last to finish is a short one.  The default list is measured
# (each over 5 s of CPU on 5.4); check-valgrind gives its own
# (NN_TEST_HEAVY), where the costs are not the same
heavy=${NN_TEST_HEAVY:-examples mpi figures plot hostile_sweep gemm export weights xcheck windows love}
given=$files files=""
for h in $heavy; do
  case " $given " in *" spec/${h}_spec.lua "*) files="$files spec/${h}_spec.lua" ;; esac
done
for f in $given; do
  case " $files " in *" $f "*) ;; *) files="$files $f" ;; esac
done
jobs=${NN_TEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT INT TERM
export logs opts lua BUSTED
# one file: its output into $logs/<n>.log (n its place in the list)
n=0
for f in $files; do
  n=$((n + 1))
  printf '%s %s\n' "$n" "$f"
done | xargs -P "$jobs" -L 1 sh -c '
  eval "${BUSTED:-busted --lua=$lua} $opts \"\$1\"" > "$logs/$0.log" 2>&1' 

# every file's output in order, and the counts added up; what failed is
# gathered into $logs/recap and printed again just above the count line,
# because CI keeps only the end of a long output (a failure in the middle
# of 470 tests was once reported with no name)
passed=0 failed=0 skipped=0 reports=0 i=0
: > "$logs/recap"
for f in $files; do
  i=$((i + 1))
  log="$logs/$i.log"
  cat "$log"
  # busted's "Failure -> file @ line" / "Error -> ..." and the test's name
  # and first lines of its message
  awk '/^(Failure|Error) -> /{n = 8} n > 0 {print substr($0, 1, 200); n--}' \
    "$log" >> "$logs/recap"
  # a sanitizer or valgrind report anywhere fails the run
  r=$(grep -cE '^==[0-9]+==ERROR|runtime error:|ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$log")
  summary=$(grep -E '^[0-9]+ successe?s? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' "$log" | tail -n 1)
  if [ -z "$summary" ]; then
    echo "busted did not finish $f (crash or load error)"
    { echo "busted did not finish $f:"; tail -n 5 "$log" | cut -c1-200; } >> "$logs/recap"
    failed=$((failed + 1))
    continue
  fi
  set -- $(echo "$summary" | sed 's/[^0-9 ]//g')
  passed=$((passed + $1)) failed=$((failed + $2 + $3 + r)) skipped=$((skipped + $4))
  reports=$((reports + r))
done
[ "$reports" -gt 0 ] && echo "$reports sanitizer or valgrind report(s) above"
if [ -s "$logs/recap" ]; then
  echo "---- what failed ($lua${NN_BLAS:+, NN_BLAS=$NN_BLAS}), again:"
  cat "$logs/recap"
  echo "----"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
