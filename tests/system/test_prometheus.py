#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The plugin's series through collectd's write_prometheus into Debian's
Prometheus server, read back with PromQL over its HTTP API.

One scenario, several TAP points. Everything runs on 127.0.0.1 with free
ports and a private directory; every process is started here and stopped by
its PID:

  simulator (two organizations) -> collectd (scw_finops + write_prometheus)
    <- prometheus (scrapes every second; rules of conf/prometheus loaded)

1. promtool: conf/prometheus/scw_finops.rules.yml passes `check rules` and
   its unit tests (scw_finops.rules.test.yml) pass `test rules`;
2. the exposition names and labels are what README documents, every sample
   carries collectd's timestamp (Interval <= StalenessDelta), and PromQL
   returns every month-to-date series (organization totals, every
   project/SKU series of both organizations) with exactly its labels and the
   simulator's exact sum; the self-metrics are there too; so are the
   forecasts (collectd_scw_finops_currency_forecast of each organization and
   project, the README's values) and budget use
   (collectd_scw_finops_budget_percent of acme's Budget and of a project
   Budget in each organization, used and forecast);
3. the previous month likewise (collectd_scw_finops_currency_previous, the
   simulator's exact sums over its full window) and
   collectd_scw_finops_gauge{scw_finops="previous_final"} is what the plugin
   must say on this date;
4. the server loaded the rules, exactly the budget alerts the budgets
   warrant are firing (used) or pending (forecast, for 1h) and no other,
   their selectors reach both organizations and every budget series; a
   scrape job without honor_labels gets the organization in
   exported_instance (README's caveat);
5. every query of conf/dashboards/scw_finops-prometheus.json (Grafana's
   variables substituted), as an instant and as a range query, returns the
   expected series (by legend) and values;
6. everything stops cleanly.

The dataset and the quiet start are systest's."""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import systest as st  # first: it puts harness and finops_sim on the path
from periods import RUN_BUDGET, iso, outlook_close
from systest import TOP, TOP_SRCDIR, h

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
RULES_DIR = os.path.join(TOP_SRCDIR, "conf", "prometheus")
RULES = os.path.join(RULES_DIR, "scw_finops.rules.yml")
RULES_TEST = os.path.join(RULES_DIR, "scw_finops.rules.test.yml")
DASHBOARD = os.path.join(TOP_SRCDIR, "conf", "dashboards", "scw_finops-prometheus.json")
EXACT = 1e-6  # write_prometheus prints 15 significant digits; far below a cent
HOSTS = ("acme", "scw.beta")
JOB = "scw_finops"  # honor_labels: true, as README says
RAW_JOB = "scw_finops_default_labels"  # honor_labels: false (the default)
STALENESS_DELTA = 300  # write_prometheus's default, spelled out as README does
# Every metric family the plugin's series become (README's table).
FAMILIES = {
    "collectd_scw_finops_currency": "gauge",
    "collectd_scw_finops_currency_previous": "gauge",
    "collectd_scw_finops_currency_forecast": "gauge",
    "collectd_scw_finops_budget_percent": "gauge",
    "collectd_scw_finops_gauge": "gauge",
    "collectd_scw_finops_count": "gauge",
    "collectd_scw_finops_duration_seconds": "gauge",
    "collectd_scw_finops_http_requests_total": "counter",
    "collectd_scw_finops_errors_total": "counter",
    "collectd_scw_finops_derive_total": "counter",
}


def missing_packages():
    missing = st.missing((("prometheus", PROMETHEUS), ("prometheus", PROMTOOL)),
                         "write_prometheus.so")
    if "collectd-core" not in missing:
        ldd = subprocess.run(["ldd", os.path.join(h.STOCK_PLUGINS, "write_prometheus.so")],
                             capture_output=True, text=True, timeout=30).stdout
        missing += [pkg for lib, pkg in (("libmicrohttpd.so", "libmicrohttpd12"),
                                         ("libprotobuf-c.so", "libprotobuf-c1"))
                    if re.search(re.escape(lib) + r"\S* => not found", ldd)]
    return sorted(set(missing))


class Prometheus(st.Server):
    """prometheus with a private config (JSON is YAML), TSDB and port:
    two jobs scrape collectd's write_prometheus every second, one with
    honor_labels: true (what README recommends), one without, which keeps
    only the errors counter (to show where the organization goes)."""

    name = "prometheus"
    stop_timeout = 20

    def __init__(self, work, target_port):
        self.dir = work.file("prometheus")
        os.makedirs(os.path.join(self.dir, "data"))
        self.port = h.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        target = {"targets": ["127.0.0.1:%d" % target_port]}
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as fh:
            json.dump({
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                           "evaluation_interval": "1s"},
                "rule_files": [RULES],
                "scrape_configs": [
                    {"job_name": JOB, "honor_labels": True, "static_configs": [target]},
                    {"job_name": RAW_JOB, "static_configs": [target],
                     "metric_relabel_configs": [{
                         "source_labels": ["__name__"], "action": "keep",
                         "regex": "collectd_scw_finops_errors_total"}]}]}, fh, indent=1)
        res = subprocess.run([PROMTOOL, "check", "config", self.config], capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, "promtool check config: %s%s" % (res.stdout, res.stderr)
        self.launch([PROMETHEUS, "--config.file=" + self.config,
                     "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                     "--web.listen-address=127.0.0.1:%d" % self.port,
                     "--web.console.templates=" + self.dir,
                     "--web.console.libraries=" + self.dir],
                    os.path.join(self.dir, "prometheus.out"), "prometheus ready")

    def answering(self):
        return st.http_status(self.url + "/-/ready", 200)

    def api(self, path, **params):
        url = self.url + "/api/v1/" + path + "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
        assert body.get("status") == "success", "%s %s: %s" % (path, params, body)
        return body["data"]

    def query(self, expr):
        """[(labels, value)] of an instant query (a vector) at now."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", "%s: %s" % (expr, data["resultType"])
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def query_range(self, expr, seconds, step):
        """[(labels, last value)] of a range query over the last seconds."""
        end = time.time()
        data = self.api("query_range", query=expr, start=end - seconds, end=end, step=step)
        assert data["resultType"] == "matrix", "%s: %s" % (expr, data["resultType"])
        return [(r["metric"], float(r["values"][-1][1])) for r in data["result"]]


def scrape(port):
    """{family: type} and [(name, labels text, value, timestamp or None)] of
    write_prometheus's text exposition."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as resp:
        text = resp.read().decode()
    types, samples = {}, []
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            types[m.group(1)] = m.group(2)
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)(?: (\d+))?$", line)
            assert m, "unparsable exposition line %r" % line
            samples.append((m.group(1), m.group(2), float(m.group(3)),
                            int(m.group(4)) if m.group(4) else None))
    return types, samples


S = st.Scenario("prom")
OUTLOOK = {"currency_forecast": "collectd_scw_finops_currency_forecast",
           "budget_percent": "collectd_scw_finops_budget_percent"}


def want_labels(name, host, key):
    """The labels write_prometheus derives from a value list, plus the job:
    plugin_instance in label scw_finops and type_instance in label type, or,
    with no plugin_instance, the type_instance in label scw_finops; the
    host in label instance."""
    pinst, tinst = key
    labels = {"__name__": name, "instance": host, "job": JOB}
    if pinst:
        labels["scw_finops"] = pinst
        if tinst:
            labels["type"] = tinst
    elif tinst:
        labels["scw_finops"] = tinst
    return labels


def key_of(labels):
    """(plugin_instance, type_instance) back from write_prometheus's labels."""
    if "type" in labels:
        return labels.get("scw_finops", ""), labels["type"]
    return ("", labels.get("scw_finops", "")) if labels.get("scw_finops") == "total" \
        else (labels.get("scw_finops", ""), "")


def check_series(name, expected):
    """Polls PromQL `name` until it returns exactly the expected series (keys,
    labels, values within EXACT); returns the last mismatch list on timeout."""
    want = {(host, key): nanos / h.NANOS for host, series in expected.items()
            for key, nanos in series.items()}
    last = {}

    def matches():
        got = {}
        for labels, value in S.prom.query(name):
            got[(labels["instance"], key_of(labels))] = (labels, value)
        bad = ["missing %s" % (k,) for k in want if k not in got]
        bad += ["unexpected %s" % (k,) for k in got if k not in want]
        for k, v in want.items():
            if k in got:
                labels, value = got[k]
                if labels != want_labels(name, k[0], k[1]) or abs(value - v) > EXACT:
                    bad.append("%s: %r %r, want %r %r" % (
                        k, labels, value, want_labels(name, k[0], k[1]), v))
        last["bad"] = bad
        return got if not bad else None
    try:
        return h.wait_for(matches, 30, "%d %s series in Prometheus" % (len(want), name),
                          interval=0.5)
    except AssertionError as e:
        raise AssertionError("%s: %d wrong, e.g. %s" % (
            e, len(last.get("bad", [])), last.get("bad", [])[:5])) from None


def check_outlook():
    """Polls until the forecast and budget families hold exactly the
    expected series (labels, values: forecasts within FORECAST_RTOL)."""
    want = {(host, OUTLOOK[type_], (pinst, tinst)): v for host, series in S.outlook.items()
            for (pinst, type_, tinst), v in series.items()}
    last = {}

    def matches():
        got = {}
        for name in OUTLOOK.values():
            for labels, value in S.prom.query('%s{job="%s"}' % (name, JOB)):
                # Without a type label, a budget's organization-level instance.
                key = key_of(labels) if name.endswith("forecast") or "type" in labels \
                    else ("", labels.get("scw_finops", ""))
                got[(labels["instance"], name, key)] = (labels, value)
        bad = ["missing %s" % (k,) for k in want if k not in got]
        bad += ["unexpected %s" % (k,) for k in got if k not in want]
        for k, v in want.items():
            if k in got:
                labels, value = got[k]
                kind = k[1][len("collectd_scw_finops_"):]
                if labels != want_labels(k[1], k[0], k[2]) or \
                        not outlook_close((k[2][0], kind, k[2][1]), value, v, EXACT):
                    bad.append("%s: %r %r, want %r %r" % (
                        k, labels, value, want_labels(k[1], k[0], k[2]), v))
        last["bad"] = bad
        return got if not bad else None
    try:
        return h.wait_for(matches, 30, "%d forecast and budget series in Prometheus"
                          % len(want), interval=0.5)
    except AssertionError as e:
        raise AssertionError("%s: %d wrong, e.g. %s" % (
            e, len(last.get("bad", [])), last.get("bad", [])[:5])) from None


# ---- 1. promtool ------------------------------------------------------------------

def test_promtool_rules(work):
    res = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, "promtool check rules: %s%s" % (res.stdout, res.stderr)
    assert re.search(r"SUCCESS: 6 rules found", res.stdout), res.stdout
    # Paths in the test file are relative to it.
    res = subprocess.run([PROMTOOL, "test", "rules", os.path.basename(RULES_TEST)],
                         cwd=RULES_DIR, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "SUCCESS" in res.stdout, \
        "promtool test rules: %s%s" % (res.stdout, res.stderr)
    print("# promtool: 6 rules checked, their unit tests pass")


# ---- 2. month to date: exposition and PromQL ------------------------------------

@S.step
def test_exact_month_to_date(work):
    S.work = h.Workdir()
    st.start_simulator(S)
    S.prom_port = h.free_port()
    st.configure_collectd(
        S, extra_conf="LoadPlugin write_prometheus\n<Plugin write_prometheus>\n"
        "  Host \"127.0.0.1\"\n  Port \"%d\"\n  StalenessDelta %d\n</Plugin>" % (
            S.prom_port, STALENESS_DELTA))
    shutil.copy(os.path.join(h.STOCK_PLUGINS, "write_prometheus.so"), S.cd.plugindir)
    S.cd.start()
    h.wait_for(lambda: h.port_open(S.prom_port), 20, "write_prometheus listening")
    S.prom = Prometheus(S.work, S.prom_port)
    by_org = st.current_month(S)
    n = sum(len(s) for s in S.expected.values())
    assert n > 100, "expected a realistic number of series, got %d" % n
    check_series("collectd_scw_finops_currency", S.expected)

    # The exposition itself: the families README lists, their types, and
    # collectd's own timestamps on every sample (Interval 1 <= StalenessDelta).
    types, samples = scrape(S.prom_port)
    assert types == FAMILIES, "families %s, want %s" % (types, FAMILIES)
    untimed = [s for s in samples if s[3] is None]
    assert not untimed, "samples without a timestamp: %s" % untimed[:3]
    assert all(abs(s[3] / 1000 - time.time()) < 60 for s in samples), \
        "timestamps far from now: %s" % samples[:3]
    total = 'collectd_scw_finops_currency{scw_finops="total",instance="acme"}'
    assert any("%s{%s}" % (s[0], s[1]) == total for s in samples), \
        "no %s in the exposition" % total

    # Self-metrics, by their Prometheus names.
    selfm = {}
    for name in ("collectd_scw_finops_http_requests_total",
                 "collectd_scw_finops_errors_total", "collectd_scw_finops_count",
                 "collectd_scw_finops_duration_seconds", "collectd_scw_finops_derive_total"):
        for labels, value in S.prom.query('%s{job="%s"}' % (name, JOB)):
            selfm[(labels["instance"], name, labels.get("scw_finops", ""))] = value
    for host in HOSTS:
        assert selfm.get((host, "collectd_scw_finops_http_requests_total", "")) >= 1, selfm
        assert selfm.get((host, "collectd_scw_finops_errors_total", "")) == 0, selfm
        assert selfm.get((host, "collectd_scw_finops_count", "charges")) > 0, selfm
        assert (host, "collectd_scw_finops_count", "skipped_charges") in selfm, selfm
        for tinst in ("api_bytes", "api_pages", "api_retries", "api_throttled",
                      "api_requests_closing"):
            assert (host, "collectd_scw_finops_derive_total", tinst) in selfm, selfm
        age = selfm.get((host, "collectd_scw_finops_duration_seconds", "snapshot_age"))
        assert age is not None and 0 <= age < 600, selfm
        for tinst in ("refresh", "read_cpu"):
            assert selfm.get((host, "collectd_scw_finops_duration_seconds", tinst)) >= 0
    st.set_outlook(S, by_org, lambda host: selfm[
        (host, "collectd_scw_finops_duration_seconds", "refresh")])
    n_outlook = len(check_outlook())
    print("# %d series exact with their labels (organization %s), %s; %d samples in the "
          "exposition, all with collectd's timestamps" % (
              n, st.totals_note(S.expected), st.outlook_note(S, n_outlook), len(samples)))


# ---- 3. the previous month ----------------------------------------------------

@S.step
def test_exact_previous_month(work):
    S.need("prom", "cd")
    m, prev = st.previous_month(S)
    check_series("collectd_scw_finops_currency_previous", S.prev_expected)
    # Every sample of the run (min and max): the status did not move during it.
    for fn in ("min_over_time", "max_over_time"):
        got = {labels["instance"]: value for labels, value in S.prom.query(
            '%s(collectd_scw_finops_gauge{job="%s"}[10m])' % (fn, JOB))}
        assert got == {host: S.prev_final for host in HOSTS}, \
            "previous_final %s %r, want %r" % (fn, got, S.prev_final)
    labels = S.prom.query('collectd_scw_finops_gauge{job="%s"}' % JOB)[0][0]
    assert labels == want_labels("collectd_scw_finops_gauge", labels["instance"],
                                 ("", "previous_final")), labels
    print("# %d previous-month series exact with their labels: %s" % (
        sum(len(s) for s in S.prev_expected.values()), st.previous_note(S, m, prev)))


# ---- 4. the rules on the server; honor_labels ---------------------------------

@S.step
def test_rules_on_the_server(work):
    S.need("prom", "cd")
    groups = h.wait_for(lambda: S.prom.api("rules")["groups"], 20, "rules loaded")
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert len(rules) == 6 and all(r["type"] == "alerting" for r in rules.values()), rules
    # Evaluated at least once since both organizations' values arrived.
    h.wait_for(lambda: all(r["health"] == "ok" and r["lastEvaluation"] > iso(S.t0 + 5)
                           for g in S.prom.api("rules")["groups"] for r in g["rules"]),
               20, "every rule evaluated healthy")
    # Budget alerts: month to date at or over a budget fires at once, a
    # forecast over it is pending (for: 1h); nothing else on healthy data.
    want = set()
    for host, series in S.outlook.items():
        for (pinst, type_, tinst), v in series.items():
            if type_ != "budget_percent" or (v < 100 if tinst == "used" else v <= 100):
                continue
            name = {"used": "ScwFinops%sBudgetCrossed",
                    "forecast": "ScwFinops%sForecastOverBudget"}[tinst] % (
                        "Project" if pinst else "")
            want.add((name, host, pinst or tinst, "firing" if tinst == "used"
                      else "pending"))

    def alerts():
        got = {(a["labels"]["alertname"], a["labels"]["instance"],
                a["labels"].get("scw_finops", ""), a["state"])
               for a in S.prom.api("alerts")["alerts"]}
        assert got == want, "alerts %s, want %s" % (sorted(got), sorted(want))
    st.eventually(alerts, 20, "the budget alerts")
    # The budget rules' selectors (their expressions without the
    # comparison) reach exactly the budget series of their kind.
    for name, rule in rules.items():
        if "Budget" not in name:
            continue
        selector = re.sub(r"\s*>=?\s*100$", "", rule["query"])
        project, kind = "Project" in name, "used" if "Crossed" in name else "forecast"
        got = {(labels["instance"], labels["scw_finops"])
               for labels, _ in S.prom.query(selector)}
        exp = {(host, pinst or tinst) for host, series in S.outlook.items()
               for pinst, type_, tinst in series
               if type_ == "budget_percent" and tinst == kind and bool(pinst) == project}
        assert got == exp and exp, "%s: %s reaches %s, want %s" % (name, selector, got, exp)
    # The selectors of the stale-snapshot and error rules reach both
    # organizations.
    for expr in ('collectd_scw_finops_duration_seconds{scw_finops="snapshot_age"}',
                 'increase(collectd_scw_finops_errors_total{job="%s"}[1h])' % JOB):
        # increase() needs two samples of the run in its range.
        got = h.wait_for(lambda: (lambda g: g if set(g) == set(HOSTS) else None)(
            {labels["instance"]: value for labels, value in S.prom.query(expr)}),
            20, "%s for both organizations" % expr, interval=0.3)
        assert all(v >= 0 for v in got.values()), "%s: %s" % (expr, got)
    # Without honor_labels, Prometheus keeps its own instance (the target)
    # and moves the organization to exported_instance.
    raw = h.wait_for(lambda: S.prom.query('collectd_scw_finops_errors_total{job="%s"}'
                                          % RAW_JOB), 20, "the %s job's series" % RAW_JOB)
    assert {(m["instance"], m["exported_instance"]) for m, _ in raw} == {
        ("127.0.0.1:%d" % S.prom_port, host) for host in HOSTS}, raw
    print("# %d rules loaded and evaluated, %d budget alerts as the budgets warrant (%s), "
          "no other; without honor_labels the organization is in exported_instance" % (
              len(rules), len(want), ", ".join("%s %s %s" % (a[0], a[2], a[3])
                                               for a in sorted(want))))


# ---- 5. the Grafana dashboard's queries ------------------------------------------

def projects(expected):
    """{'host / project': EUR}."""
    return st.projects(expected, lambda host, pinst: "%s / %s" % (host, pinst))


def top_per_host(values, n):
    return st.top_per_host(values, n, lambda k: k.split(" / ", 1)[0])


def legend(fmt, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def check_panel(title, ref, got, top_n):
    """got: {legend: value}."""
    totals = {host: S.expected[host][("", "total")] / h.NANOS for host in HOSTS}

    def same(want):
        assert set(got) == set(want), "%s: %s, want %s" % (title, sorted(got), sorted(want))
        for k, v in want.items():
            assert abs(got[k] - v) <= EXACT * 4, "%s %s: %r, want %r" % (title, k, got[k], v)

    def outlook(kind, projects, fmt):
        return {fmt % k: v for k, v in st.outlook_of(S.outlook, kind, projects).items()}

    def same_outlook(want, forecast=False):
        st.same_outlook(title, got, want, EXACT * 4, forecast)

    if title == "Month to date and end-of-month forecast" and ref == "A":
        same({host + " month to date": v for host, v in totals.items()})
    elif title == "Month to date and end-of-month forecast" and ref == "B":
        same_outlook(outlook("currency_forecast", False, "%s%.0s%.0s forecast"), True)
    elif title == "Organization budget: used and forecast":
        same_outlook(outlook("budget_percent", False, "%s%.0s %s"))
    elif title.startswith("Forecast by project"):
        same_outlook(top_per_host(outlook("currency_forecast", True, "%s / %s%.0s"), top_n),
                     True)
    elif title == "Project budgets: used and forecast":
        same_outlook(outlook("budget_percent", True, "%s / %s %s"))
    elif title == "Month-to-date total":
        same({"total": sum(totals.values())})
    elif title == "Month-to-date total per organization":
        same(totals)
    elif title == "Cost by project":
        same(projects(S.expected))
    elif title.startswith("Top") and "projects per organization" in title:
        same(top_per_host(projects(S.expected), top_n))
    elif title.startswith("Top") and "SKUs" in title:
        same(st.top(st.skus(S.expected), top_n))
    elif title == "Previous month (provisional/final)" and ref == "A":
        same({host + " total": S.prev_expected[host][("", "total")] / h.NANOS
              for host in HOSTS})
    elif title == "Previous month (provisional/final)" and ref == "B":
        same({host + " status": S.prev_final for host in HOSTS})
    elif title.startswith("Previous month: top") and "projects per organization" in title:
        same(top_per_host(projects(S.prev_expected), top_n))
    elif title == "Snapshot age and refresh duration":
        assert set(got) == {"%s %s" % (x, t) for x in HOSTS
                            for t in ("snapshot_age", "refresh")}, got
        for k, v in got.items():
            assert 0 <= v < 600, "%s = %r" % (k, v)
    elif title == "API requests and failed refreshes per hour":
        kind = {"A": "http_requests", "B": "errors"}[ref]
        assert set(got) == {"%s %s" % (x, kind) for x in HOSTS}, got
        for k, v in got.items():
            assert v >= 0 if kind == "http_requests" else v == 0, "%s = %r" % (k, v)
    elif title == "Charges in the snapshot":
        assert set(got) == {"%s %s" % (x, t) for x in HOSTS
                            for t in ("charges", "skipped_charges")}, got
        for x in HOSTS:
            assert got["%s charges" % x] > 0, got
    else:
        raise AssertionError("panel %r has no expectation in this test" % title)


@S.step
def test_dashboard_queries(work):
    S.need("prom", "cd")
    targets, variables, top_choices, _ = st.dashboard(
        DASHBOARD, "prometheus", 11, ("datasource", "org", "top"))
    # The org variable: label_values(<selector>, instance), as Grafana asks it.
    m = re.match(r"label_values\((.*), *(\w+)\)$", variables["org"]["query"]["query"])
    assert m, variables["org"]["query"]
    orgs = S.prom.api("label/%s/values" % m.group(2), **{"match[]": m.group(1)})
    assert set(orgs) == set(HOSTS), "org variable lists %s" % orgs
    # Grafana renders a multi-value variable inside =~"$org" as an
    # escaped regex group.
    org_regex = "(%s)" % "|".join(x.replace(".", "\\\\.") for x in HOSTS)
    checked = 0
    for raw_title, target in targets:
        expr = target["expr"]
        assert "$org" in expr or "instance" not in expr, raw_title
        # Month-to-date panels read no previous-month family, and back.
        previous = "currency_previous" in expr or "collectd_scw_finops_gauge" in expr
        assert previous == raw_title.startswith("Previous month"), (raw_title, expr)
        tops = top_choices if "$top" in expr else (TOP,)
        for top_n in tops:
            values = {"org": org_regex, "top": top_n}
            query = h.grafana_substitute(expr, values)
            title = h.grafana_substitute(raw_title, values)
            for kind in ("instant", "range"):
                def check():
                    result = S.prom.query(query) if kind == "instant" \
                        else S.prom.query_range(query, 60, 2)
                    got = {legend(target["legendFormat"], labels): value
                           for labels, value in result}
                    assert len(got) == len(result), "%s: legends not unique" % title
                    check_panel(title, target["refId"], got, top_n)
                st.eventually(check, 20, "%s %s (%s)" % (title, target["refId"], kind))
                checked += 1
    print("# %d dashboard queries (%d runs, instant and range) checked against "
          "Prometheus, %.0f s after the start (quiet for %d s)" % (
              len(targets), checked, time.time() - S.started, RUN_BUDGET))


# ---- 6. stop ---------------------------------------------------------------------

def test_everything_stops(work):
    S.need("cd", "prom")
    st.stop_collectd(S)
    took = S.prom.stop()
    S.prom = None
    assert took < 15, "prometheus took %.1fs to stop" % took
    print("# collectd and prometheus stopped (prometheus in %.1fs), %.0f s in all" % (
        took, time.time() - S.started))


if __name__ == "__main__":
    st.main(missing_packages, [
        test_promtool_rules,
        test_exact_month_to_date,
        test_exact_previous_month,
        test_rules_on_the_server,
        test_dashboard_queries,
        test_everything_stops,
    ], S)
