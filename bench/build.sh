#!/bin/sh
# SPDX-License-Identifier: MIT
# build.sh - compiles the benchmark programs into bench/build/, straight from
# the plugin's core sources (not through autotools).
#   sh bench/build.sh
# Also builds bench_core_prof: the same core with -fno-inline -g, so that
# callgrind can tell our static functions apart (used for the profile only;
# instruction counts per charge come from the -O2 build). If BENCH_JSONC_LIB
# names a directory holding a libjson-c.so built with symbols, the profile
# binary is linked against it instead of the system's (see run.sh).
set -eu
BENCH=$(cd "$(dirname "$0")" && pwd)
PLUGIN=$(dirname "$BENCH")/plugin
BUILD=$BENCH/build
mkdir -p "$BUILD"
CC=${CC:-gcc}
CFLAGS="-O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-format-truncation"
DEPS_CFLAGS=$(pkg-config --cflags json-c libcurl)
DEPS_LIBS=$(pkg-config --libs json-c libcurl)
CORE="scw_error scw_money scw_naming scw_time scw_apierror scw_charge scw_agg scw_snapshot scw_query scw_refresh scw_http"

compile_core() { # $1 = object dir, $2 = extra flags
  mkdir -p "$1"
  for f in $CORE; do
    $CC $CFLAGS -w $2 $DEPS_CFLAGS -I"$PLUGIN" -c "$PLUGIN/$f.c" -o "$1/$f.o"
  done
}

compile_core "$BUILD/obj" ""
OBJS=""
for f in $CORE; do OBJS="$OBJS $BUILD/obj/$f.o"; done

$CC $CFLAGS "$BENCH/gen.c" -o "$BUILD/gen"
$CC $CFLAGS "$BENCH/runner.c" -o "$BUILD/bench_run"
for p in core jsonc refresh download snapshot; do
  $CC $CFLAGS $DEPS_CFLAGS -I"$PLUGIN" -I"$BENCH" "$BENCH/$p.c" $OBJS $DEPS_LIBS -lpthread \
    -o "$BUILD/bench_$p"
done

# Profile build.
compile_core "$BUILD/obj_prof" "-fno-inline -fno-optimize-sibling-calls"
POBJS=""
for f in $CORE; do POBJS="$POBJS $BUILD/obj_prof/$f.o"; done
PLIBS=$DEPS_LIBS
if [ -n "${BENCH_JSONC_LIB:-}" ] && [ -e "$BENCH_JSONC_LIB/libjson-c.so" ]; then
  PLIBS="-L$BENCH_JSONC_LIB -Wl,-rpath,$BENCH_JSONC_LIB $DEPS_LIBS"
fi
for p in core jsonc snapshot; do
  $CC $CFLAGS -fno-inline $DEPS_CFLAGS -I"$PLUGIN" -I"$BENCH" "$BENCH/$p.c" $POBJS $PLIBS \
    -lpthread -o "$BUILD/bench_${p}_prof"
done
