#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - the scw_finops benchmark (issues #5 and #12).
#
#   sh bench/run.sh            10k, 100k and 1M charges; writes bench/RESULTS.md
#   sh bench/run.sh --quick    10k only, well under a minute (CI smoke test);
#                              writes bench/out/RESULTS-quick.md
#
# Generates deterministic FinOps API pages (bench/data/, git-ignored), builds
# the bench programs from the plugin's core sources (bench/build.sh), serves
# the pages with a private nginx on 127.0.0.1 (started and stopped by PID),
# then measures, each step in its own process, on the same bytes:
#   core parse+aggregate (GroupBy sku and resource), json-c alone, the Python
#   reference, jq, a full refresh through libcurl, plain downloads (libcurl and
#   the curl tool), the plugin's HTTP path alone (scw_http_fetch, no parse),
#   download + bare parse, snapshot build for 10,000 series;
# and counts instructions with callgrind on the 10k set (plus 100k for the
# core in the full run). Raw numbers go to bench/out/; report.py writes the
# Markdown report.
#
# Environment:
#   BENCH_DATA=DIR       where datasets live (default bench/data)
#   BENCH_REPS=N         runs per step for 10k and 100k (default 3; the fastest
#                        is reported); the 1M steps run once, those the
#                        targets compare twice
#   BENCH_RESULTS=FILE   where to write the report
#   BENCH_JSONC_SRC=DIR  a json-c source tree (same version as the system's):
#                        built with -g -O2 for the profile only, so that
#                        callgrind can name json-c's static functions
#   BENCH_NO_CALLGRIND=1 skip the callgrind part
set -eu

BENCH=$(cd "$(dirname "$0")" && pwd)
QUICK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (use --quick)" >&2; exit 2 ;;
  esac
done

DATA=${BENCH_DATA:-$BENCH/data}
OUT=$BENCH/out
BUILD=$BENCH/build
REPS=${BENCH_REPS:-3}
if [ $QUICK = 1 ]; then
  SIZES="10k"
  RESULTS=${BENCH_RESULTS:-$OUT/RESULTS-quick.md}
else
  SIZES="10k 100k 1m"
  RESULTS=${BENCH_RESULTS:-$BENCH/RESULTS.md}
fi
T0=$(date +%s)

log() { printf '[bench %4ss] %s\n' $(( $(date +%s) - T0 )) "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }

for tool in gcc pkg-config python3 nginx; do
  need $tool || { echo "run.sh: $tool is required" >&2; exit 1; }
done

rm -rf "$OUT"
mkdir -p "$OUT/sums" "$OUT/cg" "$OUT/logs" "$DATA"

# ---- machine ----
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "mode: $([ $QUICK = 1 ] && echo quick || echo full)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "cpu_mhz: $(grep -m1 'cpu MHz' /proc/cpuinfo | sed 's/.*: //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "os: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "gcc: $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
  echo "json-c: $(pkg-config --modversion json-c)"
  echo "libcurl: $(pkg-config --modversion libcurl)"
  echo "curl: $(curl --version 2>/dev/null | head -1)"
  echo "python: $(python3 --version 2>&1)"
  echo "jq: $(jq --version 2>/dev/null || echo missing)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*version: //')"
  echo "valgrind: $(valgrind --version 2>/dev/null || echo missing)"
  echo "loadavg_start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"

# ---- build ----
JSONC_NOTE="system library (stripped: json-c's static functions are not named)"
if [ -n "${BENCH_JSONC_SRC:-}" ]; then
  log "building json-c with symbols from $BENCH_JSONC_SRC (profile only)"
  rm -rf "$BUILD/jsonc" && mkdir -p "$BUILD/jsonc"
  if (cd "$BUILD/jsonc" && cmake -G "$(need ninja && echo Ninja || echo 'Unix Makefiles')" \
        "$BENCH_JSONC_SRC" -DCMAKE_BUILD_TYPE=None \
        -DCMAKE_C_FLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -D_FORTIFY_SOURCE=2" \
        -DBUILD_STATIC_LIBS=OFF -DBUILD_TESTING=OFF -DDISABLE_WERROR=ON >cmake.log 2>&1 \
      && cmake --build . >build.log 2>&1); then
    BENCH_JSONC_LIB=$BUILD/jsonc
    export BENCH_JSONC_LIB
    v=$(sed -n 's/.*project(json-c LANGUAGES C VERSION \([0-9.]*\)).*/\1/p' "$BENCH_JSONC_SRC/CMakeLists.txt" | head -1)
    JSONC_NOTE="json-c ${v:-?} built from source with Debian's flags plus -g (profile only)"
  else
    log "json-c build failed (see $BUILD/jsonc/*.log): profiling with the system library"
  fi
fi
echo "jsonc_profile_lib: $JSONC_NOTE" >> "$OUT/machine.txt"
log "building bench programs"
sh "$BENCH/build.sh" > "$OUT/logs/build.log" 2>&1 || { cat "$OUT/logs/build.log"; exit 1; }

# ---- datasets ----
charges_of() { case $1 in 10k) echo 10000 ;; 100k) echo 100000 ;; 1m) echo 1000000 ;; esac; }
GEN_SUM=$(cksum < "$BENCH/gen.c" | cut -d' ' -f1)
for size in $SIZES; do
  n=$(charges_of $size)
  dir=$DATA/$size
  if [ -f "$dir/MANIFEST" ] && [ "$(cat "$dir/GEN" 2>/dev/null)" = "$GEN_SUM" ]; then
    log "dataset $size: up to date"
  else
    log "dataset $size: generating $n charges"
    rm -rf "$dir" && mkdir -p "$dir"
    "$BUILD/gen" "$dir" $n 1000
    echo "$GEN_SUM" > "$dir/GEN"
  fi
  echo "size=$size $(cat "$dir/MANIFEST")" >> "$OUT/datasets.txt"
