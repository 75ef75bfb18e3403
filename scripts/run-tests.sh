#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds scw_finops and runs every test suite, then prints one line:
# "N passed, N failed, N skipped" (the sum over all suites).
#   main      make check: cmocka unit tests, the simulator's self-test,
#             integration tests with the real collectd, system tests
#   asan      the unit tests again under AddressSanitizer + UBSan
#   tsan      the snapshot hand-over test under ThreadSanitizer
#   fuzz      each libFuzzer target for SCW_FUZZ_SECONDS (default 60)
#   lint      cppcheck, and a -Werror build with clang
# SCW_SUITES="main asan" runs a subset.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/_build/tests"
suites=${SCW_SUITES:-main asan tsan fuzz lint}
pass=0 fail=0 skip=0
mkdir -p "$out"
cd "$top" && autoreconf -fi >"$out/autoreconf.out" 2>&1 || { cat "$out/autoreconf.out"; echo "0 passed, 1 failed"; exit 1; }

add_automake_counts() { # $1: make check output
  c() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1; }
  p=$(c PASS "$1"); f=$(c FAIL "$1"); e=$(c ERROR "$1"); s=$(c SKIP "$1"); x=$(c XPASS "$1")
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${e:-0} + ${x:-0})); skip=$((skip + ${s:-0}))
  [ -n "$p" ] || fail=$((fail + 1)) # no summary at all: the suite broke
}

show_failures() { # $1: build dir
  grep -hE '^(FAIL|ERROR|XPASS):' "$1"/check.out 2>/dev/null
  for trs in $(find "$1" -name '*.trs'); do
    if grep -qE ':test-result: (FAIL|ERROR|XPASS)' "$trs"; then
      echo "==== ${trs%.trs}.log"; tail -n 60 "${trs%.trs}.log"
    fi
  done
}

# Configures and builds in $1 with configure flags $2..; logs in $1.
build() {
  dir=$1; shift
  mkdir -p "$dir" && cd "$dir" || return 1
  if ! { "$top/configure" --prefix=/usr "$@" >configure.out 2>&1 && make -j2 >make.out 2>&1; }; then
    tail -n 40 configure.out make.out; return 1
  fi
}

# Every cmocka program: tests/unit/test_*.c.
unit_tests() {
  (cd "$top/tests/unit" && ls test_*.c | sed 's/\.c$//; s|^|tests/unit/|' | tr '\n' ' ')
}

for suite in $suites; do
  echo "== suite: $suite"
  case $suite in
  main)
    if build "$out/main"; then
      make -j2 check >check.out 2>&1; add_automake_counts check.out; show_failures .
    else fail=$((fail + 1)); fi ;;
  asan)
    if build "$out/asan" --enable-sanitizers --disable-system-tests; then
      make -j2 check TESTS="$(unit_tests)" >check.out 2>&1; add_automake_counts check.out; show_failures .
    else fail=$((fail + 1)); fi ;;
  tsan)
    if build "$out/tsan" --enable-sanitizers=thread --disable-system-tests; then
      make -j2 check TESTS="tests/unit/test_snapshot" >check.out 2>&1
      add_automake_counts check.out; show_failures .
      if grep -q "ThreadSanitizer" tests/unit/test_snapshot.log; then
        echo "ThreadSanitizer reported a race"; fail=$((fail + 1))
      fi
    else fail=$((fail + 1)); fi ;;
  fuzz)
    sh "$top/scripts/fuzz.sh" "${SCW_FUZZ_SECONDS:-60}" >"$out/fuzz.out" 2>&1
    grep -E '^(ok|not ok) ' "$out/fuzz.out"
    pass=$((pass + $(grep -c '^ok ' "$out/fuzz.out")))
    fail=$((fail + $(grep -c '^not ok ' "$out/fuzz.out")))
    grep -q '^ok \|^not ok ' "$out/fuzz.out" || { tail -n 30 "$out/fuzz.out"; fail=$((fail + 1)); } ;;
  lint)
    if sh "$top/scripts/lint.sh" >"$out/lint.out" 2>&1; then pass=$((pass + 1)); echo "ok - cppcheck"
    else fail=$((fail + 1)); echo "not ok - cppcheck"; cat "$out/lint.out"; fi
    if command -v clang >/dev/null && build "$out/clang" CC=clang --disable-system-tests; then
      pass=$((pass + 1)); echo "ok - clang -Werror build"
    else fail=$((fail + 1)); echo "not ok - clang -Werror build"; fi ;;
  *) echo "unknown suite $suite"; fail=$((fail + 1)) ;;
  esac
  cd "$top" || exit 1
  echo "   so far: $pass passed, $fail failed, $skip skipped"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
