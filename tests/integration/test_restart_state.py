#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Restarts and many organizations through the real daemon (under
libfaketime from 15 November 12:00 UTC, far from a month edge): a restart
republishes the saved numbers within one Interval without asking the API, a
corrupt state file is survived, and 30 organizations behind a slow API do not
delay other plugins' reads."""

import glob
import os
import shutil
import time

os.environ.setdefault("SCW_FAKETIME", "2026-11-15 12:00:00")
import harness as h  # noqa: E402


def total(cd):
    return h.read_csv_value(cd.csvdir, "acme", "", "currency", "total")


def rows_since(cd, pinst, type_, tinst, since):
    d = os.path.join(cd.csvdir, "acme", "scw_finops" + ("-" + pinst if pinst else ""))
    rows = []
    for path in glob.glob(os.path.join(d, type_ + ("-" + tinst if tinst else "") + "-2*")):
        rows += h._csv_rows(path)
    return sorted(r for r in rows if r[0] >= since)


def first_run(work):
    """collectd until the month and the previous month are published and
    saved; returns (sim, collectd stopped, total, state file)."""
    h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"))
    cd = h.Collectd(work, [h.org_block("acme", h.ORG1, sim.url, RefreshInterval=300)])
    cd.start()
    try:
        h.wait_for(lambda: total(cd) is not None, 30, "the total")
        h.wait_for(lambda: h.read_csv_value(cd.csvdir, "acme", "", "gauge",
                                            "previous_final") == 1, 30,
                   "the previous month, final")
        state = h.wait_for(lambda: glob.glob(os.path.join(work.path, "scw_finops",
                                                          "*.state")), 10, "the state file")
        # Both walks are saved: wait until the file no longer changes.
        h.wait_for(lambda: len(sim.charge_requests()) >= 2, 10, "two walks")
        value = total(cd)
    finally:
        cd.stop()
    return sim, cd, value, state[0]


def test_restart_republishes_without_requests(work):
    sim, cd, value, _ = first_run(work)
    try:
        asked = len(sim.charge_requests())
        restarted = time.time()
        cd.start()
        h.wait_for(lambda: rows_since(cd, "", "currency", "total", restarted), 5,
                   "the total again after the restart")
        h.wait_for(lambda: rows_since(cd, "", "currency_previous", "total", restarted), 5,
                   "the previous month again")
        assert rows_since(cd, "", "currency", "total", restarted)[0][1] == value
        assert rows_since(cd, "", "gauge", "previous_final", restarted)[-1][1] == 1
        # The snapshot keeps its age across the restart.
        age = rows_since(cd, "", "duration", "snapshot_age", restarted)
        assert age and age[-1][1] >= time.time() - restarted, age
        # And the schedule is followed: no request for a while.
        h.wait_for(lambda: time.time() >= restarted + 5, 10, "5 s after the restart")
        assert len(sim.charge_requests()) == asked, "the restart asked the API again"
        assert "state restored" in cd.log()
    finally:
        cd.stop()
        sim.stop()


def test_corrupt_state_file_survived(work):
    sim, cd, value, state = first_run(work)
    try:
        with open(state, "r+b") as fh:
            fh.seek(os.path.getsize(state) // 2)
            fh.write(b"\x00garbage\x00")
        asked = len(sim.charge_requests())
        restarted = time.time()
        cd.start()
        h.wait_for(lambda: "ignoring the state file" in cd.log(), 10, "the warning")
        h.wait_for(lambda: rows_since(cd, "", "currency", "total", restarted), 15,
                   "a fresh total")
        fresh = sim.charge_requests()[asked:]
        assert fresh, "no fresh walk"
        # The new total is exactly the sums of the window walked after the
        # restart (not a number from the damaged file).
        walked = [(r["query"]["start_date_after"][0], r["query"]["end_date_before"][0])
                  for r in fresh if r["query"]["start_date_after"][0] == "2026-11-01T00:00:00Z"]
        want = h.finops_sim.expected_sums(work.file("dataset.json"), h.ORG1, *walked[-1],
                                          "sku")["currency_totals"]["EUR"] / h.NANOS
        got = rows_since(cd, "", "currency", "total", restarted)[-1][1]
        assert abs(got - want) <= h.CSV_TOLERANCE * max(1, want), (got, want, value)
        assert cd.alive()
    finally:
        cd.stop()
        sim.stop()


def test_thirty_organizations_slow_api_do_not_delay_reads(work):
    h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"),
                      faults=[{"kind": "slow", "seconds": 4}])
    blocks = [h.org_block("org%02d" % i, h.ORG1, sim.url, Host="org%02d" % i, Timeout=10)
              for i in range(30)]
    cd = h.Collectd(work, blocks, extra_conf="LoadPlugin load")
    shutil.copy(os.path.join(h.STOCK_PLUGINS, "load.so"), cd.plugindir)
    cd.start()
    try:
        started = time.time()
        h.wait_for(lambda: time.time() >= started + 12, 20, "12 s of reads")
        load = sorted(t for path in glob.glob(os.path.join(cd.csvdir, "it-host", "load",
                                                           "load-2*"))
                      for t, _ in [(r[0], r[1]) for r in h._csv_rows(path)])
        load = [t for t in load if t >= started + 2]
        gaps = [b - a for a, b in zip(load, load[1:])]
        assert len(load) >= 8 and max(gaps) <= 2.5, "load reads delayed: %s" % gaps
        # Every organization's reads went on too (self-metrics each second).
        for i in (0, 14, 29):
            d = os.path.join(cd.csvdir, "org%02d" % i, "scw_finops")
            rows = sorted(r[0] for p in glob.glob(os.path.join(d, "http_requests-2*"))
                          for r in h._csv_rows(p) if r[0] >= started + 2)
            assert len(rows) >= 8, "org%02d: %d reads" % (i, len(rows))
        assert cd.alive()
    finally:
        cd.stop()
        sim.stop()


if __name__ == "__main__":
    h.run([test_restart_republishes_without_requests, test_corrupt_state_file_survived,
           test_thirty_organizations_slow_api_do_not_delay_reads])
