#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Forecast, budgets and MaxSeries through the real daemon (under
libfaketime from 15 November 12:00 UTC, far from a month edge):
currency_forecast and percent-budget_* are published with the values the
README's method gives; each budget threshold and the forecast-over-budget
notice reach collectd's logfile exactly once, also across a restart; the
threshold plugin acts on the percent series (the README's snippet); and
MaxSeries folds the smallest groups into other/other with the total exact."""

import os
import re
import shutil
import time

os.environ.setdefault("SCW_FAKETIME", "2026-11-15 12:00:00")
import harness as h  # noqa: E402
import finops_sim  # noqa: E402

THRESHOLD_SNIPPET = """LoadPlugin threshold
<Plugin threshold>
  <Plugin "scw_finops">
    <Type "budget_percent">
      Instance "used"
      WarningMax 80
      FailureMax 100
    </Type>
  </Plugin>
</Plugin>"""


def organization(url, lines):
    """An <Organization "acme"> block with raw option lines."""
    return "\n".join(['  <Organization "acme">', '    OrganizationID "%s"' % h.ORG1,
                      '    URL "%s"' % url, '    SecretKey "%s"' % h.SECRET,
                      "    StartupSpread 0"] + ["    " + line for line in lines]
                     + ["  </Organization>"])


def month_bounds(window):
    """(month start, month end) in Unix seconds of a walk's window."""
    start, end = finops_sim.month_bounds(finops_sim.parse_ts(window[0]))
    return start / h.NANOS, end / h.NANOS


def notices(cd):
    """Our notification messages in collectd's log, in order."""
    return re.findall(r"message = (acme[,:][^\n]*)", cd.log())


def by_project(dataset, window):
    return finops_sim.expected_sums(dataset, h.ORG1, window[0], window[1], "project")


def csv(cd, pinst, type_, tinst):
    return h.read_csv_value(cd.csvdir, "acme", pinst, type_, tinst)


def last_walk(sim):
    """The newest complete walk of this month (not the previous month's,
    which a fresh start also walks once)."""
    month = h.period_of(time.time())
    return [w for w in h.windows(sim, h.ORG1, complete=True) if w[0][:7] == month][-1]


def expected_forecast(nanos, window, created):
    """The README's method on a first walk (no 24-hour-old sample yet): the
    run rate since the month started."""
    start, end = month_bounds(window)
    return nanos / h.NANOS * (end - start) / (created - start)


def test_budgets_forecast_and_notifications_once(work):
    dataset = h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"))
    now = finops_sim.format_ts(int(time.time() * h.NANOS))
    sums = by_project(dataset, (now[:7] + "-01T00:00:00Z", now))
    total = sums["currency_totals"]["EUR"] / h.NANOS
    project = max(sums["groups"], key=lambda g: abs(g["nanos"]))
    pid, ptotal = project["project_id"], project["nanos"] / h.NANOS
    block = organization(sim.url, [
        "RefreshInterval 2", "Budget %.6f" % (total / 0.9),
        '<Project "%s">' % pid, "  Budget %.6f" % (ptotal / 1.5), "</Project>"])
    cd = h.Collectd(work, [block], extra_conf=THRESHOLD_SNIPPET)
    shutil.copy(os.path.join(h.STOCK_PLUGINS, "threshold.so"), cd.plugindir)
    cd.start()
    try:
        h.wait_for(lambda: len(notices(cd)) >= 7, 30, "seven budget notices")
        # Walks go on every 2 s: none of them may announce anything again.
        walks = len(h.windows(sim, h.ORG1, complete=True))
        h.wait_for(lambda: len(h.windows(sim, h.ORG1, complete=True)) >= walks + 2, 20,
                   "two more walks")
        seen = notices(cd)
        org = [n for n in seen if n.startswith("acme:")]
        proj = [n for n in seen if n.startswith("acme, project %s:" % pid)]
        assert len(seen) == 7 and len(org) == 3 and len(proj) == 4, seen
        for pct in ("50%", "80%"):
            assert sum(" reached %s of the budget " % pct in n for n in org) == 1, org
        assert not any("reached 100%" in n for n in org), org
        for pct in ("50%", "80%", "100%"):
            assert sum(" reached %s of the budget " % pct in n for n in proj) == 1, proj
        assert sum("forecast" in n for n in org) == 1 and sum("forecast" in n for n in proj) == 1
        assert all("EUR" in n and "(2026-11)" in n for n in seen), seen
        # The numbers behind them, from the last walk's window.
        window = last_walk(sim)
        created = finops_sim.parse_ts(window[1]) / h.NANOS
        sums = by_project(dataset, window)
        total = sums["currency_totals"]["EUR"] / h.NANOS
        ptotal = next(g for g in sums["groups"] if g["project_id"] == pid)["nanos"] / h.NANOS
        used = csv(cd, "", "budget_percent", "used")
        assert abs(used - 90.0) < 0.5, used
        groups = [g for g in sums["groups"] if g["currency"] == "EUR"]
        pinst = dict((g["project_id"], name[0]) for g, name in
                     zip(groups, h.expected_names(groups, "project")))[pid]
        pused = csv(cd, pinst, "budget_percent", "used")
        assert abs(pused - 150.0) < 1.0, pused
        assert csv(cd, pinst, "budget_percent", "forecast") > pused
        pforecast = csv(cd, pinst, "currency_forecast", "")
        want = expected_forecast(ptotal * h.NANOS, window, created)
        assert abs(pforecast - want) / want < 1e-4, (pforecast, want)
        forecast = csv(cd, "", "currency_forecast", "total")
        want = expected_forecast(total * h.NANOS, window, created)
        assert abs(forecast - want) / want < 1e-4, (forecast, want)
        assert forecast > total
        # The threshold plugin saw the percent series cross its own limits.
        log = cd.log()
        assert re.search(r"severity = WARNING, host = acme, plugin = scw_finops, "
                         r"type = budget_percent, type_instance = used, message = Host acme.*"
                         r"above the warning threshold of 80", log), log[-3000:]
        assert re.search(r"severity = FAILURE, host = acme, plugin = scw_finops, "
                         r"plugin_instance = %s, type = budget_percent, type_instance = used, "
                         r"message = Host acme.*above the failure threshold of 100" % pinst,
                         log), log[-3000:]
        assert "is nan" not in log
        # A restart announces nothing again (the state file remembers).
        cd.stop()
        before = len(notices(cd))
        cd.start()
        h.wait_for(lambda: "state restored" in cd.log(), 10, "the state restored")
        walks = len(h.windows(sim, h.ORG1, complete=True))
        h.wait_for(lambda: len(h.windows(sim, h.ORG1, complete=True)) >= walks + 2, 20,
                   "two walks after the restart")
        assert len(notices(cd)) == before, notices(cd)[before:]
    finally:
        cd.stop()
        sim.stop()


def test_max_series_folds_into_other(work):
    dataset = h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"))
    block = organization(sim.url, ["RefreshInterval 2", 'GroupBy "resource"',
                                   "MaxSeries 5"])
    cd = h.Collectd(work, [block])
    cd.start()
    try:
        h.wait_for(lambda: csv(cd, "other", "currency", "other") is not None, 30,
                   "the folded series")
        window = last_walk(sim)
        want = h.expected_series(dataset, h.ORG1, window, "resource")
        total = want.pop(("", "total"))
        ranked = sorted(want.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        kept, folded = dict(ranked[:4]), dict(ranked[4:])
        got = h.read_csv_costs(cd.csvdir, "acme")
        got.pop(("", "total"), None)
        assert set(got) == set(kept) | {("other", "other")}, sorted(got)
        for key, nanos in kept.items():
            assert abs(got[key] - nanos / h.NANOS) <= h.CSV_TOLERANCE, key
        other = sum(folded.values())
        assert abs(got[("other", "other")] - other / h.NANOS) <= h.CSV_TOLERANCE
        assert csv(cd, "", "currency", "total") == round(total / h.NANOS, 6) or \
            abs(csv(cd, "", "currency", "total") - total / h.NANOS) <= h.CSV_TOLERANCE
        assert csv(cd, "", "count", "folded_groups") == len(folded)
    finally:
        cd.stop()
        sim.stop()


if __name__ == "__main__":
    h.run([test_budgets_forecast_and_notifications_once, test_max_series_folds_into_other])
