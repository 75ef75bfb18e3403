#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The plugin's cost series through Debian's Graphite: carbon-cache 1.1 stores
them, whisper-fetch and graphite-web 1.1 read them back.

One scenario, several TAP points. Everything runs on 127.0.0.1 with free
ports and a private directory; every process is started here and stopped by
its PID:

  simulator (two organizations) -> collectd (scw_finops + write_graphite)
    -> carbon-cache (whisper files) -> graphite-web (django runserver)

1. every whisper file (organization total, every project/SKU series of both
   organizations) holds the simulator's exact month-to-date sum, and those of
   the forecasts (organization, every project) and budget use (acme's
   Budget, a project Budget in each organization) the README's values;
2. the previous month's whisper files (currency_previous, every project/SKU
   series and the total) hold the simulator's exact sums over its full
   window, and gauge-previous_final what the plugin must say on this date;
3. graphite-web's render API (format=json) returns the same total, at the
   10 s archive and through the 1 h rollup;
4. a PNG of the totals and the top projects renders (kept as an artifact:
   in the work dir, and in $SCW_KEEP_ARTIFACTS when set);
5. every query of conf/dashboards/scw_finops-graphite.json runs against
   graphite-web and returns the expected series and values (the previous
   month's panels included; no month-to-date query matches a previous-month
   series; the forecast and budget panels return the plugin's forecasts,
   exact by the README's method, and budget use of the configured budgets,
   and not a project's series that stopped);
6. the dashboard's daily-spend query is exact across a month boundary
   (synthetic month-to-date history written to carbon);
7. everything stops cleanly.

The dataset and the quiet start are systest's. Month-to-date history for the
two organizations (every 3 h since the first of the month, computed by the
simulator as the plugin would have reported it) is written to carbon before
the render checks, so the graphs have a shape."""

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import systest as st  # first: it puts harness and finops_sim on the path
from periods import RUN_BUDGET, outlook_close
from systest import ORGS, TOP, TOP_SRCDIR, h

SYS_PYTHON = "/usr/bin/python3"  # graphite-web and carbon are Debian's python3 modules
CARBON = shutil.which("carbon-cache") or "/usr/bin/carbon-cache"
WHISPER_FETCH = shutil.which("whisper-fetch") or "/usr/bin/whisper-fetch"
DASHBOARD = os.path.join(TOP_SRCDIR, "conf", "dashboards", "scw_finops-graphite.json")
EXACT = 1e-6  # whisper-fetch prints 6 decimals; far below a cent
HOSTS = {"acme": "acme", "scw.beta": "scw_beta"}  # collectd Host -> Graphite node
HIST = "hist"  # synthetic host for the month-boundary check
STALE_PATH = "collectd.acme.scw_finops-stale_project.currency_previous-stale_sku"
STALE_VALUE = 999999.0
# A project's forecast and budget use that stopped 2 h ago (last month's, or
# a project without cost yet this month): the panels must not show them.
STALE_OUTLOOK = ("collectd.acme.scw_finops-stale_project.currency_forecast",
                 "collectd.acme.scw_finops-stale_project.budget_percent-used")
OUTLOOK_TYPES = ("currency_forecast", "budget_percent")


def missing_packages():
    probe = subprocess.run([SYS_PYTHON, "-c", "import django, cairocffi, graphite.render"],
                           capture_output=True) if os.path.exists(SYS_PYTHON) else None
    return st.missing((("graphite-carbon", CARBON), ("python3-whisper", WHISPER_FETCH)),
                      "write_graphite.so",
                      also=["graphite-web"] if probe is None or probe.returncode != 0 else [])


def faketime_site(work):
    """PYTHONPATH entries for Debian's Python servers (carbon, graphite-web).
    Under the harness's libfaketime (SCW_FAKETIME), time.sleep fails with
    EINVAL as it does in the test itself, where harness.py swaps in
    finops_sim.pause; carbon's writer thread would die on its first sleep.
    A sitecustomize makes the same swap there."""
    if not h.UNDER_FAKETIME:
        return []
    site = work.file("faketime-site")
    os.makedirs(site, exist_ok=True)
    with open(os.path.join(site, "sitecustomize.py"), "w") as fh:
        fh.write("import threading, time\n"
                 "time.sleep = lambda seconds: threading.Event().wait(seconds)\n")
    return [site]


# ---- carbon-cache -----------------------------------------------------------

class Carbon(st.Server):
    name = "carbon-cache"

    def __init__(self, work):
        self.dir = work.file("carbon")
        self.whisper = os.path.join(self.dir, "storage", "whisper")
        for sub in ("conf", "storage/whisper", "log", "run"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.line_port, self.pickle_port, self.query_port = (
            h.free_port(), h.free_port(), h.free_port())
        conf = os.path.join(self.dir, "conf")
        with open(os.path.join(conf, "carbon.conf"), "w") as fh:
            fh.write("\n".join([
                "[cache]",
                "STORAGE_DIR = %s/storage/" % self.dir,
                "LOCAL_DATA_DIR = %s/" % self.whisper,
                "CONF_DIR = %s/" % conf,
                "LOG_DIR = %s/log/" % self.dir,
                "PID_DIR = %s/run/" % self.dir,
                "DATABASE = whisper",
                "USER =",
                "MAX_CREATES_PER_MINUTE = inf",
                "MAX_UPDATES_PER_SECOND = inf",
                "LINE_RECEIVER_INTERFACE = 127.0.0.1",
                "LINE_RECEIVER_PORT = %d" % self.line_port,
                "PICKLE_RECEIVER_INTERFACE = 127.0.0.1",
                "PICKLE_RECEIVER_PORT = %d" % self.pickle_port,
                "CACHE_QUERY_INTERFACE = 127.0.0.1",
                "CACHE_QUERY_PORT = %d" % self.query_port,
                "ENABLE_UDP_LISTENER = False",
                "LOG_CREATES = True",
                "WHISPER_AUTOFLUSH = True", ""]))
        # 10 s points for 6 hours, then hourly for 60 days; the month-to-date
        # value of an hour is its last point (a sum or an average would be wrong).
        with open(os.path.join(conf, "storage-schemas.conf"), "w") as fh:
            fh.write("[collectd]\npattern = ^collectd\\.\nretentions = 10s:6h,1h:60d\n\n"
                     "[default]\npattern = .*\nretentions = 60s:1d\n")
        with open(os.path.join(conf, "storage-aggregation.conf"), "w") as fh:
            fh.write("[collectd]\npattern = ^collectd\\.\nxFilesFactor = 0\n"
                     "aggregationMethod = last\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update({"PYTHONPATH": p for p in faketime_site(work)})
        self.launch([CARBON, "--config=%s" % os.path.join(conf, "carbon.conf"), "--debug",
                     "start"], os.path.join(self.dir, "carbon.out"), "carbon-cache listening",
                    env=env)

    def answering(self):
        return h.port_open(self.line_port) and h.port_open(self.query_port)

    def send(self, lines):
        with socket.create_connection(("127.0.0.1", self.line_port), timeout=10) as s:
            s.sendall(("\n".join(lines) + "\n").encode())

    def wsp(self, node, pinst, tinst, type_="currency"):
        return os.path.join(self.whisper, "collectd", node,
                            "scw_finops" + ("-" + pinst if pinst else ""),
                            type_ + ("-" + tinst if tinst else "") + ".wsp")


def whisper_latest(path, since):
    """(ts, value) of the latest non-None point since `since`, by whisper-fetch."""
    res = subprocess.run([WHISPER_FETCH, "--from=%d" % since, path], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, "whisper-fetch %s: %s" % (path, res.stderr)
    latest = None
    for line in res.stdout.splitlines():
        ts, value = line.split("\t")
        if value != "None":
            latest = (int(ts), float(value))
    return latest


WHISPER_LATEST_MANY = """
import json, sys, time, whisper
since, paths = int(sys.argv[1]), sys.argv[2:]
out = {}
for path in paths:
    try:
        (start, _, step), values = whisper.fetch(path, since, int(time.time()))
    except (IOError, OSError, whisper.WhisperException):
        out[path] = None
        continue
    points = [(start + i * step, v) for i, v in enumerate(values) if v is not None]
    out[path] = points[-1] if points else None
print(json.dumps(out))
"""


def whisper_latest_many(paths, since):
    """{path: (ts, value) of its latest non-None point since `since`, or None},
    read by whisper.fetch (what whisper-fetch runs) in one process."""
    res = subprocess.run([SYS_PYTHON, "-c", WHISPER_LATEST_MANY, str(since)] + list(paths),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, "whisper.fetch: %s" % res.stderr[-2000:]
    return {p: tuple(v) if v else None for p, v in json.loads(res.stdout).items()}


# ---- graphite-web -----------------------------------------------------------

class GraphiteWeb(st.Server):
    """graphite-web's Django app under `django-admin runserver` (no Apache):
    settings from a private module named by GRAPHITE_SETTINGS_MODULE, with an
    sqlite database and the carbon storage of this test."""

    name = "graphite-web"
    log_tail = 3000

    def __init__(self, work, carbon):
        self.dir = work.file("graphite-web")
        os.makedirs(os.path.join(self.dir, "log"), exist_ok=True)
        with open(os.path.join(self.dir, "scw_test_graphite_settings.py"), "w") as fh:
            fh.write("\n".join([
                "SECRET_KEY = 'scw-finops-system-test'",
                "ALLOWED_HOSTS = ['127.0.0.1']",
                "TIME_ZONE = 'UTC'",
                "STORAGE_DIR = %r" % os.path.join(carbon.dir, "storage") + " + '/'",
                "WHISPER_DIR = %r" % (carbon.whisper + "/"),
                "INDEX_FILE = %r" % os.path.join(self.dir, "index"),
                "LOG_DIR = %r" % (os.path.join(self.dir, "log") + "/"),
                "CARBONLINK_HOSTS = ['127.0.0.1:%d']" % carbon.query_port,
                "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', "
                "'NAME': %r}}" % os.path.join(self.dir, "graphite.db"),
                "DEFAULT_XFILES_FACTOR = 0", ""]))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        self.env.update(PYTHONPATH=":".join([self.dir] + faketime_site(work)),
                        DJANGO_SETTINGS_MODULE="graphite.settings",
                        GRAPHITE_SETTINGS_MODULE="scw_test_graphite_settings")
        res = subprocess.run([SYS_PYTHON, "-m", "django", "migrate", "--run-syncdb",
                              "--noinput"], env=self.env, capture_output=True, text=True,
                             timeout=180)
        assert res.returncode == 0, "graphite-web migrate failed: %s" % res.stderr[-3000:]
        self.port = h.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.launch([SYS_PYTHON, "-m", "django", "runserver", "--noreload",
                     "127.0.0.1:%d" % self.port], os.path.join(self.dir, "runserver.out"),
                    "graphite-web answering", env=self.env)

    def answering(self):
        try:
            return self.get("/metrics/find", query="*")[0] == 200
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            return False

    def get(self, path, **params):
        url = self.url + path + "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    def render(self, targets, frm, until="now", **params):
        """{series name: [(ts, value)]} from /render?format=json."""
        status, ctype, body = self.get("/render", target=targets, format="json",
                                       **{"from": frm, "until": until}, **params)
        assert status == 200 and "json" in ctype, "render %s: HTTP %s %s" % (
            targets, status, body[-1500:].decode(errors="replace"))
        return {s["target"]: [(ts, v) for v, ts in s["datapoints"]] for s in json.loads(body)}


def last_value(points):
    values = [v for _, v in points if v is not None]
    return values[-1] if values else None


# ---- the shared scenario ----------------------------------------------------

S = st.Scenario("web", "carbon")


def graphite_path(node, key):
    pinst, tinst = key
    return "collectd.%s.scw_finops%s.currency%s" % (
        node, "-" + pinst if pinst else "", "-" + tinst if tinst else "")


def expected_projects(expected=None):
    """{'node.project': EUR} over both organizations (month to date, or the
    series given)."""
    return st.projects(S.expected if expected is None else expected,
                       lambda host, pinst: "%s.%s" % (HOSTS[host], pinst))


def outlook_path(node, key):
    pinst, type_, tinst = key
    return "collectd.%s.scw_finops%s.%s%s" % (
        node, "-" + pinst if pinst else "", type_, "-" + tinst if tinst else "")


def whisper_files(node, match):
    """The paths of the whisper files of node whose file names match."""
    found = set()
    for root, _, files in os.walk(os.path.join(S.carbon.whisper, "collectd", node)):
        found |= {os.path.join(root, f) for f in files if match(f)}
    return found


def latest_points(want):
    """{path: (ts, value)}: the latest point since t0 - 20 of each whisper
    file of want (more than 100), once every one exists and has one. Every
    file in one process (a whisper-fetch per file costs seconds)."""
    assert len(want) > 100, "expected a realistic number of series, got %d" % len(want)
    h.wait_for(lambda: all(os.path.exists(p) for p in want), 60,
               "%d whisper files" % len(want))
    return h.wait_for(lambda: (lambda r: r if all(r.values()) else None)(
        whisper_latest_many(sorted(want), S.t0 - 20)), 30,
        "a point in each of %d whisper files" % len(want), interval=0.5)


def check_outlook(host):
    """Forecasts and budget use of host in whisper: exactly the expected
    series, with the README's values."""
    node = HOSTS[host]
    want = {S.carbon.wsp(node, k[0], k[2], k[1]): (k, v) for k, v in S.outlook[host].items()}
    found = whisper_files(node, lambda f: f.startswith(OUTLOOK_TYPES))
    assert found == set(want), "%s: outlook files %s, want %s" % (
        host, sorted(found - set(want))[:5], sorted(set(want) - found)[:5])
    results = whisper_latest_many(sorted(want), S.t0 - 20)
    bad = ["%s: %r, want %r" % (p, results[p], v) for p, (k, v) in want.items()
           if results[p] is None or not outlook_close(k, results[p][1], v, EXACT)]
    assert not bad, "%d of %d outlook values differ: %s" % (len(bad), len(want), bad[:5])
    return len(want)


# ---- 1. carbon + whisper ------------------------------------------------------

@S.step
def test_whisper_files_hold_exact_month_to_date(work):
    S.work = h.Workdir()
    st.start_simulator(S)
    S.carbon = Carbon(S.work)
    st.configure_collectd(S, graphite_port=S.carbon.line_port).start()
    by_org = st.current_month(S)
    S.request_end = {host: h.window_of(by_org[org][0])[1] for host, org in ORGS}
    want = {}
    for host, series in S.expected.items():
        for key, nanos in series.items():
            want[S.carbon.wsp(HOSTS[host], *key)] = nanos / h.NANOS
    results = latest_points(want)
    # whisper-fetch itself must read the same organization totals.
    for node in HOSTS.values():
        p = S.carbon.wsp(node, "", "total")
        cli = whisper_latest(p, S.t0 - 20)  # 6 decimals; a later point, same value
        assert abs(cli[1] - results[p][1]) <= EXACT, \
            "whisper-fetch %s: %r, whisper.fetch: %r" % (p, cli, results[p])
    bad = ["%s: %r, want %r" % (p, results[p][1], v) for p, v in want.items()
           if abs(results[p][1] - v) > EXACT]
    assert not bad, "%d of %d whisper values differ: %s" % (len(bad), len(want), bad[:5])
    for p, (ts, _) in results.items():
        assert ts >= S.t0 - 10, "%s: point at %d predates collectd" % (p, ts)
    # No cost series beyond the expected ones; self-metrics present.
    for host, node in HOSTS.items():
        found = whisper_files(node, lambda f: f == "currency.wsp" or f.startswith("currency-"))
        extra = found - set(want)
        assert not extra, "unexpected cost series: %s" % sorted(extra)[:5]
        for type_, tinst in (("duration", "snapshot_age"), ("duration", "refresh"),
                             ("errors", ""), ("http_requests", ""),
                             ("count", "charges"), ("count", "skipped_charges")):
            p = S.carbon.wsp(node, "", tinst, type_)
            h.wait_for(lambda: os.path.exists(p), 20, p)
    errors = whisper_latest(S.carbon.wsp("acme", "", "", "errors"), S.t0 - 20)
    assert errors is None or errors[1] == 0, "errors rate %r" % (errors,)
    st.set_outlook(S, by_org, lambda host: whisper_latest(
        S.carbon.wsp(HOSTS[host], "", "refresh", "duration"), S.t0 - 20)[1])
    n_outlook = 0
    for host in HOSTS:
        last = {}

        def outlook_ok():
            try:
                last["n"] = check_outlook(host)
                return True
            except AssertionError as e:
                last["e"] = e
                return False
        try:
            h.wait_for(outlook_ok, 20, "forecast and budget files of %s" % host,
                       interval=0.5)
        except AssertionError:
            raise AssertionError(str(last.get("e"))) from None
        n_outlook += last["n"]
    print("# %d whisper files exact (organization %s); %s" % (
        len(want), st.totals_note(S.expected), st.outlook_note(S, n_outlook)))


# ---- 2. the previous month in whisper ----------------------------------------

@S.step
def test_whisper_files_hold_exact_previous_month(work):
    S.need("carbon", "cd")
    m, prev = st.previous_month(S)
    want = {}
    for host, series in S.prev_expected.items():
        for key, nanos in series.items():
            want[S.carbon.wsp(HOSTS[host], *key, type_="currency_previous")] = \
                nanos / h.NANOS
        want[S.carbon.wsp(HOSTS[host], "", "previous_final", "gauge")] = S.prev_final
    results = latest_points(want)
    bad = ["%s: %r, want %r" % (p, results[p][1], v) for p, v in want.items()
           if abs(results[p][1] - v) > EXACT]
    for p, (ts, _) in results.items():
        assert ts >= S.t0 - 10, "%s: point at %d predates collectd" % (p, ts)
    assert not bad, "%d of %d whisper values differ: %s" % (len(bad), len(want), bad[:5])
    for node in HOSTS.values():
        found = whisper_files(node, lambda f: f.startswith(("currency_previous", "gauge")))
        extra = found - set(want)
        assert not extra, "unexpected previous-month series: %s" % sorted(extra)[:5]
    print("# %d whisper files exact: previous month %s" % (
        len(want), st.previous_note(S, m, prev)))


# ---- 3. graphite-web render API -------------------------------------------------

def backfill_lines():
    """Month-to-date history of both organizations every 3 h since the first of
    the month (what the plugin would have reported then), plus the synthetic
    month-boundary host."""
    import finops_sim
    ds = finops_sim.Dataset(S.dataset)
    now = S.t0
    month_start = dt.datetime.fromtimestamp(now, dt.timezone.utc).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    lines = []
    S.backfill = {}
    for host, org in ORGS:
        # Names as the plugin derives them now (same groups, same labels).
        end = S.request_end[host]
        exp_now = finops_sim.expected_sums(ds, org, month_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                           end, "sku")
        groups = [g for g in exp_now["groups"] if g["currency"] == "EUR"]
        names = {(g["project_id"], g["sku"]): n
                 for g, n in zip(groups, h.expected_names(groups, "sku"))}
        t = int(month_start.timestamp()) + 3 * 3600
        S.backfill[host] = []
        # Only before the hour collectd writes in: graphite-web lets a point still
        # in carbon's cache override the whole hourly slot it falls in.
        while t < now - now % 3600:
            iso = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            exp = finops_sim.expected_sums(ds, org, month_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                           iso, "sku")
            total = exp["currency_totals"].get("EUR", 0) / h.NANOS
            S.backfill[host].append((t, total))
            lines.append("%s %.9f %d" % (graphite_path(HOSTS[host], ("", "total")), total, t))
            for g in exp["groups"]:
                key = names.get((g["project_id"], g["sku"]))
                if g["currency"] == "EUR" and key:
                    lines.append("%s %.9f %d" % (graphite_path(HOSTS[host], key),
                                                 g["nanos"] / h.NANOS, t))
            t += 3 * 3600
    # whisper writes a batch's points older than the 10 s archive (6 h)
    # straight into the hourly one after propagating the newer ones, so an
    # hour that straddles that boundary keeps an older point as its "last":
    # leave that hour out (the expectation uses the same history).
    cutoff = now - 6 * 3600
    S.history = [(ts, v) for ts, v in h.month_boundary_history(now)
                 if not cutoff - cutoff % 3600 <= ts < cutoff - cutoff % 3600 + 3600]
    lines += ["%s %.9f %d" % (graphite_path(HIST, ("", "total")), v, ts)
              for ts, v in S.history]
    # A previous-month series that stopped 2 h ago, as one of a project billed
    # two months ago but not last month does at a month change: the
    # previous-month breakdown must not show it.
    lines.append("%s %.9f %d" % (STALE_PATH, STALE_VALUE, now - 7200))
    lines += ["%s %.9f %d" % (path, STALE_VALUE, now - 7200) for path in STALE_OUTLOOK]
    return lines


@S.step
def test_render_json_total(work):
    S.need("carbon", "cd")
    S.web = GraphiteWeb(S.work, S.carbon)
    lines = backfill_lines()
    S.carbon.send(lines)
    print("# wrote %d history points to carbon" % len(lines))
    for host, node in HOSTS.items():
        want = S.expected[host][("", "total")] / h.NANOS
        target = "collectd.%s.scw_finops.currency-total" % node
        for frm in ("-15min", "-40d"):  # 10 s archive, then the hourly rollup
            got = h.wait_for(lambda: last_value(
                S.web.render(target, frm).get(target, [])), 20, "%s from %s" % (target, frm))
            assert abs(got - want) <= EXACT, "%s from=%s: %r, want %r" % (
                target, frm, got, want)
    # The history is visible (first backfilled point of acme).
    if S.backfill["acme"]:
        ts0, v0 = S.backfill["acme"][0]
        target = "collectd.acme.scw_finops.currency-total"
        got = h.wait_for(lambda: dict(S.web.render(target, ts0 - 3600, ts0 + 3600)
                                      .get(target, [])).get(ts0), 30, "acme history")
        assert abs(got - v0) <= EXACT, "history point %r, want %r" % (got, v0)


# ---- 4. PNG ---------------------------------------------------------------------

PNG_TARGETS = [
    "aliasSub(aliasByNode(keepLastValue(collectd.{acme,scw_beta}.scw_finops.currency-total),"
    " 1), '$', ' (organization total)')",
    "highestCurrent(aliasSub(groupByNodes(keepLastValue(collectd.{acme,scw_beta}."
    "scw_finops-*.currency-*), 'sum', 1, 2), 'scw_finops-', ''), 5)",
]


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: %r" % data[:16]
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@S.step
def test_render_png_of_totals_and_top_projects(work):
    S.need("web")
    month_start = S.t0 - S.t0 % 86400 - (dt.datetime.fromtimestamp(
        S.t0, dt.timezone.utc).day - 1) * 86400
    frm = min(month_start, S.t0 - 6 * 3600)
    series = S.web.render(PNG_TARGETS, frm)
    assert len(series) == 2 + 5, "PNG would show %s" % sorted(series)
    status, ctype, body = S.web.get(
        "/render", target=PNG_TARGETS, format="png", width=1000, height=480,
        **{"from": frm, "until": "now"},
        title="Scaleway month-to-date cost: organization totals and top 5 projects",
        vtitle="EUR", yMin=0, lineWidth=2, bgcolor="white", fgcolor="black",
        majorGridLineColor="#c0c0c0", minorGridLineColor="#e8e8e8", fontSize=11,
        colorList="1f77b4,d62728,2ca02c,ff7f0e,9467bd,8c564b,e377c2,7f7f7f",
        tz="UTC")
    assert status == 200 and ctype == "image/png", "HTTP %s %s" % (status, ctype)
    assert png_size(body) == (1000, 480), png_size(body)
    assert 10000 < len(body) < 2000000, "PNG of %d bytes" % len(body)
    path = work.file("graphite-month-to-date.png")
    with open(path, "wb") as fh:
        fh.write(body)
    for copy in h.keep_artifact(path, S.work):
        print("# PNG (%d bytes) kept: %s" % (len(body), copy))


# ---- 5. the Grafana dashboard's queries ------------------------------------------

def check_dashboard_target(title, series, frm, ref="A", top_n=TOP):
    """Expected content of each panel (keyed by title, and refId)."""
    names = set(series)
    last = {k: last_value(v) for k, v in series.items()}
    totals = {HOSTS[hst]: S.expected[hst][("", "total")] / h.NANOS for hst in HOSTS}

    def close(got, want, what):
        assert got is not None and abs(got - want) <= EXACT * max(1, len(totals)), \
            "%s: %r, want %r" % (what, got, want)

    if title == "Previous month (provisional/final)" and ref == "A":
        want = {HOSTS[hst] + " total": S.prev_expected[hst][("", "total")] / h.NANOS
                for hst in HOSTS}
        assert names == set(want), "%s: %s, want %s" % (title, sorted(names), sorted(want))
        for k, v in want.items():
            close(last[k], v, "%s %s" % (title, k))
    elif title == "Previous month (provisional/final)" and ref == "B":
        want = {HOSTS[hst] + " status" for hst in HOSTS}
        assert names == want, "%s: %s, want %s" % (title, sorted(names), sorted(want))
        for k in want:
            # Every point of the run: the status did not move during it.
            points = {v for _, v in series[k] if v is not None}
            assert points == {S.prev_final}, "%s %s: %r, want %r (%s)" % (
                title, k, points, S.prev_final, ("provisional", "final")[S.prev_final])
    elif title.startswith("Previous month: cost by project"):
        want = st.top(expected_projects(S.prev_expected), top_n)
        assert names == set(want), "%s: %s, want %s" % (title, sorted(names), sorted(want))
        for k, v in want.items():
            close(last[k], v, "%s %s" % (title, k))
        assert list(series) == list(want), "not sorted by cost: %s" % list(series)
    elif title == "Month to date and end-of-month forecast":
        suffix, want = {"A": ("month to date", totals), "B": ("forecast", {
            HOSTS[hst]: S.outlook[hst][("", "currency_forecast", "total")]
            for hst in HOSTS})}[ref]
        want = {"%s %s" % (node, suffix): v for node, v in want.items()}
        check_outlook_series(title, series, want, ref == "B")
    elif title == "Organization budget: used and forecast":
        want = {"%s.%s" % (HOSTS[x], t): v for (x, _, t), v in
                st.outlook_of(S.outlook, "budget_percent", False).items()}
        check_outlook_series(title, series, want)
    elif title.startswith("Forecast by project"):
        want = st.top({"%s.%s" % (HOSTS[x], p): v for (x, p, _), v in
                       st.outlook_of(S.outlook, "currency_forecast", True).items()}, top_n)
        check_outlook_series(title, series, want, True)
        assert list(series) == list(want), "not sorted by forecast: %s" % list(series)
    elif title == "Project budgets: used and forecast":
        want = {"%s.%s %s" % (HOSTS[x], p, t): v for (x, p, t), v in
                st.outlook_of(S.outlook, "budget_percent", True).items()}
        check_outlook_series(title, series, want)
    elif title == "Month-to-date total":
        assert names == {"total"}, names
        close(last["total"], sum(totals.values()), title)
    elif title == "Month-to-date total per organization":
        assert names == set(totals), names
        for node, want in totals.items():
            close(last[node], want, "%s %s" % (title, node))
    elif title.startswith("Cost by project"):
        want = st.top(expected_projects(), TOP)
        assert names == set(want), "%s: %s, want %s" % (title, sorted(names), sorted(want))
        for k, v in want.items():
            close(last[k], v, "%s %s" % (title, k))
        assert list(series) == list(want), "not sorted by cost: %s" % list(series)
    elif title.startswith("Top") and "SKUs" in title:
        want = st.top(st.skus(S.expected), TOP)
        assert names == set(want), "%s: %s, want %s" % (title, sorted(names), sorted(want))
        for k, v in want.items():
            close(last[k], v, "%s %s" % (title, k))
    elif title == "Daily spend per organization":
        assert names == set(totals), names
        if frm == "-40d":
            check_daily_of_backfill(series)
    elif title == "Snapshot age and refresh duration":
        assert names == {"%s.duration-%s" % (n, t) for n in totals
                         for t in ("snapshot_age", "refresh")}, names
        for k, v in last.items():
            assert v is not None and 0 <= v < 600, "%s = %r" % (k, v)
    elif title == "API requests and failed refreshes per hour":
        assert names == {"%s.%s" % (n, t) for n in totals
                         for t in ("http_requests", "errors")}, names
        for k, v in series.items():
            assert any(x is not None for _, x in v), "%s: no points" % k
            if k.endswith(".errors"):
                assert all(x in (None, 0) for _, x in v), "%s: %s" % (k, v)
    elif title == "Charges in the snapshot":
        assert names == {"%s.count-%s" % (n, t) for n in totals
                         for t in ("charges", "skipped_charges")}, names
        for n in totals:
            assert last["%s.count-charges" % n] > 0
    else:
        raise AssertionError("panel %r has no expectation in this test" % title)


def check_outlook_series(title, series, want, forecast=False):
    """series (by name) are exactly want's, their last values the expected
    forecasts (FORECAST_RTOL) or budget use (names ending in "forecast" are
    forecasts too)."""
    st.same_outlook(title, {k: last_value(v) for k, v in series.items()}, want, EXACT,
                    forecast)


def daily_mismatches(got, history):
    """What differs between the daily bars graphite-web rendered ({day: EUR})
    and those of a month-to-date history ([(ts, EUR)]): every day of the
    history but its first (no day before it, no bar, even on the 1st) within
    EXACT; a day after the history's last one is 0, since keepLastValue
    carries the last value into it (collectd's points after a midnight the
    run passed; and in a day's last hour the hourly archive ends at the next
    midnight, so summarize has a bucket for tomorrow)."""
    want = h.daily_spend(history)
    want.pop(min(ts - ts % 86400 for ts, _ in history), None)
    last_day = max(ts - ts % 86400 for ts, _ in history)
    late = {d: v for d, v in got.items() if d > last_day}
    out = ["missing %s" % st.day(d) for d in sorted(set(want) - set(got))]
    out += ["unexpected %s" % st.day(d) for d in sorted(set(got) - set(want) - set(late))]
    out += ["%s: %r, want %r" % (st.day(d), got[d], v)
            for d, v in sorted(want.items()) if d in got and abs(got[d] - v) > EXACT * 10]
    out += ["%s (after the history): %r, want 0" % (st.day(d), v)
            for d, v in sorted(late.items()) if v != 0 or d > time.time() + 3600]
    return out


def check_daily_of_backfill(series):
    """Daily spend of acme from its history: each full day is the change of
    the last 3-hourly value, today the live value minus yesterday's last."""
    history = list(S.backfill["acme"]) + [(S.t0, S.expected["acme"][("", "total")] / h.NANOS)]
    got = {ts: v for ts, v in series["acme"] if v is not None}
    bad = daily_mismatches(got, history)
    assert not bad, "daily spend of acme: %s" % bad[:5]


def check_metric_patterns(targets, values):
    """Every metric pattern of the dashboard, expanded by graphite-web over the
    stored series: month-to-date and health panels never reach a
    previous-month series (currency-* must not match currency_previous-*),
    the previous-month panels reach only those."""
    previous = re.compile(r"\.(currency_previous|gauge-previous_final)(-|$)")
    reached = set()
    for title, target in targets:
        for pattern in re.findall(r"\$prefix\.(?:\{[^}]*\}|[^\s(),'{])+", target["target"]):
            query = h.grafana_substitute(pattern, values)
            status, _, body = S.web.get("/metrics/expand", query=query, leavesOnly=1)
            assert status == 200, "expand %s: HTTP %s" % (query, status)
            leaves = json.loads(body)["results"]
            assert leaves, "%s: %s matches nothing" % (title, query)
            wrong = [x for x in leaves if bool(previous.search(x)) !=
                     title.startswith("Previous month")]
            assert not wrong, "%s: %s matches %s" % (title, query, wrong[:5])
            reached |= set(leaves)
    stored = {x for x in json.loads(S.web.get(
        "/metrics/expand", query="collectd.{acme,scw_beta}.*.*", leavesOnly=1)[2])["results"]}
    assert {x for x in stored if previous.search(x)} <= reached | {STALE_PATH}, \
        "previous-month series no panel shows"


@S.step
def test_dashboard_queries(work):
    S.need("web")
    targets, variables, top_choices, panels = st.dashboard(
        DASHBOARD, "graphite", 8, ("datasource", "prefix", "host", "top"))
    # The host variable's query lists both organizations.
    query = h.grafana_substitute(variables["host"]["query"], {"prefix": "collectd"})
    status, _, body = S.web.get("/metrics/find", query=query)
    found = {n["text"] for n in json.loads(body)}
    assert set(HOSTS.values()) <= found, "host variable lists %s" % found
    values = {"prefix": "collectd", "host": "{%s}" % ",".join(sorted(HOSTS.values())),
              "top": TOP}
    check_metric_patterns(targets, values)
    for raw_title, target in targets:
        panel = panels[raw_title]
        # A panel time override (Grafana's "relative time") replaces the range.
        frms = ("-" + panel["timeFrom"],) if panel.get("timeFrom") else ("-15min", "-40d")
        # Every choice of the top variable: 20 is more than the projects.
        tops = top_choices if "$top" in target["target"] and \
            raw_title.startswith("Previous month") else (TOP,)
        for top_n in tops:
            query = h.grafana_substitute(target["target"], dict(values, top=top_n))
            title = h.grafana_substitute(raw_title, dict(values, top=top_n))
            for frm in frms:
                if title.startswith(("Snapshot", "API", "Charges")) and frm == "-40d":
                    continue  # health panels: recent data only
                series = h.wait_for(lambda: S.web.render(query, frm) or None, 20,
                                    "%s from %s" % (title, frm))
                check_dashboard_target(title, series, frm, target["refId"], top_n)
            if panel.get("timeFrom") and "scw_finops-*" in query:
                # Without its time override the stale series would show.
                older = S.web.render(query, "-40d")
                assert any(k.split(" ")[0] == "acme.stale_project" for k in older), \
                    "%s: %s" % (title, sorted(older))
    print("# %d dashboard queries checked against graphite-web, %.0f s after the "
          "start (quiet for %d s)" % (len(targets), time.time() - S.started, RUN_BUDGET))


# ---- 6. daily spend across a month boundary ------------------------------------

@S.step
def test_daily_spend_across_month_boundary(work):
    S.need("web")
    _, targets = h.dashboard_targets(DASHBOARD)
    target = next(t["target"] for title, t in targets if title.startswith("Daily spend"))
    query = h.grafana_substitute(target, {"prefix": "collectd", "host": HIST, "top": TOP})
    want = h.daily_spend(S.history)
    want.pop(min(ts - ts % 86400 for ts, _ in S.history), None)
    firsts = st.refreshed_firsts(want, S.history)
    last = {}

    def got():
        series = S.web.render(query, "-40d").get(HIST, [])
        values = {ts: v for ts, v in series if v is not None}
        last.update(bad=daily_mismatches(values, S.history))
        return values if not last["bad"] else None
    try:
        values = h.wait_for(got, 30, "daily spend of %d days" % len(want))
    except AssertionError as e:
        raise AssertionError("%s: %s" % (e, last.get("bad", [])[:5])) from None
    for d in firsts:
        assert values[d] > 0, "the 1st must show the new month's first day"
    print(st.daily_note(want, firsts))


# ---- 7. stop ---------------------------------------------------------------------

def test_everything_stops(work):
    S.need("cd", "carbon", "web")
    st.stop_collectd(S)
    for name in ("web", "carbon"):
        took = getattr(S, name).stop()
        setattr(S, name, None)
        assert took < 15, "%s took %.1fs to stop" % (name, took)


if __name__ == "__main__":
    st.main(missing_packages, [
        test_whisper_files_hold_exact_month_to_date,
        test_whisper_files_hold_exact_previous_month,
        test_render_json_total,
        test_render_png_of_totals_and_top_projects,
        test_dashboard_queries,
        test_daily_spend_across_month_boundary,
        test_everything_stops,
    ], S)
