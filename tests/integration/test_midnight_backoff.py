#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The API fails from midnight UTC (under libfaketime from 23:59:50 on 30
November): the plugin backs off as documented instead of asking again at
every read, and never publishes November under the month-to-date names."""

import os
import time

os.environ.setdefault("SCW_FAKETIME", "2026-11-30 23:59:50")
import harness as h  # noqa: E402

DEC1_TS = 1796083200


def test_failing_api_after_midnight_backs_off(work):
    h.generate_dataset(work.file("dataset.json"), month="2026-11", now="2026-11-30T23:59:50Z")
    sim = h.Simulator(work, work.file("dataset.json"),
                      faults=[{"kind": "status", "status": 503, "from": "2026-12-01T00:00:00Z"}])
    # Reads every second: before the scheduler, each one asked for a refresh.
    cd = h.Collectd(work, [h.org_block("acme", h.ORG1, sim.url, RefreshInterval=10,
                                       MaxRetries=0)], interval=1).start()
    try:
        h.wait_for(lambda: time.time() >= DEC1_TS + 60, 90, "a minute past midnight")
        received = [r["received"] for r in sim.charge_requests()]
        after = [t for t in received if DEC1_TS <= t < DEC1_TS + 60]
        # README: at RefreshInterval 10 a failing API gets at most 12
        # requests in 2 minutes (one per back-off step capped at the
        # interval), shared by the current and the closing month.
        assert 3 <= len(after) <= 7, "requests in the minute after midnight: %s" % [
            round(t - DEC1_TS, 1) for t in after]
        print("# %d requests in the minute after midnight, at +%s s" % (
            len(after), [round(t - DEC1_TS, 1) for t in after]), flush=True)
        gaps = [b - a for a, b in zip(after, after[1:])]
        assert min(gaps) >= 4.5, "requests closer than the back-off allows: %s" % gaps
        log = cd.log()
        assert "refresh failed" in log and "HTTP 503" in log, log[-2000:]
        assert cd.alive()
        # No November value under the month-to-date names after midnight.
        rows = h.read_csv_cost_points(cd.csvdir, "acme")
        late = [(k, t, v) for k, points in rows.items() for t, v in points
                if t >= DEC1_TS + 1 and (k != ("", "total") or v != 0)]
        assert not late, late[:5]
    finally:
        cd.stop()
        sim.stop()


if __name__ == "__main__":
    h.run([test_failing_api_after_midnight_backs_off])
