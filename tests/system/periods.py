# SPDX-License-Identifier: MIT
"""Billing-period helpers shared by the Graphite and InfluxDB system tests:
a dataset with the previous month, the oracle for currency_previous, the
expected previous_final, and a start time at which nothing the plugin
publishes changes by itself during a run."""

import datetime as dt
import json
import time

import harness as h
from harness import finops_sim


REFRESH = 120  # RefreshInterval of the test's blocks: one walk of each month per run
RUN_BUDGET = 100  # s from quiet_start to the last check of a published value
# README "Billing periods": a new month's first walk comes 5 s after midnight; the
# closing month settles 3 days after month end and is final at the latest 2 days
# later; a start after that walks it once: final.
NEW_MONTH_DELAY, SETTLE, GRACE = 5, 3 * 86400, 2 * 86400


def month_start(t):
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return int(dt.datetime(d.year, d.month, 1, tzinfo=dt.timezone.utc).timestamp())


def iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def unquiet_until(t):
    """End of the window around t in which what a fresh plugin publishes would
    change during a run of RUN_BUDGET s, or None. A run must not see: midnight
    of the 1st (a new month, published as 0 until its first walk, which comes
    min(RefreshInterval, 5 s) after midnight); the walk at settle end (a
    provisional month turns final); the final deadline (likewise)."""
    m = month_start(t)
    n = month_start(m + 32 * 86400)
    windows = [(n - RUN_BUDGET, n), (m, m + min(REFRESH, NEW_MONTH_DELAY) + 2),
               (m + SETTLE - RUN_BUDGET, m + SETTLE + 2),
               (m + SETTLE + GRACE - RUN_BUDGET, m + SETTLE + GRACE + 2)]
    ends = [end for start, end in windows if start <= t < end]
    return max(ends) if ends else None


def quiet_start():
    """Sleeps past an unquiet window (a few minutes at most, a few times a
    month; each sleep is bounded by the window). Returns the start time."""
    for _ in range(4):
        t = time.time()
        until = unquiet_until(t)
        if until is None:
            return t
        print("# %s is near a billing-period edge: starting at %s" % (iso(t), iso(until)),
              flush=True)
        time.sleep(until - t)
    raise AssertionError("no quiet start found")


def expected_previous_final(t):
    """gauge-previous_final of a fresh start at t (no state file), for a whole
    run begun by quiet_start: final once the deadline has passed (its single
    walk is final), otherwise provisional (a walk after settle end is final
    only when it equals the one before, which comes hours later)."""
    return 1 if t >= month_start(t) + SETTLE + GRACE else 0


def merged_dataset(path):
    """The generator's previous month and current month (same seed: the same
    organizations, projects and keys), their charges merged, written to path."""
    cur = h.generate_dataset(path + ".current")
    year, month = (int(x) for x in cur["month"].split("-"))
    prev_month = "%04d-%02d" % ((year, month - 1) if month > 1 else (year - 1, 12))
    prev = h.generate_dataset(path + ".previous", month=prev_month, now=cur["now"])
    assert prev["keys"] == cur["keys"] and prev["organizations"] == cur["organizations"]
    doc = dict(cur, charges=prev["charges"] + cur["charges"])
    with open(path, "w") as fh:
        json.dump(doc, fh)
    return doc


def window_start(request):
    return finops_sim.parse_ts(h.window_of(request)[0]) // finops_sim.NS


def complete_walks(sim, period_start):
    """{org: [last page request of each complete walk of the month starting at
    period_start]} for both organizations."""
    out = {h.ORG1: [], h.ORG2: []}
    for r in sim.charge_requests():
        org = r["query"]["organization_id"][0]
        if org in out and r["token_out"] is None and window_start(r) == period_start:
            out[org].append(r)
    return out


def expected_previous(dataset, org, t):
    """{(plugin_instance, type_instance): nanos} of currency_previous: the
    oracle over the previous month's full window [its 1st, this 1st)."""
    m = month_start(t)
    window = {"query": {"start_date_after": [iso(month_start(m - 1))],
                        "end_date_before": [iso(m)]}}
    return h.expected_series(dataset, org, window, "sku")
