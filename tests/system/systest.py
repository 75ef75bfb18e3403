# SPDX-License-Identifier: MIT
"""The scenario the Graphite, InfluxDB and Prometheus system tests share; each
test keeps only what is its backend's (the server, how it stores and reads
back the series, its dashboard's panels).

  simulator (two organizations, acme and beta as collectd Host scw.beta,
  each with Budgets) -> collectd (scw_finops + the backend's writer)

The dataset is the generator's previous month plus its current month (same
seed, so the same organizations and projects). The run holds at any instant:
it starts only where nothing the plugin publishes moves by itself for its
duration (periods.quiet_start).

Importing this module puts tests/integration (harness) and tests/sim
(finops_sim) on the path."""

import datetime as dt
import functools
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

TOP_SRCDIR = os.environ.get("SCW_TOP_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "integration"))
import harness as h  # noqa: E402
import finops_sim  # noqa: E402  (harness puts tests/sim on the path)

from periods import (REFRESH, budgets, complete_walks, expected_outlook,  # noqa: E402
                     expected_previous, expected_previous_final, iso, merged_dataset,
                     month_start, outlook_close, quiet_start, window_start, with_budgets)

ORGS = (("acme", h.ORG1), ("scw.beta", h.ORG2))  # collectd Host, organization
TOP = 10  # the dashboards' default top variable


# ---- the processes of one scenario ---------------------------------------------

class Scenario:
    """What the TAP points of one test share: its work dir, its processes
    (stopped in order by stop_all: collectd, the servers given, the
    simulator) and what they found. A failed point keeps the work dir."""

    work = sim = cd = None
    expected = prev_expected = {}
    failed = False

    def __init__(self, *servers):
        self.order = ("cd",) + servers + ("sim",)
        for name in servers:
            setattr(self, name, None)

    def stop_proc(self, name, proc):
        proc.stop()

    def stop_failed(self, name, proc):
        """Called after stop_proc raised (and the error was printed)."""

    def stop_all(self):
        for name in self.order:
            proc = getattr(self, name)
            if proc is not None:
                try:
                    self.stop_proc(name, proc)
                except Exception as e:  # noqa: BLE001 - keep stopping the others
                    print("# stopping %s: %s" % (name, e))
                    self.stop_failed(name, proc)
                setattr(self, name, None)
        if self.work is not None:
            if self.failed:
                print("# scenario dir kept: %s" % self.work.path)
            else:
                self.work.cleanup()
            self.work = None

    def need(self, *names):
        for name in names:
            if getattr(self, name) is None:
                self.failed = True
                raise AssertionError("%s is not running (an earlier step failed)" % name)

    def step(self, fn):
        """A TAP point whose failure (any exception) marks the scenario failed."""
        @functools.wraps(fn)
        def run(work):
            try:
                return fn(work)
            except BaseException:
                self.failed = True
                raise
        return run


class Server:
    """A server process of the scenario, its output in logfile: launch()
    starts it and waits until answering() (stopping it again if it never
    does), stop() stops it by its PID within stop_timeout."""

    name = "server"
    log_tail = 2000  # characters of its output a premature exit shows
    stop_timeout = 15

    def launch(self, argv, logfile, what, **popen):
        self.logfile = logfile
        self.out = open(logfile, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, **popen)
        try:
            h.wait_for(self._ready, 60, what)
        except BaseException:
            h.stop_pid(self.proc)  # do not leak the server when it never came up
            self.out.close()
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("%s exited with %s: %s" % (
                self.name, self.proc.returncode, self.log()[-self.log_tail:]))
        return self.answering()

    def answering(self):
        raise NotImplementedError

    def log(self):
        with open(self.logfile) as fh:
            return fh.read()

    def stop(self):
        took = h.stop_pid(self.proc, timeout=self.stop_timeout)
        self.out.close()
        return took


def http_status(url, status):
    """Whether url answers (within 2 s) with HTTP status."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == status
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def missing(packages, plugin, also=()):
    """The Debian packages missing: those of packages ((package, path)
    pairs) whose path does not exist, also's, and collectd-core when
    collectd or its plugin (a file name) is not there."""
    out = [p for p, path in packages if not os.path.exists(path)] + list(also)
    if not os.path.exists(h.COLLECTD) or not os.path.exists(
            os.path.join(h.STOCK_PLUGINS, plugin)):
        out.append("collectd-core")
    return out


def main(missing_packages, tests, scenario):
    """Skips (TAP 1..0) when a package is missing, else runs the points and
    stops whatever is left of the scenario."""
    missing = missing_packages()
    if missing:
        print("1..0 # SKIP not installed: %s (sh scripts/deps.sh installs them)" %
              ", ".join(missing))
        sys.exit(0)
    try:
        h.run(tests)
    finally:
        scenario.stop_all()


def start_simulator(S):
    """In S.work: a quiet start (S.started), the merged dataset (S.dataset)
    and the simulator serving it (S.sim)."""
    S.started = quiet_start()
    S.dataset = merged_dataset(S.work.file("dataset.json"))
    S.sim = h.Simulator(S.work, S.work.file("dataset.json"))


def configure_collectd(S, **options):
    """S.t0, S.ds (the dataset), S.budgets (periods.budgets at t0) and S.cd:
    collectd, not started, with both organizations (GroupBy sku, no startup
    spread, RefreshInterval REFRESH, their Budgets) and h.Collectd's options
    (the backend's writer)."""
    S.t0 = int(time.time())
    S.ds = finops_sim.Dataset(S.dataset)
    S.budgets = budgets(S.ds, S.t0)
    S.cd = h.Collectd(S.work, [
        with_budgets(h.org_block("acme", h.ORG1, S.sim.url, GroupBy="sku",
                                 StartupSpread=0, RefreshInterval=REFRESH),
                     S.budgets[h.ORG1]),
        with_budgets(h.org_block("beta", h.ORG2, S.sim.url, secret="sim-key-org2",
                                 GroupBy="sku", Host="scw.beta", StartupSpread=0,
                                 RefreshInterval=REFRESH), S.budgets[h.ORG2])],
        csv=False, **options)
    return S.cd


def wait_walks(sim, period_start, what):
    """{org: complete walks} once both organizations walked the month
    starting at period_start completely."""
    def walked():
        done = complete_walks(sim, period_start)
        return done if all(done.values()) else None
    return h.wait_for(walked, 30, what)


def current_month(S):
    """Waits for both organizations' complete walks of the current month (the
    previous one is walked too); S.expected: {host: {(plugin_instance,
    type_instance): nanos}} of their first. Returns those walks by org."""
    by_org = wait_walks(S.sim, month_start(S.t0), "complete walks of both organizations")
    S.expected = {host: h.expected_series(S.dataset, org, by_org[org][0], "sku")
                  for host, org in ORGS}
    return by_org


def set_outlook(S, by_org, refresh_of):
    """S.outlook: {host: {(plugin_instance, type, type_instance): value}} of
    the forecasts and budget use that walk published; the walk's time is
    its window end plus its refresh duration (whole seconds),
    refresh_of(host) as the backend stored it."""
    S.outlook = {host: expected_outlook(S.ds, org, by_org[org][0], S.budgets[org],
                                        refresh_of(host)) for host, org in ORGS}


def previous_month(S):
    """Waits for both organizations' complete walks of the previous month,
    each over its full window; S.prev_expected ({host: {(plugin_instance,
    type_instance): nanos}}) and S.prev_final (gauge previous_final).
    Returns (this month's start, the previous month's start)."""
    m = month_start(S.t0)
    prev = month_start(m - 1)
    by_org = wait_walks(S.sim, prev, "complete walks of the previous month")
    for org, walks in by_org.items():
        start, end = h.window_of(walks[0])
        assert window_start(walks[0]) == prev and \
            finops_sim.parse_ts(end) // finops_sim.NS == m, \
            "%s: previous month walked over [%s, %s), want [%s, %s)" % (
                org, start, end, iso(prev), iso(m))
    S.prev_expected = {host: expected_previous(S.ds, org, S.t0) for host, org in ORGS}
    S.prev_final = expected_previous_final(S.started)
    return m, prev


def stop_collectd(S):
    """Stops collectd, alive until then, within 10 s."""
    assert S.cd.alive(), "collectd died: %s" % S.cd.log()[-2000:]
    took = S.cd.stop()
    S.cd = None
    assert took < 10, "collectd took %.1fs to stop" % took


# ---- what the summary lines say ------------------------------------------------

def totals_note(expected):
    return "totals %.2f and %.2f EUR" % tuple(
        expected[host][("", "total")] / h.NANOS for host, _ in ORGS)


def outlook_note(S, n):
    return "%d of forecasts and budget use (acme forecast %.2f EUR, budget used %.1f %%)" % (
        n, S.outlook["acme"][("", "currency_forecast", "total")],
        S.outlook["acme"][("", "budget_percent", "used")])


def previous_note(S, m, prev):
    return "%s (%s), %s (fresh start %.1f days after its end)" % (
        iso(prev)[:7], totals_note(S.prev_expected), ("provisional", "final")[S.prev_final],
        (S.started - m) / 86400)


# ---- what a dashboard's panels must show ------------------------------------------

def top(values, n):
    return dict(sorted(values.items(), key=lambda kv: kv[1], reverse=True)[:n])


def top_per_host(values, n, host_of):
    """The n largest values of each organization (host_of(key): its host)."""
    out = {}
    for host, _ in ORGS:
        out.update(top({k: v for k, v in values.items() if host_of(k) == host}, n))
    return out


def projects(expected, name):
    """{name(host, project): EUR} of the project series of expected."""
    out = {}
    for host, series in expected.items():
        for (pinst, _), nanos in series.items():
            if pinst:
                key = name(host, pinst)
                out[key] = out.get(key, 0) + nanos
    return {k: v / h.NANOS for k, v in out.items()}


def skus(expected):
    """{SKU: EUR} over both organizations' project series."""
    out = {}
    for series in expected.values():
        for (pinst, tinst), nanos in series.items():
            if pinst:
                out[tinst] = out.get(tinst, 0) + nanos
    return {k: v / h.NANOS for k, v in out.items()}


def outlook_of(outlook, kind, projects):
    """{(host, project or "", type_instance): value} of the expected
    forecasts (kind currency_forecast) or budget use (budget_percent), of
    the projects or of the organizations."""
    return {(host, k[0], k[2]): v for host, _ in ORGS for k, v in outlook[host].items()
            if k[1] == kind and bool(k[0]) == projects}


def same_outlook(title, got, want, exact, forecast=False):
    """got and want: {key: value} with the same keys; forecasts within
    FORECAST_RTOL, budget use within exact (a key naming "forecast" last,
    its last item or the end of its name, is a forecast too)."""
    assert set(got) == set(want), "%s: %s, want %s" % (title, sorted(got), sorted(want))
    for k, v in want.items():
        last = k[-1] == "forecast" if isinstance(k, tuple) else k.endswith("forecast")
        kind = "forecast" if forecast or last else "used"
        assert outlook_close(("", "", kind), got[k], v, exact), \
            "%s %s: %r, want %r" % (title, k, got[k], v)


def dashboard(path, datasource, min_targets, variables):
    """(targets, {name: variable}, the top variable's choices, {title:
    panel}) of a dashboard with at least min_targets targets and the
    variables named, every panel on the ${datasource} of its type."""
    dash, targets = h.dashboard_targets(path)
    assert len(targets) >= min_targets, "only %d targets" % len(targets)
    found = {v["name"]: v for v in dash["templating"]["list"]}
    assert set(variables) <= set(found), sorted(found)
    top_choices = [int(o["value"]) for o in found["top"]["options"]]
    panels = {}
    for panel in dash["panels"]:
        panels[panel["title"]] = panel
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": datasource, "uid": "${datasource}"}, \
                panel["title"]
    return targets, found, top_choices, panels


def eventually(check, timeout, what):
    """Re-runs check() until it stops raising AssertionError (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError as e:
            if time.monotonic() > deadline:
                raise AssertionError("%s: %s (still failing after %ss)" % (what, e, timeout))
        time.sleep(0.3)


# ---- daily spend across a month boundary -----------------------------------------

def day(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).date()


def refreshed_firsts(days, history):
    """The days that are a 1st with a refresh in history (not today's 1st
    before its first one, at 00:30); there must be one."""
    refreshed = {ts - ts % 86400 for ts, v in history if v > 0}
    firsts = [d for d in days if day(d).day == 1 and d in refreshed]
    assert firsts, "the history must contain a first of the month"
    return firsts


def daily_note(want, firsts):
    return "# daily spend exact for %d days, including %s" % (
        len(want), ", ".join(str(day(d)) for d in firsts))
