#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Memory per series in the real collectd daemon (issue #10).

    python3 bench/series_memory.py [--resources N] [--out FILE]

Needs the plugin built in the source tree or SCW_TOP_BUILDDIR (as the
integration tests do). Generates a month of charges with N resources for the
first hours of 1 November 2026 and runs each configuration under libfaketime
at 2026-11-01 12:00 UTC: collectd with scw_finops (GroupBy resource,
MaxSeries 0) against the bundled simulator, Interval 10 s (at 1 s, 50,000
value lists a second outrun collectd's write threads and the queue, not the
series, is measured). After the first walk it waits for 4 reads and
records collectd's VmRSS; the same with
GroupBy organization (one series) is the baseline, so
(RSS - baseline) / series is what one series costs, split by where it goes:

  plugin       Interval 3600: the walk's snapshot (aggregate, names) is in
               memory, nothing dispatched yet
  + cache      no writer: collectd's value cache and our meta data cache
  + csv        the csv writer (its write queue and copies)
  metadata     each of the above with SendMetadata false

Prints a Markdown table (and writes it to --out)."""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness as h  # noqa: E402

INSTANT = "2026-11-01 12:00:00"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure(work, dataset, group_by, metadata, writer, interval):
    sim = h.Simulator(work, dataset)
    lines = ['  <Organization "acme">', '    OrganizationID "%s"' % h.ORG1,
             '    URL "%s"' % sim.url, '    SecretKey "%s"' % h.SECRET,
             "    StartupSpread 0", '    GroupBy "%s"' % group_by, "    MaxSeries 0",
             "    SendMetadata %s" % ("true" if metadata else "false"),
             "  </Organization>"]
    cd = h.Collectd(work, ["\n".join(lines)], interval=interval, csv=writer == "csv")
    cd.start()
    try:
        # The walk is complete when the simulator has served its last page.
        h.wait_for(lambda: any(r["status"] == 200 and r["token_out"] is None
                               for r in sim.charge_requests()), 300, "the first walk")
        start = time.time()
        h.wait_for(lambda: time.time() > start + 4 * min(interval, 10) + 1, 60, "4 reads")
        return rss_kib(cd.proc.pid)
    finally:
        cd.stop()
        sim.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=100000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if not h.UNDER_FAKETIME:
        lib = h.faketime_lib()
        env = h.faketime_env(INSTANT, lib)
        sys.exit(subprocess.call([sys.executable] + sys.argv, env=env))
    work = h.Workdir()
    dataset = work.file("dataset.json")
    h.generate_dataset(dataset, seed=11, resources=args.resources,
                       now="2026-11-01T12:00:00Z")
    sums = h.finops_sim.expected_sums(dataset, h.ORG1, "2026-11-01T00:00:00Z",
                                      "2026-11-01T12:00:00Z", "resource")
    n_series = len([g for g in sums["groups"] if g["currency"] == "EUR"])
    runs = []
    plan = [("plugin only (Interval 3600)", "none", 3600),
            ("no writer", "none", 10), ("csv writer", "csv", 10)]
    for label, writer, interval in plan:
        base = measure(h.Workdir(), dataset, "organization", True, writer, interval)
        for metadata in (True, False):
            rss = measure(h.Workdir(), dataset, "resource", metadata, writer, interval)
            print(label, metadata, base, rss, flush=True)
            runs.append((label, metadata, base, rss))
    rows = ["| configuration | SendMetadata | RSS, 1 series (KiB) | RSS, all series (KiB) "
            "| KiB per series |", "|---|---|---:|---:|---:|"]
    for label, metadata, base, rss in runs:
        rows.append("| %s | %s | %d | %d | %.2f |" % (
            label, "true" if metadata else "false", base, rss,
            (rss - base) / n_series))
    text = "Series: %d (GroupBy resource); %d resources generated.\n\n%s\n" % (
        n_series, args.resources, "\n".join(rows))
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