done

# ---- nginx ----
NGX=$OUT/nginx
mkdir -p "$NGX"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$NGX/nginx.conf" <<EOF
# Private nginx for the benchmark: one process, no logs, no gzip, sendfile.
daemon off;
master_process off;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  types { }
  default_type application/json;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path $NGX/tmp_body;
  proxy_temp_path $NGX/tmp_proxy;
  fastcgi_temp_path $NGX/tmp_fastcgi;
  uwsgi_temp_path $NGX/tmp_uwsgi;
  scgi_temp_path $NGX/tmp_scgi;
  # The first page has no token; token page-000N is file page-000N.json.
  map \$arg_page_token \$scw_page {
    ""                          page-0001;
    "~^(?<p>page-[0-9]{4})\$"   \$p;
    default                     invalid-token;
  }
  server {
    listen 127.0.0.1:$PORT;
    root $DATA;
    # <base>/<set>/billing/v2beta1/charges?...&page_token=page-000N
    location ~ ^/(?<set>[0-9a-z]+)/billing/v2beta1/charges\$ {
      try_files /\$set/\$scw_page.json =404;
    }
    location / { return 404; }
  }
}
EOF
NGX_PID=
stop_nginx() {
  if [ -n "$NGX_PID" ]; then
    kill "$NGX_PID" 2>/dev/null || true
    wait "$NGX_PID" 2>/dev/null || true
    NGX_PID=
  fi
}
trap 'stop_nginx' EXIT
trap 'stop_nginx; exit 130' INT TERM
nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" &
NGX_PID=$!
ok=0
for _ in $(seq 1 50); do
  if curl -sf -o /dev/null "http://127.0.0.1:$PORT/$(echo $SIZES | cut -d' ' -f1)/billing/v2beta1/charges"; then
    ok=1; break
  fi
  sleep 0.1
done
[ $ok = 1 ] || { echo "run.sh: nginx did not come up" >&2; cat "$NGX/error.log" >&2; exit 1; }
log "nginx pid $NGX_PID on 127.0.0.1:$PORT"

# ---- measuring ----
# measure STEP SIZE REPS CMD...: runs CMD REPS times, each in its own process
# under bench_run (wall, CPU, peak RSS); appends one line per run to
# results.txt.
measure() {
  step=$1 size=$2 reps=$3
  shift 3
  rep=1
  while [ $rep -le $reps ]; do
    if ! "$BUILD/bench_run" "$OUT/logs/time.txt" "$@" \
        > "$OUT/logs/stdout.txt" 2> "$OUT/logs/stderr.txt"; then
      echo "run.sh: step $step ($size) failed:" >&2
      cat "$OUT/logs/stderr.txt" >&2
      exit 1
    fi
    res=$(sed -n 's/^RESULT //p' "$OUT/logs/stdout.txt")
    echo "step=$step size=$size rep=$rep $res $(tail -1 "$OUT/logs/time.txt")" >> "$OUT/results.txt"
    rep=$((rep + 1))
  done
}

