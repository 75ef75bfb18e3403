#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job: build and install scw_finops, then run collectd in the
# foreground with the plugin, printing every dispatched cost series (write_log,
# Graphite format). Without SCW_SECRET_KEY and SCW_ORGANIZATION_ID in the
# environment it runs against the bundled FinOps API simulator with a
# generated month of charges. Stop it with Ctrl-C (or set DEMO_SECONDS).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run=${DEMO_DIR:-/tmp/scw_finops-demo}
mkdir -p "$run"

echo "== building and installing scw_finops"
cd "$top"
autoreconf -fi >/dev/null 2>&1
mkdir -p _build/demo && cd _build/demo
../../configure --prefix=/usr >"$run/configure.out" 2>&1
make -j2 >"$run/make.out" 2>&1
make install >"$run/install.out" 2>&1

sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT INT TERM

if [ -n "${SCW_SECRET_KEY:-}" ] && [ -n "${SCW_ORGANIZATION_ID:-}" ]; then
  echo "== using the real Scaleway API for organization $SCW_ORGANIZATION_ID"
  url="https://api.scaleway.com"
  org_id="$SCW_ORGANIZATION_ID"
  key_line='SecretKeyEnv "SCW_SECRET_KEY"'
  budget_line=""
else
  echo "== starting the FinOps API simulator (no SCW_SECRET_KEY given)"
  python3 "$top/tests/sim/finops_sim.py" generate --out "$run/dataset.json" --seed 1
  rm -f "$run/sim.port"
  python3 "$top/tests/sim/finops_sim.py" serve --dataset "$run/dataset.json" \
    --port 0 --port-file "$run/sim.port" >"$run/sim.out" 2>&1 &
  sim_pid=$!
  i=0
  while [ ! -s "$run/sim.port" ]; do
    i=$((i + 1)); [ "$i" -gt 100 ] && { echo "simulator did not start"; cat "$run/sim.out"; exit 1; }
    sleep 0.1
  done
  url="http://127.0.0.1:$(cat "$run/sim.port")"
  org_id="11111111-1111-4111-8111-111111111111"
  export SCW_SECRET_KEY=sim-secret-key
  key_line='SecretKeyEnv "SCW_SECRET_KEY"'
  # A budget the simulated month overruns: shows budget_percent and the
  # notifications.
  budget_line="Budget 5000"
fi

cat >"$run/collectd.conf" <<CONF
Hostname "demo"
FQDNLookup false
BaseDir "$run"
TypesDB "/usr/share/collectd/types.db" "/usr/share/collectd/scw_finops.types.db"
Interval 10
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDOUT
</Plugin>
LoadPlugin write_log
<Plugin write_log>
  Format "Graphite"
</Plugin>
<LoadPlugin scw_finops>
  Interval 10
</LoadPlugin>
<Plugin scw_finops>
  <Organization "acme">
    OrganizationID "$org_id"
    $key_line
    URL "$url"
    GroupBy "sku"
    StartupSpread 0
    $budget_line
  </Organization>
</Plugin>
CONF

# A plugin whose shared libraries are missing fails only at dlopen, deep in
# collectd's log: say so first, with the fix.
for p in $(sed -n 's/^<\{0,1\}LoadPlugin \([a-z_]*\).*/\1/p' "$run/collectd.conf"); do
  if ldd "/usr/lib/collectd/$p.so" 2>&1 | grep -q "not found"; then
    echo "collectd plugin $p lacks shared libraries (run: sh scripts/deps.sh run):"
    ldd "/usr/lib/collectd/$p.so" | grep "not found"
    exit 1
  fi
done

echo "== collectd -f -C $run/collectd.conf (Ctrl-C to stop)"
if [ -n "${DEMO_SECONDS:-}" ]; then
  /usr/sbin/collectd -f -C "$run/collectd.conf" &
  cd_pid=$!
  sleep "$DEMO_SECONDS"
  kill "$cd_pid"; wait "$cd_pid" || true
else
  /usr/sbin/collectd -f -C "$run/collectd.conf"
fi
