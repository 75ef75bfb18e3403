#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The forecast's accuracy on synthetic months from the simulator
(finops_sim.SCENARIOS: flat, growing, a step change, resources stopped
mid-month, hourly billing capped at 500 hours). The month to date at every
hour comes from the simulator's oracle (clamped sums); the forecast from the
plugin's own code (forecast_replay, built from plugin/scw_forecast.c), as the
worker runs it with RefreshInterval 3600.

    python3 tests/forecast/test_forecast_accuracy.py          TAP
    python3 tests/forecast/test_forecast_accuracy.py --table  README's table
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as h  # noqa: E402
import finops_sim  # noqa: E402

MONTH = "2026-11"
DAYS_SHOWN = tuple(range(1, 30))  # day 30 ends the month: the forecast is the total


def replay_binary():
    path = os.path.join(h.TOP_BUILDDIR, "tests", "forecast", "forecast_replay")
    if not os.path.exists(path):
        raise h.Skip("forecast_replay is not built (make check builds it)")
    return path


def errors(kind):
    """{day: error in percent of the month's final total} for forecasts made
    at the end of each day, and the final total in EUR."""
    doc = finops_sim.scenario_dataset(kind, MONTH)
    org = finops_sim.ORG_FIXED[0][0]
    start_ns, end_ns = finops_sim.month_bounds(finops_sim.parse_ts(MONTH + "-01T00:00:00Z"))
    start, end = start_ns // h.NANOS, end_ns // h.NANOS
    # The oracle over one day's charges at a time (hourly charges never
    # cross midnight): the month to date is the days before plus the day so far.
    days = {}
    for charge in doc["charges"]:
        days.setdefault(charge["start_date"][:10], []).append(charge)
    lines, mtds, before = [], [], 0
    for t in range(start + 3600, end + 1, 3600):
        day_start = t - 3600 - (t - 3600 - start) % 86400
        day = finops_sim.format_ts(day_start * h.NANOS)
        charges = days.get(day[:10], [])
        today = finops_sim.expected_sums(dict(doc, charges=charges), org, day,
                                         finops_sim.format_ts(t * h.NANOS))
        mtd = before + today["currency_totals"].get("EUR", 0)
        if (t - start) % 86400 == 0:
            before = mtd
        mtds.append(mtd)
        lines.append("%s %d %d %d %d" % (MONTH, start, end, t, mtd))
    out = subprocess.run([replay_binary()], input="\n".join(lines) + "\n", text=True,
                         capture_output=True, check=True, timeout=60).stdout.split()
    final = mtds[-1]
    by_day = {}
    for i, forecast in enumerate(out):
        hour = i + 1
        if hour % 24 == 0:
            by_day[hour // 24] = 100.0 * (int(forecast) - final) / final
    return by_day, final / h.NANOS


def check(kind, rule):
    by_day, _ = errors(kind)
    bad = {d: round(e, 3) for d, e in by_day.items() if not rule(d, e)}
    assert not bad, "%s: forecast error (%% of the final total) out of bounds on days %s" % (
        kind, bad)
    return by_day


EXACT = 0.001  # percent: rounding of nano-units only


def test_flat_is_exact_from_the_first_day(work):
    check("flat", lambda d, e: abs(e) < EXACT)


def test_growing_underestimates_then_converges(work):
    # One more resource every 5 days until day 26: the 24-hour rate lags.
    by_day = check("growing", lambda d, e: e < EXACT and (d < 27 or abs(e) < EXACT))
    assert by_day[10] < -5, by_day[10]


def test_step_change_followed_within_a_day(work):
    by_day = check("step", lambda d, e: (e < EXACT if d < 16 else True)
                   and (d < 17 or abs(e) < EXACT))
    assert by_day[15] < -20, by_day[15]


def test_stopped_resources_followed_within_a_day(work):
    by_day = check("stopped", lambda d, e: (e > -EXACT if d < 10 else True)
                   and (d < 11 or abs(e) < EXACT))
    assert by_day[9] > 20, by_day[9]


def test_capped_hourly_billing_is_an_upper_bound(work):
    by_day = check("capped", lambda d, e: e > -EXACT)
    assert max(by_day.values()) > 20, by_day


def table():
    kinds = ["flat", "growing", "step", "stopped", "capped"]
    results = {k: errors(k)[0] for k in kinds}
    print("| day | " + " | ".join(kinds) + " |")
    print("|---:|" + "---:|" * len(kinds))
    for d in DAYS_SHOWN:
        print("| %d | " % d + " | ".join("%+.1f %%" % results[k][d] for k in kinds) + " |")


if __name__ == "__main__":
    if sys.argv[1:] == ["--table"]:
        table()
    else:
        h.run([test_flat_is_exact_from_the_first_day,
               test_growing_underestimates_then_converges,
               test_step_change_followed_within_a_day,
               test_stopped_resources_followed_within_a_day,
               test_capped_hourly_billing_is_an_upper_bound])