for size in $SIZES; do
  dir=$DATA/$size
  pages=$(sed 's/.*pages=\([0-9]*\).*/\1/' "$dir/MANIFEST")
  url=http://127.0.0.1:$PORT/$size
  r=$REPS
  rk=$REPS  # the steps issue #12's targets compare: best of 2 even on 1M
  if [ $size = 1m ]; then r=1; [ "$REPS" -gt 2 ] && rk=2; fi
  log "$size: reading files (warms the page cache), json-c alone"
  measure read $size $r "$BUILD/bench_jsonc" read "$dir"
  measure jsonc_bare $size $rk "$BUILD/bench_jsonc" bare "$dir"
  measure jsonc_flags $size $r "$BUILD/bench_jsonc" flags "$dir"
  log "$size: our core, parse + aggregate"
  measure core_sku $size $rk "$BUILD/bench_core" "$dir" sku "$OUT/sums/core-$size.txt"
  measure core_resource $size $r "$BUILD/bench_core" "$dir" resource
  log "$size: Python reference"
  measure python_sku $size $rk python3 "$BENCH/ref.py" "$dir" sku "$OUT/sums/python-$size.txt"
  measure python_resource $size $r python3 "$BENCH/ref.py" "$dir" resource
  if need jq; then
    log "$size: jq"
    measure jq_sku $size $r jq -rn -f "$BENCH/sums.jq" $(ls "$dir"/page-*.json)
    LC_ALL=C sort "$OUT/logs/stdout.txt" > "$OUT/sums/jq-$size.txt"
  fi
  log "$size: downloads and full refresh through nginx"
  "$BUILD/bench_download" "$url" "$pages" urls > "$OUT/logs/curl-$size.cfg"
  measure download $size $rk "$BUILD/bench_download" "$url" "$pages"
  measure http $size $rk "$BUILD/bench_download" "$url" "$pages" http
  measure curl_cli $size $r curl -sS --fail -K "$OUT/logs/curl-$size.cfg"
  measure download_parse $size $r "$BUILD/bench_download" "$url" "$pages" parse
  measure refresh_sku $size $rk "$BUILD/bench_refresh" "$url" sku "$OUT/sums/refresh-$size.txt"
  if [ $size = 10k ] && [ -z "${BENCH_NO_CALLGRIND:-}" ] && need valgrind; then
    # Where the HTTP path spends: everything inside curl_easy_perform
    # (libcurl and the write callbacks), plain download against scw_http.
    for m in download http; do
      valgrind --tool=callgrind --callgrind-out-file="$OUT/cg/perform_$m-$size.out" \
        --collect-atstart=no --toggle-collect=curl_easy_perform \
        "$BUILD/bench_download" "$url" "$pages" $([ $m = http ] && echo http) \
        > "$OUT/logs/cg-perform-$m.txt" 2>&1 \
        || { cat "$OUT/logs/cg-perform-$m.txt" >&2; exit 1; }
    done
  fi
  measure refresh_resource $size $r "$BUILD/bench_refresh" "$url" resource
  # Every implementation must find the same per-SKU sums.
  for impl in python jq refresh; do
    f=$OUT/sums/$impl-$size.txt
    [ -f "$f" ] || continue
    if cmp -s "$OUT/sums/core-$size.txt" "$f"; then
      echo "size=$size impl=$impl same=1" >> "$OUT/verify.txt"
    else
      echo "size=$size impl=$impl same=0" >> "$OUT/verify.txt"
      log "WARNING: $impl's per-SKU sums differ from the core's on $size"
    fi
  done
done
stop_nginx
log "snapshot of 10,000 series"
measure snapshot 10k 1 "$BUILD/bench_snapshot" 10000 20

# ---- callgrind ----
if [ -z "${BENCH_NO_CALLGRIND:-}" ] && need valgrind; then
  cg() { # NAME SIZE CMD...: instructions inside bench_work
    name=$1 size=$2
    shift 2
    log "callgrind: $name on $size"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg/$name-$size.out" \
      --collect-atstart=no --toggle-collect=bench_work "$@" \
      > "$OUT/logs/cg-$name-$size.txt" 2>&1 \
      || { cat "$OUT/logs/cg-$name-$size.txt" >&2; exit 1; }
  }
  d10=$DATA/10k
  cg core_sku 10k "$BUILD/bench_core" "$d10" sku
  cg jsonc_bare 10k "$BUILD/bench_jsonc" bare "$d10"
  cg core_prof 10k "$BUILD/bench_core_prof" "$d10" sku
  if [ $QUICK = 0 ]; then
    cg core_resource 10k "$BUILD/bench_core" "$d10" resource
    cg jsonc_flags 10k "$BUILD/bench_jsonc" flags "$d10"
    cg core_prof_resource 10k "$BUILD/bench_core_prof" "$d10" resource
    cg jsonc_flags_prof 10k "$BUILD/bench_jsonc_prof" flags "$d10"
    cg core_sku 100k "$BUILD/bench_core" "$DATA/100k" sku
  fi
  log "callgrind: snapshot of 10,000 series"
  valgrind --tool=callgrind --callgrind-out-file="$OUT/cg/snapshot-10k.out" \
    "$BUILD/bench_snapshot" 10000 1 > "$OUT/logs/cg-snapshot.txt" 2>&1
fi

echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
echo "run_seconds: $(( $(date +%s) - T0 ))" >> "$OUT/machine.txt"
python3 "$BENCH/report.py" "$OUT" "$RESULTS" $([ $QUICK = 1 ] && echo --quick)
log "read callback with 10,000 series in the real collectd"
python3 "$BENCH/dispatch.py" >> "$RESULTS" 2>"$OUT/logs/dispatch.log" \
  || { log "dispatch measurement failed (see $OUT/logs/dispatch.log)"; }
log "done: $RESULTS"
