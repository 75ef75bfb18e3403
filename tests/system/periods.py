# SPDX-License-Identifier: MIT
"""Billing-period helpers shared by the Graphite, InfluxDB and Prometheus
system tests (systest.py builds their common scenario on them):
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


# ---- forecast and budgets ------------------------------------------------------
# README "Forecast and budgets". A fresh start has no 24-hour-old sample: the
# forecast of a walk at t is the run rate since the 1st, mtd * (month end -
# month start) / (t - month start), or the month to date itself when that is
# not positive (a negative rate counts as 0). t is the walk's completion time
# in whole seconds: its window end plus its refresh duration, rounded down
# (duration-refresh says how long the walk took).

FORECAST_RTOL = 1e-4  # the walk's second and the plugin's integer nanos
# The budgets of the system tests, as shares of the month to date at the
# start: acme's own (its month to date about 60 % of it) and that of its
# largest project with a name of its own, by name (about 120 %, over budget); beta has no
# organization budget and its largest project's budget is given by id (about
# 90 %). The expected percentages come from the walk the plugin made.
BUDGET_SHARES = {h.ORG1: (0.6, 1.2, "name"), h.ORG2: (None, 0.9, "id")}


def project_totals(dataset, org, window):
    """{project id: [plugin instance, EUR nanos, name]} of the month to date
    over window (start, end), under GroupBy "sku" naming."""
    exp = finops_sim.expected_sums(dataset, org, window[0], window[1], "sku")
    groups = [g for g in exp["groups"] if g["currency"] == "EUR"]
    out = {}
    for g, (pinst, _) in zip(groups, h.expected_names(groups, "sku")):
        entry = out.setdefault(g["project_id"], [pinst, 0, g.get("project_name")])
        entry[1] += g["nanos"]
    return out


def budgets(dataset, t):
    """{org: (organization budget or None, (project key, budget), project id)}:
    amounts as written in the configuration, from the oracle at t."""
    m = month_start(t)
    window = (iso(m), iso(int(t)))
    out = {}
    for org, (org_share, project_share, by) in BUDGET_SHARES.items():
        exp = finops_sim.expected_sums(dataset, org, window[0], window[1], "sku")
        total = exp["currency_totals"].get("EUR", 0) / h.NANOS
        projects = project_totals(dataset, org, window)
        names = [p[2] for p in projects.values()]
        # By name: the largest project with a name of its own.
        candidates = [p for p in sorted(projects) if by == "id" or (
            projects[p][2] and names.count(projects[p][2]) == 1)] or sorted(projects)
        pid = max(candidates, key=lambda p: projects[p][1])
        name = projects[pid][2]
        key = name if by == "name" and name and names.count(name) == 1 else pid
        amount = "%.6f" % max(projects[pid][1] / h.NANOS / project_share, 0.01)
        org_amount = "%.6f" % max(total / org_share, 0.01) if org_share else None
        out[org] = (org_amount, (key, amount), pid)
    return out


def with_budgets(block, budget):
    """An org_block() with the Budget lines of budget (an entry of budgets())."""
    org_amount, (key, amount), _ = budget
    lines = (["    Budget %s" % org_amount] if org_amount else []) + [
        '    <Project "%s">' % key, "      Budget %s" % amount, "    </Project>"]
    return block.replace("  </Organization>", "\n".join(lines + ["  </Organization>"]))


def nanos_of(amount):
    """A configured amount in nanos, as the plugin parses it."""
    return int(float(amount) * 1e9 + 0.5)


def forecast(nanos, period_start, t):
    """The end-of-month forecast (currency units) of nanos at t, first walk."""
    end = month_start(period_start + 32 * 86400)
    if nanos <= 0 or t <= period_start or t >= end:
        return nanos / h.NANOS
    return nanos / h.NANOS * (end - period_start) / (t - period_start)


def expected_outlook(dataset, org, request, budget, duration):
    """{(plugin_instance, type, type_instance): value} of what a fresh
    start's walk `request` (the month to date) publishes besides the costs:
    currency_forecast of the organization and of each project with cost,
    budget_percent used/forecast of the organization's budget and of the
    budgeted project (when it has cost)."""
    start, end = h.window_of(request)
    period = finops_sim.parse_ts(start) // finops_sim.NS
    t = finops_sim.parse_ts(end) // finops_sim.NS + int(duration)
    exp = finops_sim.expected_sums(dataset, org, start, end, "sku")
    total = exp["currency_totals"].get("EUR", 0)
    projects = project_totals(dataset, org, (start, end))
    out = {("", "currency_forecast", "total"): forecast(total, period, t)}
    for pinst, nanos, _ in projects.values():
        out[(pinst, "currency_forecast", "")] = forecast(nanos, period, t)
    org_amount, (_, amount), pid = budget
    if org_amount:
        whole = nanos_of(org_amount) / h.NANOS
        out[("", "budget_percent", "used")] = 100 * total / h.NANOS / whole
        out[("", "budget_percent", "forecast")] = 100 * forecast(total, period, t) / whole
    if pid in projects:
        pinst, nanos, _ = projects[pid]
        whole = nanos_of(amount) / h.NANOS
        out[(pinst, "budget_percent", "used")] = 100 * nanos / h.NANOS / whole
        out[(pinst, "budget_percent", "forecast")] = 100 * forecast(nanos, period, t) / whole
    return out


def outlook_close(key, got, want, exact):
    """A forecast (or a percentage of one) within FORECAST_RTOL, a
    percentage of the month to date within exact."""
    if got is None:
        return False
    forecast_like = key[1] == "currency_forecast" or key[2] == "forecast"
    tol = max(exact, FORECAST_RTOL * abs(want)) if forecast_like else exact
    return abs(got - want) <= tol
