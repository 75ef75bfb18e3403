#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The plugin's series through collectd's network plugin into Debian's
InfluxDB 1.x (its collectd input), read back with `influx -execute`.

One scenario, several TAP points. Everything runs on 127.0.0.1 with free
ports and a private directory; every process is started here and stopped by
its PID:

  simulator (two organizations) -> collectd (scw_finops + network)
    -> influxd [[collectd]] input (typesdb: stock types.db + scw_finops.types.db)

1. every expected series (organization total, every project/SKU series of
   both organizations) is in measurement scw_finops_value with the right tags
   (host, instance, type, type_instance) and the simulator's exact value;
   the self-metrics are there too; so are the forecasts (currency_forecast
   of each organization and project, the README's values) and budget use
   (budget_percent of acme's Budget and of a project Budget in each
   organization, used and forecast);
2. the previous month likewise (type currency_previous: the simulator's
   exact sums over its full window), and gauge previous_final is what the
   plugin must say on this date;
3. every query of conf/dashboards/scw_finops-influxdb.json runs (Grafana's
   variables substituted) and returns the expected series and values (the
   previous month's panels included; no month-to-date query selects a
   previous-month series; the forecast and budget panels return exactly the
   expected forecasts and budget use, and not a project's series that
   stopped);
4. the dashboard's daily-spend query is exact across a month boundary
   (synthetic month-to-date history written over InfluxDB's HTTP API);
5. everything stops cleanly.

The dataset and the quiet start are systest's."""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import systest as st  # first: it puts harness and finops_sim on the path
from periods import RUN_BUDGET, outlook_close
from systest import TOP, TOP_SRCDIR, h

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"
INFLUX = shutil.which("influx") or "/usr/bin/influx"
DASHBOARD = os.path.join(TOP_SRCDIR, "conf", "dashboards", "scw_finops-influxdb.json")
TYPES = os.path.join(TOP_SRCDIR, "conf", "scw_finops.types.db")
EXACT = 1e-6  # far below a cent; the network protocol carries the double as is
HOSTS = ("acme", "scw.beta")
HIST = "hist"


def missing_packages():
    return st.missing((("influxdb", INFLUXD), ("influxdb-client", INFLUX)), "network.so")


class Influxd(st.Server):
    name = "influxd"
    stop_timeout = 40  # influxd gives up a stuck clean shutdown after 30 s by itself

    def __init__(self, work):
        self.dir = work.file("influxdb")
        typesdb = os.path.join(self.dir, "typesdb")
        os.makedirs(typesdb)
        # A directory: influxd loads every file in it.
        shutil.copy(h.TYPES_DB, typesdb)
        shutil.copy(TYPES, typesdb)
        self.http_port, self.rpc_port = h.free_port(), h.free_port()
        self.collectd_port = h.free_port(udp=True)
        conf = os.path.join(self.dir, "influxdb.conf")
        with open(conf, "w") as fh:
            fh.write("\n".join([
                "reporting-disabled = true",
                'bind-address = "127.0.0.1:%d"' % self.rpc_port,
                "[meta]", '  dir = "%s/meta"' % self.dir,
                "[data]", '  dir = "%s/data"' % self.dir, '  wal-dir = "%s/wal"' % self.dir,
                "[http]", '  bind-address = "127.0.0.1:%d"' % self.http_port,
                "  log-enabled = false",
                "[ifql]", "  enabled = false",
                "[monitor]", "  store-enabled = false",
                "[[collectd]]", "  enabled = true",
                '  bind-address = "127.0.0.1:%d"' % self.collectd_port,
                '  database = "collectd"',
                '  typesdb = "%s"' % typesdb,
                "  batch-size = 1",
                '  batch-timeout = "1s"', ""]))
        self.url = "http://127.0.0.1:%d" % self.http_port
        self.launch([INFLUXD, "-config", conf], os.path.join(self.dir, "influxd.log"),
                    "influxd answering /ping")
        # The collectd input creates it too, but only with its first batch.
        req = urllib.request.Request(self.url + "/query?q=CREATE%20DATABASE%20collectd",
                                     method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200, resp.status

    def answering(self):
        return st.http_status(self.url + "/ping", 204)

    def query(self, q):
        """`influx -execute` with JSON output: [series dict] of the first
        statement (name, tags, columns, values); epoch seconds."""
        res = subprocess.run([INFLUX, "-host", "127.0.0.1", "-port", str(self.http_port),
                              "-database", "collectd", "-precision", "s", "-format", "json",
                              "-execute", q], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and "ERR" not in res.stdout[:10], \
            "influx -execute %r: %s %s" % (q, res.stdout[-1000:], res.stderr[-1000:])
        # The CLI prints one "results" entry per chunk (often one per series).
        series = []
        for result in json.loads(res.stdout)["results"]:
            assert "error" not in result, "%r: %s" % (q, result["error"])
            series += result.get("series", [])
        return series

    def write(self, lines):
        req = urllib.request.Request(self.url + "/write?db=collectd&precision=s",
                                     data="\n".join(lines).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 204, resp.status

    def stats(self):
        series = self.query("SHOW STATS FOR 'collectd'")
        return dict(zip(series[0]["columns"], series[0]["values"][0])) if series else {}

    def quiesce(self, timeout=20):
        """Waits until the collectd input has written every point it read and
        read nothing new between two polls. influxd 1.x can deadlock when
        SIGTERM meets points still in its collectd batcher (influxdb#8780)."""
        previous = [None]

        def idle():
            st = self.stats()
            done = st.get("pointsRx") == st.get("pointsTx") and st == previous[0]
            previous[0] = st
            return done
        h.wait_for(idle, timeout, "influxd's collectd input to go idle", interval=0.3)


def rows(series):
    """[(tags, {column: value})] of every row."""
    out = []
    for s in series:
        for values in s.get("values", []):
            out.append((s.get("tags", {}), dict(zip(s["columns"], values))))
    return out


class State(st.Scenario):
    def stop_proc(self, name, proc):
        if name == "influx":
            proc.quiesce()
        proc.stop()

    def stop_failed(self, name, proc):
        if name == "influx":
            proc.stop()


S = State("influx")
OUTLOOK_TYPES = ("currency_forecast", "budget_percent")


# ---- 1. exact values and tags -------------------------------------------------

def cost_series(since, type_="currency"):
    """{(host, instance, type_instance): (tags, value)} of currency series."""
    series = S.influx.query(
        "SELECT last(\"value\") FROM \"scw_finops_value\" WHERE \"type\" = '%s' AND "
        "time > %ds GROUP BY *" % (type_, since))
    out = {}
    for tags, row in rows(series):
        out[(tags.get("host", ""), tags.get("instance", ""), tags.get("type_instance", ""))] = (
            tags, row["last"])
    return out


def check_cost_series(expected, type_, what):
    """Every series of expected ({host: {(plugin_instance, type_instance):
    nanos}}) is in InfluxDB as type type_ with exactly its tags and value,
    and no other series of that type is. Returns how many."""
    want = {(host, pinst, tinst): nanos / h.NANOS
            for host, series in expected.items()
            for (pinst, tinst), nanos in series.items()}
    assert len(want) > 100, "expected a realistic number of series, got %d" % len(want)
    got = h.wait_for(lambda: (lambda g: g if set(want) <= set(g) else None)(
        cost_series(S.t0 - 60, type_)), 60, "%d %s series in InfluxDB" % (len(want), what),
        interval=0.5)
    extra = set(got) - set(want)
    assert not extra, "unexpected %s series: %s" % (what, sorted(extra)[:5])
    bad = []
    for key, value in want.items():
        tags, stored = got[key]
        host, pinst, tinst = key
        # Tags exactly: an empty plugin_instance is no tag at all.
        want_tags = {"host": host, "type": type_, "type_instance": tinst}
        if pinst:
            want_tags["instance"] = pinst
        present = {k: v for k, v in tags.items() if v != ""}
        if present != want_tags or abs(stored - value) > EXACT:
            bad.append("%s: %r %r, want %r %r" % (key, present, stored, want_tags, value))
    assert not bad, "%d of %d series wrong: %s" % (len(bad), len(want), bad[:5])
    return len(want)


@S.step
def test_exact_values_and_tags(work):
    S.work = h.Workdir()
    st.start_simulator(S)
    S.influx = Influxd(S.work)
    st.configure_collectd(S, extra_conf="LoadPlugin network\n<Plugin network>\n  Server "
                          "\"127.0.0.1\" \"%d\"\n</Plugin>" % S.influx.collectd_port)
    shutil.copy(os.path.join(h.STOCK_PLUGINS, "network.so"), S.cd.plugindir)
    S.cd.start()
    by_org = st.current_month(S)
    n = check_cost_series(S.expected, "currency", "cost")
    # Self-metrics: raw DERIVE counters, duration in scw_finops_seconds.
    selfm = {(t.get("host"), t.get("type"), t.get("type_instance", "")): r["last"]
             for t, r in rows(S.influx.query(
                 "SELECT last(\"value\") FROM \"scw_finops_value\", \"scw_finops_seconds\" "
                 "WHERE \"type\" != 'currency' AND time > %ds GROUP BY *" % (S.t0 - 60)))}
    for host in HOSTS:
        assert selfm.get((host, "http_requests", "")) >= 1, selfm
        assert selfm.get((host, "errors", "")) == 0, selfm
        assert selfm.get((host, "count", "charges")) > 0, selfm
        assert (host, "count", "skipped_charges") in selfm, selfm
        assert 0 <= selfm.get((host, "duration", "snapshot_age")) < 600, selfm
        assert selfm.get((host, "duration", "refresh")) >= 0, selfm
    st.set_outlook(S, by_org, lambda host: selfm[(host, "duration", "refresh")])
    want = {(host,) + key: v for host, series in S.outlook.items()
            for key, v in series.items()}
    last = {}

    def outlook():
        got = {}
        for tags, row in rows(S.influx.query(
                "SELECT last(\"value\") FROM \"scw_finops_value\" WHERE \"type\" =~ "
                "/^(currency_forecast|budget_percent)$/ AND time > %ds GROUP BY *"
                % (S.t0 - 60))):
            got[(tags.get("host", ""), tags.get("instance", ""), tags.get("type", ""),
                 tags.get("type_instance", ""))] = row["last"]
        bad = ["missing %s" % (k,) for k in set(want) - set(got)]
        bad += ["unexpected %s" % (k,) for k in set(got) - set(want)]
        bad += ["%s: %r, want %r" % (k, got[k], v) for k, v in want.items()
                if k in got and not outlook_close(k[1:], got[k], v, EXACT)]
        last["bad"] = bad
        return not bad
    try:
        h.wait_for(outlook, 20, "%d forecast and budget series" % len(want), interval=0.5)
    except AssertionError as e:
        raise AssertionError("%s: %s" % (e, last.get("bad", [])[:5])) from None
    print("# %d series exact with their tags (organization %s); %s" % (
        n, st.totals_note(S.expected), st.outlook_note(S, len(want))))


# ---- 2. the previous month ----------------------------------------------------

@S.step
def test_previous_month_values_and_tags(work):
    S.need("influx", "cd")
    m, prev = st.previous_month(S)
    n = check_cost_series(S.prev_expected, "currency_previous", "previous-month")
    # Every point of the run (min and max): the status did not move during it.
    final = {(t.get("host"), t.get("instance", ""), t.get("type"), t.get("type_instance")):
             (r["min"], r["max"]) for t, r in rows(S.influx.query(
                 "SELECT min(\"value\"), max(\"value\") FROM \"scw_finops_value\" WHERE "
                 "\"type\" = 'gauge' AND time > %ds GROUP BY *" % (S.t0 - 60)))}
    assert final == {(host, "", "gauge", "previous_final"): (S.prev_final, S.prev_final)
                     for host in HOSTS}, "previous_final (min, max) %r, want %r" % (
                         final, S.prev_final)
    print("# %d previous-month series exact with their tags: %s" % (
        n, st.previous_note(S, m, prev)))


# ---- 3. the Grafana dashboard's queries ------------------------------------------

def totals():
    return {host: S.expected[host][("", "total")] / h.NANOS for host in HOSTS}


def projects(expected=None):
    """{(host, project): EUR} (month to date, or the series given)."""
    return st.projects(S.expected if expected is None else expected,
                       lambda host, pinst: (host, pinst))


def top_per_host(values, n):
    return st.top_per_host(values, n, lambda k: k[0])


def last_by(series, *tag_keys):
    """{tag values: last non-null value of the first value column}."""
    out = {}
    for s in series:
        col = s["columns"][1]
        vals = [dict(zip(s["columns"], v))[col] for v in s.get("values", [])]
        vals = [v for v in vals if v is not None]
        key = tuple(s.get("tags", {}).get(k, "") for k in tag_keys)
        out[key] = vals[-1] if vals else None
    return out


def close(got, want, what):
    assert got is not None and abs(got - want) <= EXACT * 4, "%s: %r, want %r" % (
        what, got, want)


def outlook(kind, projects):
    return st.outlook_of(S.outlook, kind, projects)


def same_outlook(title, got, want, forecast=False):
    st.same_outlook(title, got, want, EXACT * 4, forecast)


def check_panel(title, series, long_range, ref="A", top_n=TOP):
    if title == "Month to date and end-of-month forecast" and ref == "A":
        same_outlook(title, last_by(series, "host"), {(x,): v for x, v in totals().items()})
    elif title == "Month to date and end-of-month forecast" and ref == "B":
        same_outlook(title, last_by(series, "host"), {
            (x,): v for (x, _, _), v in outlook("currency_forecast", False).items()}, True)
    elif title == "Organization budget: used and forecast":
        same_outlook(title, last_by(series, "host", "type_instance"), {
            (x, t): v for (x, _, t), v in outlook("budget_percent", False).items()})
    elif title.startswith("Forecast by project"):
        got = {(tags.get("host"), row.get("instance")): row.get("top")
               for tags, row in rows(series)}
        want = top_per_host({(x, p): v for (x, p, _), v in
                             outlook("currency_forecast", True).items()}, top_n)
        same_outlook(title, got, want, True)
    elif title == "Project budgets: used and forecast":
        same_outlook(title, last_by(series, "host", "instance", "type_instance"),
                     outlook("budget_percent", True))
    elif title == "Previous month (provisional/final)" and ref == "A":
        got = last_by(series, "host")
        assert set(got) == {(x,) for x in HOSTS}, got
        for host in HOSTS:
            close(got[(host,)], S.prev_expected[host][("", "total")] / h.NANOS,
                  "%s %s" % (title, host))
    elif title == "Previous month (provisional/final)" and ref == "B":
        got = last_by(series, "host")
        want = {(x,): S.prev_final for x in HOSTS}
        assert got == want, "%s: %r, want %r (%s)" % (
            title, got, want, ("provisional", "final")[S.prev_final])
    elif title.startswith("Previous month: top") and "projects per organization" in title:
        got = {}
        for tags, row in rows(series):
            got[(tags.get("host"), row.get("instance"))] = row.get("top")
        want = top_per_host(projects(S.prev_expected), top_n)
        assert set(got) == set(want), "%s: %s, want %s" % (title, sorted(got), sorted(want))
        for k, v in want.items():
            close(got[k], v, "%s %s" % (title, k))
    elif title == "Month-to-date total":
        close(last_by(series)[()], sum(totals().values()), title)
    elif title == "Month-to-date total per organization":
        got = last_by(series, "host")
        assert set(got) == {(x,) for x in HOSTS}, got
        for host, want in totals().items():
            close(got[(host,)], want, "%s %s" % (title, host))
    elif title == "Cost by project":
        got = last_by(series, "host", "instance")
        want = projects()
        assert set(got) == set(want), "%s: %s, want %s" % (title, sorted(got), sorted(want))
        for k, v in want.items():
            close(got[k], v, "%s %s" % (title, k))
    elif title.startswith("Top") and "projects per organization" in title:
        got = {}
        for tags, row in rows(series):
            got[(tags.get("host"), row.get("instance"))] = row.get("top")
        want = top_per_host(projects(), TOP)
        assert set(got) == set(want), "%s: %s, want %s" % (title, sorted(got), sorted(want))
        for k, v in want.items():
            close(got[k], v, "%s %s" % (title, k))
    elif title.startswith("Top") and "SKUs" in title:
        got = {row.get("type_instance"): row.get("top") for _, row in rows(series)}
        want = st.top(st.skus(S.expected), TOP)
        assert set(got) == set(want), "%s: %s, want %s" % (title, sorted(got), sorted(want))
        for k, v in want.items():
            close(got[k], v, "%s %s" % (title, k))
    elif title == "Daily spend per organization":
        got = last_by(series, "host")
        assert set(got) == {(x,) for x in HOSTS}, got
        for k, v in got.items():
            # Only this run's points, whose value does not change: no spend today.
            close(v, 0.0, "%s %s" % (title, k))
    elif title == "Snapshot age and refresh duration":
        got = last_by(series, "host", "type_instance")
        assert set(got) == {(x, t) for x in HOSTS for t in ("snapshot_age", "refresh")}, got
        for k, v in got.items():
            assert v is not None and 0 <= v < 600, "%s = %r" % (k, v)
    elif title == "API requests and failed refreshes per hour":
        got = last_by(series, "host", "type")
        assert set(got) == {(x, t) for x in HOSTS for t in ("http_requests", "errors")}, got
        for k, v in got.items():
            assert v is not None and v >= 0, "%s = %r" % (k, v)
            if k[1] == "errors":
                assert v == 0, "%s = %r" % (k, v)
    elif title == "Charges in the snapshot":
        got = last_by(series, "host", "type_instance")
        assert set(got) == {(x, t) for x in HOSTS for t in ("charges", "skipped_charges")}, got
        for x in HOSTS:
            assert got[(x, "charges")] > 0
    else:
        raise AssertionError("panel %r has no expectation in this test" % title)


# Every type the plugin dispatches, and those of the previous month.
TYPES_DISPATCHED = ("currency", "currency_previous", "gauge", "http_requests", "errors",
                    "derive", "count", "duration") + OUTLOOK_TYPES
PREVIOUS_TYPES = {"currency_previous", "gauge"}


def check_type_filters(targets):
    """Each query selects its types by "type" = '...' or an anchored regex:
    month-to-date and health panels select no previous-month type, the
    previous-month panels nothing else."""
    for title, target in targets:
        query = target["query"]
        types = set(re.findall(r"\"type\" = '([^']*)'", query))
        for rx in re.findall(r"\"type\" =~ /([^/]*)/", query):
            assert rx.startswith("^") and rx.endswith("$"), "%s: unanchored /%s/" % (title, rx)
            types |= {t for t in TYPES_DISPATCHED if re.search(rx, t)}
        assert types, "%s: no filter on type" % title
        if title.startswith("Previous month"):
            assert types <= PREVIOUS_TYPES, "%s selects %s" % (title, sorted(types))
        else:
            assert not types & PREVIOUS_TYPES, "%s selects %s" % (title, sorted(types))


@S.step
def test_dashboard_queries(work):
    S.need("influx", "cd")
    targets, variables, top_choices, panels = st.dashboard(
        DASHBOARD, "influxdb", 9, ("datasource", "host", "top"))
    hosts = {row["value"] for _, row in rows(S.influx.query(variables["host"]["query"]))}
    assert set(HOSTS) <= hosts, "host variable lists %s" % hosts
    check_type_filters(targets)
    # A previous-month series that stopped 2 h ago, as one of a project billed
    # two months ago but not last month does at a month change: the
    # previous-month panels must not show it.
    S.influx.write(["scw_finops_value,host=acme,instance=stale_project,"
                    "type=currency_previous,type_instance=stale_sku value=999999 %d"
                    % (S.t0 - 7200)])
    # Likewise a project's forecast and budget use (last month's, or a
    # project without cost yet this month): the forecast and budget panels
    # must not show them.
    S.influx.write(["scw_finops_value,host=acme,instance=stale_project,"
                    "type=%s%s value=999999 %d" % (type_, tinst, S.t0 - 7200)
                    for type_, tinst in (("currency_forecast", ""),
                                         ("budget_percent", ",type_instance=used"))])
    # Grafana renders a multi-value variable inside /^$host$/ as a regex group.
    host_regex = "(%s)" % "|".join(x.replace(".", "\\.") for x in HOSTS)
    for title, target in targets:
        assert target.get("rawQuery") is True, title
        # A panel time override (Grafana's "relative time") replaces the range.
        ranges = ((panels[title]["timeFrom"], False),) if panels[title].get("timeFrom") \
            else (("15m", False), ("40d", True))
        # Every choice of the top variable: 20 is more than the projects.
        tops = top_choices if "$top" in target["query"] and \
            title.startswith("Previous month") else (TOP,)
        for top_n in tops:
            for span, long_range in ranges:
                if long_range and title.startswith(("Snapshot", "API", "Charges")):
                    continue  # health panels: this run's few seconds only
                values = {"host": host_regex, "top": top_n,
                          "timeFilter": "time > now() - %s" % span,
                          "__interval": "1h" if long_range else "5s"}
                query = h.grafana_substitute(target["query"], values)
                name = h.grafana_substitute(title, values)
                st.eventually(lambda: check_panel(name, S.influx.query(query), long_range,
                                               target["refId"], top_n), 20,
                           "%s %s (%s)" % (name, target["refId"], values["timeFilter"]))
            if panels[title].get("timeFrom") and "\"instance\" != ''" in target["query"]:
                # Without its time override the stale series would show.
                older = h.grafana_substitute(target["query"], dict(
                    values, timeFilter="time > now() - 40d"))
                assert ("acme", "stale_project") in {
                    (t.get("host"), r.get("instance") or t.get("instance"))
                    for t, r in rows(S.influx.query(older))}, \
                    "%s: stale series not seen" % title
    print("# %d dashboard queries checked against InfluxDB, %.0f s after the start "
          "(quiet for %d s)" % (len(targets), time.time() - S.started, RUN_BUDGET))


# ---- 4. daily spend across a month boundary ------------------------------------

@S.step
def test_daily_spend_across_month_boundary(work):
    S.need("influx")
    history = h.month_boundary_history(time.time())
    S.influx.write(["scw_finops_value,host=%s,type=currency,type_instance=total "
                    "value=%r %d" % (HIST, v, ts) for ts, v in history])
    _, targets = h.dashboard_targets(DASHBOARD)
    target = next(t["query"] for title, t in targets if title.startswith("Daily spend"))
    query = h.grafana_substitute(target, {"host": HIST, "top": TOP,
                                          "timeFilter": "time > now() - 40d",
                                          "__interval": "1h"})
    want = h.daily_spend(history)
    firsts = st.refreshed_firsts(want, history)

    def check():
        series = S.influx.query(query)
        got = {row["time"]: row["spend"] for _, row in rows(series)}
        missing = set(want) - set(got)
        assert not missing, "days missing: %s" % sorted(missing)
        for day, v in want.items():
            assert abs(got[day] - v) <= EXACT * 10, "%s: %r, want %r" % (
                st.day(day), got[day], v)
        return got
    got = st.eventually(check, 20, "daily spend")
    for d in firsts:
        assert got[d] > 0, "the 1st must show the new month's first day"
    print(st.daily_note(want, firsts))


# ---- 5. stop ---------------------------------------------------------------------

def test_everything_stops(work):
    S.need("cd", "influx")
    st.stop_collectd(S)
    S.influx.quiesce()
    took = S.influx.stop()
    S.influx = None
    assert took < 35, "influxd took %.1fs to stop" % took
    print("# collectd and influxd stopped (influxd in %.1fs)" % took)


if __name__ == "__main__":
    st.main(missing_packages, [
        test_exact_values_and_tags,
        test_previous_month_values_and_tags,
        test_dashboard_queries,
        test_daily_spend_across_month_boundary,
        test_everything_stops,
    ], S)
