#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak: the real collectd with two organizations refreshing every second
for many cycles against a simulator that injects seeded random faults
(5xx, 429, malformed and mistyped pages, dropped connections, slow pages).

Asserted: every cost value ever written equals the exact expected sum or is
absent (the dataset is trimmed so the expectation does not move with "now");
collectd's RSS does not grow after warm-up; collectd exits within 10 s of
SIGTERM, at the end and at random moments of short runs. The figures (cycles,
faults, RSS) are printed as TAP comments.

SCW_SOAK_SECONDS sets the length of the long run (default 45)."""

import json
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


def stable_dataset(work):
    """A generated month, minus charges that end after an hour ago or start
    before the month: the clamped sums are then the same for every window
    the plugin asks for during the test."""
    now_ns = time.time_ns()
    month_start, _ = finops_sim.month_bounds(now_ns)
    cutoff = now_ns - 3600 * 10**9
    if cutoff - month_start < 6 * 3600 * 10**9:
        raise h.Skip("too close to the start of the month for a stable dataset")
    data = h.generate_dataset(work.file("full.json"), seed=SEED % 1000)
    data["charges"] = [
        c for c in data["charges"]
        if finops_sim.parse_ts(c["start_date"]) >= month_start
        and finops_sim.parse_ts(c["end_date"]) < cutoff]
    path = work.file("dataset.json")
    with open(path, "w") as fh:
        json.dump(data, fh)
    return data, path


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def blocks(url):
    common = dict(RefreshInterval=1, PageSize=200, MaxRetries=1, Timeout=5)
    return [h.org_block("acme", h.ORG1, url, GroupBy="sku", **common),
            h.org_block("globex", h.ORG2, url, GroupBy="resource", **common)]


def test_soak_exact_or_absent(work):
    seconds = float(os.environ.get("SCW_SOAK_SECONDS", "45"))
    data, path = stable_dataset(work)
    sim = h.Simulator(work, path, faults=FAULTS)
    cd = h.Collectd(work, blocks(sim.url)).start()
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

    first = {}
    for r in reqs:
        first.setdefault(r["query"]["organization_id"][0], r)
    checked = 0
    for host, org, group_by in (("acme", h.ORG1, "sku"), ("globex", h.ORG2, "resource")):
        expected = h.expected_series(data, org, first[org], group_by)
        rows = h.read_csv_cost_rows(cd.csvdir, host)
        assert rows, "no cost was ever published for %s" % host
        for key, values in rows.items():
            assert key in expected, "%s: unexpected series %s" % (host, key)
            want = expected[key] / h.NANOS
            bad = [v for v in values if abs(v - want) > h.CSV_TOLERANCE]
            assert not bad, "%s %s: published %r, want %r" % (host, key, bad[:3], want)
            checked += len(values)

    cycles = sum(1 for r in reqs if r["page"] == 1)
    faults = sum(1 for r in reqs if r["fault"])
    errors = h.read_csv_value(cd.csvdir, "acme", "", "errors", "")
    warm = samples[len(samples) // 3:]
    half = len(warm) // 2
    print("# soak: %.0f s, %d requests, %d refresh cycles started, %d faults injected, "
          "%s refresh errors (acme), %d published values checked, RSS %d..%d KiB "
          "(peak %d KiB)" % (seconds, len(reqs), cycles, faults, errors, checked,
                             min(warm), max(warm), max(samples)))
    assert faults > 0 and cycles >= seconds / 2, "the soak did not exercise enough"
    assert max(warm[half:]) <= max(warm[:half]) + 2048, \
        "RSS grew after warm-up: %s" % warm


def test_sigterm_at_random_moments(work):
    """Short runs stopped at seeded random moments (during refreshes, back-off,
    slow pages): each exits within 10 s."""
    _, path = stable_dataset(work)
    sim = h.Simulator(work, path, faults=FAULTS)
    rng = random.Random(SEED)
    try:
        for run in range(5):
            sub = h.Workdir()
            cd = h.Collectd(sub, blocks(sim.url)).start()
            h.wait_for(lambda: "Initialization complete" in cd.log(), 20, "collectd up")
            time.sleep(rng.uniform(0.1, 3.0))  # the random moment itself
            took = cd.stop()
            assert took < 10, "run %d: collectd took %.1fs to stop" % (run, took)
            sub.cleanup()
    finally:
        sim.stop()


if __name__ == "__main__":
    h.run([test_soak_exact_or_absent, test_sigterm_at_random_moments])
