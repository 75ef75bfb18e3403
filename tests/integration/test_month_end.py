#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A month end through the real daemon, under libfaketime from 23:59:35 UTC
on 30 November: the closing month keeps its late charges, is published as
currency_previous and turns final; the new month starts at 0 and never shows
a November number under the month-to-date names."""

import json
import os
import time

os.environ.setdefault("SCW_FAKETIME", "2026-11-30 23:59:35")
import harness as h  # noqa: E402

NOV1, DEC1 = "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"
DEC1_TS = 1796083200
LATE_EUR = 107


def series_rows(cd, pinst, type_, tinst):
    """[(time, value)] of one series over every csv file, oldest first."""
    d = os.path.join(cd.csvdir, "acme", "scw_finops" + ("-" + pinst if pinst else ""))
    prefix = type_ + ("-" + tinst if tinst else "") + "-"
    rows = []
    for fname in os.listdir(d) if os.path.isdir(d) else []:
        if fname.startswith(prefix) and len(fname) == len(prefix) + 10:
            rows += h._csv_rows(os.path.join(d, fname))
    return sorted(rows)


def late_dataset(work):
    """November (and December's first day), plus 107 EUR for November's last
    hour that the API shows only from 00:00:15 on 1 December."""
    path = work.file("dataset.json")
    dataset = h.generate_dataset(path, month="2026-11", now="2026-11-30T23:59:35Z")
    first = next(c for c in dataset["charges"] if c["organization_id"] == h.ORG1)
    dataset["charges"].append(dict(
        first, resource_id="late-resource", resource_name="late",
        start_date="2026-11-30T23:00:00Z", end_date="2026-11-30T23:59:59Z",
        price={"currency_code": "EUR", "units": LATE_EUR, "nanos": 0},
        posted_at="2026-12-01T00:00:15Z"))
    with open(path, "w") as fh:
        json.dump(dataset, fh)
    return dataset, first["project_id"]


def by_project(dataset, start, end, now=None):
    exp = h.finops_sim.expected_sums(dataset, h.ORG1, start, end, "project", now=now)
    sums = {g["project_id"]: g["nanos"] / h.NANOS for g in exp["groups"]
            if g["currency"] == "EUR"}
    return exp["currency_totals"].get("EUR", 0) / h.NANOS, sums


def close(a, b):
    return abs(a - b) <= h.CSV_TOLERANCE * max(1.0, abs(b))


def test_closing_month_keeps_late_charges(work):
    dataset, late_project = late_dataset(work)
    sim = h.Simulator(work, work.file("dataset.json"))
    cd = h.Collectd(work, [h.org_block("acme", h.ORG1, sim.url, GroupBy="project",
                                       ProjectLabel="id", RefreshInterval=2,
                                       SettlePeriod=20, PageSize=200)]).start()
    try:
        nov_total, nov_projects = by_project(dataset, NOV1, DEC1)
        without_late, _ = by_project(dataset, NOV1, DEC1, now="2026-12-01T00:00:10Z")
        assert abs(nov_total - without_late - LATE_EUR) < 1e-6
        # The closing month, with its late charges, exact, all projects.
        h.wait_for(lambda: series_rows(cd, "", "currency_previous", "total") and close(
            series_rows(cd, "", "currency_previous", "total")[-1][1], nov_total), 90,
            "currency_previous-total with the late charges")
        for project, value in nov_projects.items():
            rows = series_rows(cd, project, "currency_previous", "")
            assert rows and close(rows[-1][1], value), (project, rows[-3:], value)
        # Provisional after midnight, then final after the settle period.
        h.wait_for(lambda: [v for t, v in series_rows(cd, "", "gauge", "previous_final")
                            if t >= DEC1_TS + 2 and v == 1], 60, "previous_final = 1")
        final = [(t, v) for t, v in series_rows(cd, "", "gauge", "previous_final")
                 if t >= DEC1_TS + 1]
        assert final[0][1] == 0, "November was final at once: %s" % final[:3]
        flip = next(t for t, v in final if v == 1)
        assert flip >= DEC1_TS + 20, "final before the settle period ended"
        assert all(v == 1 for t, v in final if t >= flip), "final went back to 0"
        # Before final, the published closing month had missed the late hour.
        prev = series_rows(cd, "", "currency_previous", "total")
        assert any(close(v, without_late) for t, v in prev if DEC1_TS < t < flip), prev[:5]
        # No November number under the month-to-date names after midnight:
        # every total is a December window's (0 before December's first walk).
        now = time.time()
        dec_max, _ = by_project(dataset, DEC1, h.finops_sim.format_ts(int(now * h.NANOS)))
        after = [v for t, v in series_rows(cd, "", "currency", "total") if t >= DEC1_TS + 1]
        assert after, "nothing published after midnight"
        assert all(0 <= v <= dec_max + 1e-6 for v in after), (after[:5], dec_max)
        assert all(v < without_late / 2 for v in after)
        assert not [t for t, v in series_rows(cd, late_project, "currency", "")
                    if t >= DEC1_TS + 1 and v > dec_max + 1e-6]
        # The new month was never asked for an empty window.
        for r in sim.charge_requests():
            q = r["query"]
            assert q["start_date_after"][0] != q["end_date_before"][0], q
        assert cd.alive()
    finally:
        cd.stop()
        sim.stop()


if __name__ == "__main__":
    h.run([test_closing_month_keeps_late_charges])
