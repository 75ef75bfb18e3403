#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds and runs the libFuzzer targets of tests/fuzz (ASan + UBSan).
#
#   scripts/fuzz.sh [SECONDS [TARGET...]]   default: 60 s for each target
#
# Needs clang, libfuzzer-14-dev (or libclang-rt-14-dev) and libjson-c-dev.
# Everything is written under $FUZZ_BUILD_DIR (default _build/fuzz): the
# working corpus is a fresh copy of tests/fuzz/corpus/<target> plus the
# regression inputs of tests/fuzz/regressions/<target>, so the seeds in git
# are never modified. Ends with TAP lines; exits 1 if any target crashed.
# The flag lists below are split into words on purpose.
# shellcheck disable=SC2086
set -eu
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-fuzz_page fuzz_apierror fuzz_rfc3339 fuzz_money}
build=${FUZZ_BUILD_DIR:-_build/fuzz}
cc=${CC:-clang}
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS [TARGET...]]" >&2; exit 2 ;; esac

pkg-config --exists json-c || { echo "$0: json-c not found (libjson-c-dev)" >&2; exit 2; }
command -v "$cc" >/dev/null || { echo "$0: $cc not found (apt-get install clang)" >&2; exit 2; }

# The plugin's core modules: no collectd or curl needed, one object each.
core="scw_error scw_naming scw_money scw_time scw_charge scw_agg scw_snapshot
      scw_apierror"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -std=gnu11 -D_GNU_SOURCE -Iplugin $(pkg-config --cflags json-c)"
libs="$(pkg-config --libs json-c) -lm"

mkdir -p "$build/obj"
objs=
for m in $core; do
  "$cc" $cflags -c "plugin/$m.c" -o "$build/obj/$m.o"
  objs="$objs $build/obj/$m.o"
done

# -fno-sanitize-recover makes every report fatal; show where UB happened.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

n=0
failed=0
tap=
for t in $targets; do
  n=$((n + 1))
  bin="$build/$t"
  "$cc" $cflags "tests/fuzz/$t.c" $objs $libs -o "$bin"

  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$crashes"
  for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
    [ -d "$d" ] && cp -R "$d/." "$corpus/"
  done
  dict=
  [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"

  log="$build/$t.log"
  echo "# $t: fuzzing for ${seconds}s (log: $log)"
  rc=0
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
    -artifact_prefix="$crashes/" $dict "$corpus" >"$log" 2>&1 || rc=$?

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  execs=${execs:-?}
  if [ "$rc" -eq 0 ]; then
    echo "# $t: $execs executions, no crash"
    tap="$tap
ok $n - $t ($execs execs)"
  else
    failed=1
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "# $t: CRASH after $execs executions (exit $rc)"
    grep -E '^(SUMMARY|==[0-9]+==ERROR)|invariant failed|runtime error' "$log" |
      head -n 5 | sed 's/^/#   /'
    echo "#   reproduce: $bin ${input:-<see $log>}"
    tap="$tap
not ok $n - $t ($execs execs, crash: ${input:-see $log})"
  fi
done

echo "1..$n$tap"
exit $failed
