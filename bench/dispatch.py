#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Read-callback cost for 10,000 series, measured in the real collectd.

Serves a month in which every charge belongs to its own resource (GroupBy
resource: one series per charge, 10,000 of them) from the FinOps simulator,
runs `collectd -f` with the plugin and the csv writer, and reads the
plugin's own `duration-read_cpu` self-metric: the CPU seconds (thread CPU
clock) of one read callback, i.e. building and dispatching every value list
with its meta data into collectd's write queue. Prints a Markdown section.

Needs a built plugin: SCW_TOP_BUILDDIR (default: _build/bench-dispatch, built
here with configure/make if missing)."""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
SERIES = int(os.environ.get("BENCH_SERIES", "10000"))


def build_plugin():
    build = os.environ.get("SCW_TOP_BUILDDIR") or os.path.join(TOP, "_build", "bench-dispatch")
    if not os.path.exists(os.path.join(build, ".libs", "scw_finops.so")):
        os.makedirs(build, exist_ok=True)
        subprocess.run("autoreconf -fi >/dev/null 2>&1 && cd %s && %s/configure --prefix=/usr "
                       "--disable-system-tests >/dev/null && make -j2 scw_finops.la >/dev/null"
                       % (build, TOP), shell=True, check=True, cwd=TOP)
    os.environ["SCW_TOP_BUILDDIR"] = build


def dataset(path, now):
    import finops_sim
    month_start, _ = finops_sim.month_bounds(now * 10**9)
    start = finops_sim.format_ts(month_start)
    end = finops_sim.format_ts(month_start + 3600 * 10**9 - 10**9)  # first hour
    charges = []
    for i in range(SERIES):
        charges.append({
            "organization_id": "11111111-1111-4111-8111-111111111111",
            "organization_name": "Acme SAS",
            "project_id": "7c1e2b1a-5d3f-4e8a-9b0c-%012d" % (i % 20),
            "project_name": "project-%02d" % (i % 20),
            "sku": "/compute/type_%02d/run_par%d" % (i % 50, i % 3 + 1),
            "invoice_id": "",
            "resource_id": "0d6a4f2e-9c1b-4e7a-b3d5-%012d" % i,
            "resource_name": "server-%05d" % i,
            "price": {"currency_code": "EUR", "units": i % 7, "nanos": (i * 7919) % 10**9},
            "start_date": start, "end_date": end, "updated_at": end})
    with open(path, "w") as fh:
        json.dump({"month": start[:7], "organizations": [
            {"id": "11111111-1111-4111-8111-111111111111", "name": "Acme SAS"}],
            "keys": {"sim-secret-key": {"organizations": [
                "11111111-1111-4111-8111-111111111111"]}}, "charges": charges}, fh)


def main():
    build_plugin()
    sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
    import harness as h
    now = int(time.time())
    work = h.Workdir()
    dataset(work.file("dataset.json"), now)
    sim = h.Simulator(work, work.file("dataset.json"))
    cd = h.Collectd(work, [h.org_block("acme", h.ORG1, sim.url, GroupBy="resource",
                                       PageSize=1000)], interval=2).start()
    try:
        def samples():
            path_dir = os.path.join(cd.csvdir, "acme", "scw_finops")
            if not os.path.isdir(path_dir):
                return None
            files = [f for f in os.listdir(path_dir) if f.startswith("duration-read_cpu")]
            if not files:
                return None
            with open(os.path.join(path_dir, files[0])) as fh:
                rows = [float(r.split(",")[1]) for r in fh.read().splitlines()[1:] if r]
            # Row k reports read k-1; the first two reads may predate the snapshot.
            return rows[3:] if len(rows) >= 8 else None
        rows = h.wait_for(samples, 120, "five reads with all series")
        total = h.read_csv_value(cd.csvdir, "acme", "", "count", "charges")
    finally:
        cd.stop()
        sim.stop()
        work.cleanup()
    med = statistics.median(rows)
    print("\n## Read callback with %d series (real collectd)\n" % SERIES)
    print("`python3 bench/dispatch.py`: collectd -f with the plugin (GroupBy resource, %d charges "
          "in the snapshot) and the csv writer; the plugin's `duration-read_cpu` self-metric "
          "(thread CPU time of one read callback: value lists with meta data into collectd's "
          "write queue), %d reads.\n" % (total or 0, len(rows)))
    print("| reads | median CPU ms | min | max | per series |")
    print("|---:|---:|---:|---:|---:|")
    print("| %d | %.1f | %.1f | %.1f | %.2f µs |" % (
        len(rows), med * 1e3, min(rows) * 1e3, max(rows) * 1e3, med / SERIES * 1e6))
    print("\nTarget: under 50 ms of CPU for 10,000 series: %s." % (
        "met" if med < 0.050 else "NOT met"))


if __name__ == "__main__":
    main()
