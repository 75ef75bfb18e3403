#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds scw_finops and runs every test suite, then prints one line:
# "N passed, N failed, N skipped" (the sum over all suites).
#   main      make check: cmocka unit tests, the simulator's self-test,
#             integration tests with the real collectd, system tests
#   faketime  the tests whose outcome can depend on the date, under libfaketime
#             at three instants (the 1st just after midnight UTC, the last
#             seconds of a year, a leap day), with the main suite's build
#   asan      the unit tests again under AddressSanitizer + UBSan
#   tsan      the snapshot hand-over test under ThreadSanitizer
#   fuzz      each libFuzzer target for SCW_FUZZ_SECONDS (default 30)
#   lint      cppcheck, and a -Werror build with clang
# SCW_SUITES="main asan" runs a subset.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/_build/tests"
suites=${SCW_SUITES:-main faketime asan tsan fuzz lint}
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

# faketime suite. Instants in UTC, ";"-separated; each test file's clock starts
# at the instant and advances, so at 23:59:50 the run passes midnight.
faketime_instants=${SCW_FAKETIME_INSTANTS:-"2027-03-01 00:00:30;2026-12-31 23:59:50;2028-02-29 12:00:00"}
# The unit tests that read the clock (directly or through the plugin code).
faketime_units="tests/unit/test_config tests/unit/test_secret tests/unit/test_refresh"
# Two lanes of integration tests run side by side (about a minute each).
faketime_lane1="test_faults.py"
faketime_lane2="test_soak.py test_valgrind.py test_totals.py"
# Not date-dependent and slow: left to the main suite.
faketime_except="test_401_wrong_key test_403_no_permission test_429_honours_retry_after
  test_sigterm_during_slow_api test_sigterm_at_random_moments"

# Adds one TAP output's results to the totals and prints them prefixed by $2
# (only a count when $3 is "brief"). A plan larger than the results (a test
# died) counts the missing ones failed.
add_tap_counts() { # $1: TAP output, $2: label, $3: brief or not
  results=$(grep -cE '^(not )?ok ' "$1")
  plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$1" | head -n 1)
  s=$(grep -c '^ok .*# SKIP' "$1"); f=$(grep -c '^not ok ' "$1")
  pass=$((pass + results - s - f)); skip=$((skip + s)); fail=$((fail + f))
  [ "${plan:-0}" -gt "$results" ] && fail=$((fail + plan - results))
  [ -n "$plan" ] || fail=$((fail + 1))
  if [ "${3:-}" = brief ]; then
    echo "$2 $((results - s - f)) passed, $f failed, $s skipped"
  else
    grep -E '^(not )?ok ' "$1" | sed "s|^|$2 |"
  fi
  if [ "$f" -gt 0 ] || [ -z "$plan" ] || [ "$plan" -gt "$results" ]; then tail -n 60 "$1"; fi
}

# The environment of the faked runs (the main suite's build).
faketime_run() {
  env SCW_TOP_SRCDIR="$top" SCW_TOP_BUILDDIR="$out/main" SCW_FAKETIME_LIB="$lib" \
    SCW_COLLECTD="${SCW_COLLECTD:-/usr/sbin/collectd}" SCW_TAP=1 "$@" </dev/null
}

# Runs integration test files one after the other: $1 instant, $2 log dir, files...
faketime_lane() {
  at=$1 dir=$2; shift 2
  for t in "$@"; do
    faketime_run SCW_FAKETIME="$at" SCW_TEST_EXCEPT="$faketime_except" SCW_SOAK_SECONDS=15 \
      python3 "$top/tests/integration/$t" >"$dir/${t%.py}.tap" 2>&1
  done
}

faketime_suite() {
  lib=$(dpkg-query -L libfaketime 2>/dev/null | grep '/libfaketimeMT\.so\.1$' | head -n 1)
  if [ -z "$lib" ]; then
    echo "libfaketime is not installed (sh scripts/deps.sh)"; fail=$((fail + 1)); return
  fi
  { [ -f "$out/main/Makefile" ] || build "$out/main"; } &&
    (cd "$out/main" && make -j2 all $faketime_units >make-faketime.out 2>&1) ||
    { echo "build failed"; fail=$((fail + 1)); return; }
  started=$(date +%s)
  old_ifs=$IFS; IFS=';'; set -f
  for at in $faketime_instants; do
    IFS=$old_ifs; set +f
    at_started=$(date +%s)
    dir="$out/faketime/$(echo "$at" | tr -c '0-9\n' '-')"
    rm -rf "$dir"; mkdir -p "$dir"
    for u in $faketime_units; do
      faketime_run CMOCKA_MESSAGE_OUTPUT=TAP python3 "$top/tests/integration/harness.py" \
        faketime "$at" "$out/main/$u" >"$dir/unit-$(basename "$u").tap" 2>&1
      add_tap_counts "$dir/unit-$(basename "$u").tap" "   [$at] $u:" brief
    done
    faketime_lane "$at" "$dir" $faketime_lane1 &
    lane1=$!
    faketime_lane "$at" "$dir" $faketime_lane2
    wait "$lane1"
    for t in $faketime_lane1 $faketime_lane2; do
      add_tap_counts "$dir/${t%.py}.tap" "   [$at] $t:"
    done
    echo "   [$at] $(($(date +%s) - at_started)) s"
  done
  IFS=$old_ifs; set +f
  echo "   faketime: $(($(date +%s) - started)) s"
}

for suite in $suites; do
  echo "== suite: $suite"
  case $suite in
  main)
    if build "$out/main"; then
      make -j2 check >check.out 2>&1; add_automake_counts check.out; show_failures .
    else fail=$((fail + 1)); fi ;;
  faketime) faketime_suite ;;
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
    sh "$top/scripts/fuzz.sh" "${SCW_FUZZ_SECONDS:-30}" >"$out/fuzz.out" 2>&1
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
