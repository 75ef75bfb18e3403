#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak: the real collectd with two organizations refreshing every second
for many cycles against a simulator that injects seeded random faults
(5xx, 429, malformed and mistyped pages, dropped connections, slow pages).

Asserted: every read published either no cost or exactly the sums of one
window the plugin asked for, of the month the read was made in (the window
grows by a second a refresh, and a run may pass midnight UTC);
collectd's RSS does not grow after warm-up; collectd exits within 10 s of
SIGTERM, at the end and at random moments of short runs. The figures (cycles,
faults, RSS) are printed as TAP comments.

SCW_SOAK_SECONDS sets the length of the long run (default 45)."""

import os
import random
import time

import harness as h
import finops_sim

SEED = int(os.environ.get("SCW_SOAK_SEED", "20261127"))
FAULTS = [{"kind": "random", "seed": SEED, "rate": 0.15,
           "choices": ["status500", "status503", "429", "malformed", "bad_json_type",
                       "drop_connection", "slow"],
           "slow_seconds": 0.3, "reset_seconds": 0}]
ORGS = (("acme", h.ORG1, "sku"), ("globex", h.ORG2, "resource"))


def dataset(work):
    data = h.generate_dataset(work.file("dataset.json"), seed=SEED % 1000)
    return data, work.file("dataset.json")


def page_sizes(data):
    """{org: PageSize} making walks of about 5 pages whatever the date: a
    month-to-date window holds 150 charges on the 1st and 30 times more at
    the month's end, and at 15 % faults a 100-page walk would rarely end."""
    now = time.time()
    start = finops_sim.format_ts(finops_sim.month_bounds(int(now * h.NANOS))[0])
    end = finops_sim.format_ts(int(now) * h.NANOS)
    ds = finops_sim.Dataset(data)
    return {org: max(10, finops_sim.expected_sums(ds, org, start, end)["charges"] // 5)
            for _, org, _ in ORGS}


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def blocks(url, sizes):
    common = dict(RefreshInterval=1, MaxRetries=1, Timeout=5)
    return [h.org_block(host, org, url, GroupBy=group_by, PageSize=sizes[org], **common)
            for host, org, group_by in ORGS]


def test_soak_exact_or_absent(work):
    seconds = float(os.environ.get("SCW_SOAK_SECONDS", "45"))
    data, path = dataset(work)
    sim = h.Simulator(work, path, faults=FAULTS)
    sizes = page_sizes(data)
    cd = h.Collectd(work, blocks(sim.url, sizes)).start()
    samples = []
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert cd.alive(), "collectd died:\n" + cd.log()[-2000:]
            samples.append(rss_kib(cd.proc.pid))
            time.sleep(0.5)  # sampling period, not synchronisation
        took = cd.stop()
        reqs = sim.charge_requests()
    finally:
        if cd.alive():
            cd.stop()
        sim.stop()
    assert took < 10, "collectd took %.1fs to stop" % took

    checked = 0
    for host, org, group_by in ORGS:
        reads = h.split_reads(h.read_csv_cost_points(cd.csvdir, host))
        assert reads, "no cost was ever published for %s" % host
        # Any window asked for is a candidate: a walk that failed on a later
        # page still names a window, and a partial sum matches none.
        h.check_reads(reads, h.Expected(data, org, group_by), h.windows(reqs, org),
                      h.CSV_TOLERANCE, host, partial_last=True)
        checked += sum(len(values) for _, values in reads)

    cycles = sum(1 for r in reqs if r["page"] == 1)
    faults = sum(1 for r in reqs if r["fault"])
    errors = h.read_csv_value(cd.csvdir, "acme", "", "errors", "")
    months = sorted({h.window_of(r)[0][:7] for r in reqs})
    warm = samples[len(samples) // 3:]
    half = len(warm) // 2
    print("# soak: %.0f s, %d requests, %d refresh cycles started, %d faults injected, "
          "%s refresh errors (acme), %d published values checked, months %s, "
          "PageSize %s, RSS %d..%d KiB (peak %d KiB)" % (
              seconds, len(reqs), cycles, faults, errors, checked, " ".join(months),
              "/".join(str(v) for v in sizes.values()), min(warm), max(warm), max(samples)))
    assert faults > 0 and cycles >= seconds / 2, "the soak did not exercise enough"
    assert max(warm[half:]) <= max(warm[:half]) + 2048, \
        "RSS grew after warm-up: %s" % warm


def test_sigterm_at_random_moments(work):
    """Short runs stopped at seeded random moments (during refreshes, back-off,
    slow pages): each exits within 10 s."""
    data, path = dataset(work)
    sizes = page_sizes(data)
    sim = h.Simulator(work, path, faults=FAULTS)
    rng = random.Random(SEED)
    try:
        for run in range(5):
            sub = h.Workdir()
            cd = h.Collectd(sub, blocks(sim.url, sizes)).start()
            h.wait_for(lambda: "Initialization complete" in cd.log(), 20, "collectd up")
            time.sleep(rng.uniform(0.1, 3.0))  # the random moment itself
            took = cd.stop()
            assert took < 10, "run %d: collectd took %.1fs to stop" % (run, took)
            sub.cleanup()
    finally:
        sim.stop()


if __name__ == "__main__":
    h.run([test_soak_exact_or_absent, test_sigterm_at_random_moments])
