#!/bin/sh
# Builds scw_finops out of tree and runs every test (`make check`: cmocka
# unit tests, the simulator's self-test, integration tests with the real
# collectd daemon). Ends with one line: "N passed, N failed, N skipped".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/_build/tests"
log="$build/check.out"
cd "$top" && autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$build" && cd "$build" || exit 1
if ! { ../../configure --prefix=/usr >configure.out 2>&1 && make -j2 >make.out 2>&1; }; then
  tail -n 40 configure.out make.out 2>/dev/null
  echo "0 passed, 1 failed"
  exit 1
fi
make -j2 check >"$log" 2>&1
status=$?
grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP):' "$log" | grep -v '^PASS' || true
# Show the TAP log of every test script that did not pass.
for f in $(find . -name '*.log' ! -name test-suite.log ! -name config.log); do
  if grep -qE '^(FAIL|ERROR|XPASS)' "${f%.log}.trs" 2>/dev/null || grep -q ':test-result: FAIL' "${f%.log}.trs" 2>/dev/null; then
    echo "==== $f"; tail -n 60 "$f"
  fi
done
count() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" "$log" | tail -n 1; }
pass=$(count PASS); fail=$(count FAIL); err=$(count ERROR); skip=$(count SKIP); xpass=$(count XPASS)
pass=${pass:-0}; fail=$(( ${fail:-0} + ${err:-0} + ${xpass:-0} )); skip=${skip:-0}
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
  tail -n 30 "$log"; fail=1
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
