# SPDX-License-Identifier: MIT
"""Integration-test harness: the real collectd daemon, the FinOps simulator,
and local receivers (CSV files, a Graphite line listener, a write_http JSON
listener), all on 127.0.0.1.

Every process started here is stopped by its PID; every wait is a bounded
poll. Tests print TAP (one `ok`/`not ok` line each) for automake's
tap-driver. Expected values come from the simulator's dataset through
finops_sim.expected_sums, and expected series names from an independent
implementation of the README's naming rule (expected_names below).

Dates: the month-to-date window moves with the clock and starts again at
midnight UTC on the 1st, so tests never assume a day of the month. What a
read published is compared with the exact sums of a window the plugin really
walked, of the month the read was made in (split_reads, Expected,
check_reads, wait_published). SCW_FAKETIME="YYYY-MM-DD hh:mm:ss" (UTC) runs
the tests under libfaketime, with one clock for them and the simulators and
collectd daemons they start, advancing from that instant (run_faked);
`python3 harness.py faketime INSTANT CMD...` does the same for a unit test.
SCW_TEST="name ..." runs only those tests, SCW_TEST_EXCEPT="name ..." all
but those."""

import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

TOP_SRCDIR = os.environ.get("SCW_TOP_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILDDIR = os.environ.get("SCW_TOP_BUILDDIR") or TOP_SRCDIR
COLLECTD = os.environ.get("SCW_COLLECTD") or shutil.which("collectd") or "/usr/sbin/collectd"
STOCK_PLUGINS = "/usr/lib/collectd"
TYPES_DB = "/usr/share/collectd/types.db"
SIM = os.path.join(TOP_SRCDIR, "tests", "sim", "finops_sim.py")
sys.path.insert(0, os.path.dirname(SIM))
import finops_sim  # noqa: E402  (the simulator doubles as the oracle)

FAKETIME_AT = os.environ.get("SCW_FAKETIME") or None
UNDER_FAKETIME = "faketime" in os.environ.get("LD_PRELOAD", "") and "FAKETIME" in os.environ
if UNDER_FAKETIME:
    # Everything here (subprocess's timed waits included) sleeps through
    # time.sleep, which fails with EINVAL under libfaketime with
    # FAKETIME_DONT_FAKE_MONOTONIC; see finops_sim.pause.
    time.sleep = finops_sim.pause

ORG1 = "11111111-1111-4111-8111-111111111111"
ORG2 = "22222222-2222-4222-8222-222222222222"
SECRET = "sim-secret-key"
NANOS = 10**9
# csv writes 6 decimals: half a unit in the last place, plus the error of the
# decimal printing of a double that was itself rounded (8583.5817345 can print
# as 8583.581734), so one full unit in the 6th decimal.
CSV_TOLERANCE = 1e-6


class Skip(Exception):
    pass


def wait_for(predicate, timeout, what, interval=0.05):
    """Polls predicate until truthy; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def stop_pid(proc, timeout=10.0):
    """SIGTERM, bounded wait, then SIGKILL. Returns seconds taken to exit."""
    if proc.poll() is not None:
        return 0.0
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        return float("inf")
    return time.monotonic() - started


def plugin_so():
    for candidate in (os.path.join(TOP_BUILDDIR, ".libs", "scw_finops.so"),
                      os.path.join(TOP_BUILDDIR, "scw_finops.so")):
        if os.path.exists(candidate):
            return candidate
    raise AssertionError("scw_finops.so not built in %s" % TOP_BUILDDIR)


class Workdir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="scw_it_")

    def file(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        if not os.environ.get("SCW_KEEP_WORKDIR"):  # to read a passing test's files
            shutil.rmtree(self.path, ignore_errors=True)


# ---- the simulator ---------------------------------------------------------

def generate_dataset(path, seed=7, **kw):
    args = [sys.executable, SIM, "generate", "--out", path, "--seed", str(seed)]
    for key, value in kw.items():
        args += ["--" + key.replace("_", "-"), str(value)]
    subprocess.run(args, check=True, timeout=120)
    with open(path) as fh:
        return json.load(fh)


class Simulator:
    def __init__(self, work, dataset_path, faults=None, tls=None):
        self.port_file = work.file("sim.port")
        self.log = open(work.file("sim.out"), "w")
        args = [sys.executable, SIM, "serve", "--dataset", dataset_path, "--port", "0",
                "--port-file", self.port_file]
        if faults is not None:
            args += ["--faults", json.dumps(faults)]
        if tls is not None:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.port = int(wait_for(self._read_port, 15, "simulator port"))
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.ssl = ssl.create_default_context(cafile=tls[0]) if tls else None

    def _read_port(self):
        if self.proc.poll() is not None:
            raise AssertionError("simulator exited with %s" % self.proc.returncode)
        try:
            with open(self.port_file) as fh:
                return fh.read().strip() or None
        except FileNotFoundError:
            return None

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10, context=self.ssl) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None

    def requests(self):
        return self._call("GET", "/_sim/requests")

    def set_faults(self, faults):
        self._call("POST", "/_sim/faults", faults)

    def charge_requests(self):
        return [r for r in self.requests() if r["path"].endswith("/charges")]

    def stop(self):
        stop_pid(self.proc)
        self.log.close()


def window_of(request):
    q = request["query"]
    return q["start_date_after"][0], q["end_date_before"][0]


# ---- expected series names (README "Series naming", written independently) --

def fnv1a(text):
    h = 2166136261
    for b in text.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def clean(raw):
    raw = raw.strip("/")
    out, in_run = [], False
    for ch in raw.encode():
        c = chr(ch)
        if c == "/":
            out.append("-")
            in_run = False
        elif c.isascii() and (c.isalnum() or c in "_-"):
            out.append(c)
            in_run = False
        elif not in_run:
            out.append("_")
            in_run = True
    return "".join(out)


def fit(name, key):
    if len(name.encode()) <= 127:
        return name
    return name[:127 - 9] + "-%08x" % fnv1a(key)


def with_suffix(name, key):
    suffix = "-%08x" % fnv1a(key)
    return name[:127 - 9] + suffix if len(name) + 9 > 127 else name + suffix


def clean_or_placeholder(raw):
    return clean(raw) or "unknown-%08x" % fnv1a(raw)


def uniquify(labels, keys, groups=None):
    seen = {}
    for i, label in enumerate(labels):
        seen.setdefault(((groups[i] if groups else None), label), []).append(i)
    out = list(labels)
    for members in seen.values():
        if len(members) > 1:
            for i in members:
                out[i] = with_suffix(labels[i], keys[i])
    return out


def expected_names(groups, group_by, label_mode="name"):
    """Maps each expected group (from finops_sim.expected_sums) to its
    (plugin_instance, type_instance)."""
    projects = {}
    for g in groups:
        projects.setdefault(g["project_id"], g.get("project_name"))
    pids = sorted(projects)
    plabels = []
    for pid in pids:
        name = projects[pid] if label_mode == "name" else None
        label = clean(name) if name else ""
        plabels.append(fit(label or clean_or_placeholder(pid), pid))
    plabels = dict(zip(pids, uniquify(plabels, pids)))
    tis, keys, owners = [], [], []
    for g in groups:
        if group_by == "project":
            ti, key = "", ""
        elif group_by == "sku":
            ti, key = fit(clean_or_placeholder(g["sku"]), g["sku"]), g["sku"]
        else:
            rlabel = clean(g["resource_name"]) if g.get("resource_name") else ""
            rlabel = rlabel or clean_or_placeholder(g["resource_id"] or "")
            key = g["sku"] + "\x1f" + g["resource_id"]
            ti = fit(clean_or_placeholder(g["sku"]) + "-" + rlabel, key)
        tis.append(ti)
        keys.append(key)
        owners.append(g["project_id"])
    tis = uniquify(tis, keys, owners)
    return [(plabels[g["project_id"]], ti) for g, ti in zip(groups, tis)]


def expected_series(dataset, org, request, group_by, label_mode="name", currency="EUR",
                    project_ids=None):
    """{(plugin_instance, type_instance): nanos} plus the total, for the
    window the plugin actually asked for (a request, or a (start, end)
    window)."""
    start, end = request if isinstance(request, tuple) else window_of(request)
    exp = finops_sim.expected_sums(dataset, org, start, end, group_by,
                                   project_ids=project_ids)
    groups = [g for g in exp["groups"] if g["currency"] == currency]
    series = {}
    if group_by != "organization":
        for g, name in zip(groups, expected_names(groups, group_by, label_mode)):
            series[name] = g["nanos"]
    series[("", "total")] = exp["currency_totals"].get(currency, 0)
    return series


# ---- what was published, read by read ---------------------------------------

def windows(sim, org, complete=False):
    """The distinct windows the plugin asked for about org, oldest first;
    complete: only those of walks that got their last page (a 200 without a
    next token). sim: a Simulator or its charge requests."""
    out = []
    for r in sim.charge_requests() if isinstance(sim, Simulator) else sim:
        if r["query"].get("organization_id", [None])[0] != org:
            continue
        if complete and not (r["status"] == 200 and r["token_out"] is None):
            continue
        if window_of(r) not in out:
            out.append(window_of(r))
    return out


def walk_pages(sim, window):
    """The page-1.. requests of one walk, in order."""
    return [r for r in sim.charge_requests() if window_of(r) == window]


def period_of(ts):
    return time.strftime("%Y-%m", time.gmtime(ts))


def months_of_read(ts):
    """The billing periods a read at ts may publish: its own month's, or in
    the second after midnight the closing month's (the plugin compares the
    month of time() at the start of the read; dispatch comes just after)."""
    return {period_of(ts), period_of(ts - 1)}


def split_reads(points, gap=0.5):
    """[(time, {key: value})]: points ({key: [(time, value)]}, each list in
    the order written) grouped by the read that dispatched them. A read
    dispatches each series once, within milliseconds, and reads are
    Interval (1 s) apart, except that a read which took longer than the
    interval (the first one waits for the first refresh) is followed at once
    by the next, in the same millisecond: within such a burst a key's n-th
    value belongs to the n-th read."""
    flat = sorted(((t, key, v) for key, pts in points.items() for t, v in pts),
                  key=lambda p: p[0])
    bursts = []
    for t, key, v in flat:
        if not bursts or t - bursts[-1][-1][0] > gap:
            bursts.append([])
        bursts[-1].append((t, key, v))
    reads = []
    for burst in bursts:
        seen, split = {}, []
        for t, key, v in burst:
            n = seen[key] = seen.get(key, -1) + 1
            if n == len(split):
                split.append((t, {}))
            split[n][1][key] = v
        reads += split
    return reads


class Expected:
    """The exact series of one organization for any window, memoised: the
    oracle for what one read may publish."""

    def __init__(self, dataset, org, group_by, label_mode="name", currency="EUR",
                 project_ids=None):
        self.dataset = dataset if isinstance(dataset, finops_sim.Dataset) \
            else finops_sim.Dataset(dataset)
        self.args = (org, group_by, label_mode, currency, project_ids)
        self.cache = {}

    def __call__(self, window):
        if window not in self.cache:
            org, group_by, label_mode, currency, project_ids = self.args
            self.cache[window] = expected_series(self.dataset, org, window, group_by,
                                                 label_mode, currency, project_ids)
        return self.cache[window]

    def mismatches(self, values, window, tolerance, subset=False):
        """What differs between a read's values and the window's series."""
        want = self(window)
        tol = tolerance(want) if callable(tolerance) else tolerance
        out = ["missing %s" % (k,) for k in want if k not in values and not subset]
        out += ["unexpected %s" % (k,) for k in values if k not in want]
        out += ["%s = %r, want %r" % (k, v, want[k] / NANOS) for k, v in values.items()
                if k in want and abs(v - want[k] / NANOS) > tol]
        return out

    def match(self, values, windows_, tolerance, subset=False):
        """The newest window whose series the values equal exactly (same
        keys, each value within tolerance), or None. subset: the values may
        lack series (a read cut short by collectd's shutdown)."""
        for window in reversed(windows_):
            if not self.mismatches(values, window, tolerance, subset):
                return window
        return None

    def explain(self, values, windows_, tolerance):
        if not windows_:
            return "no window of that month was walked"
        best = min(windows_, key=lambda w: len(self.mismatches(values, w, tolerance)))
        return "closest window %s: %s" % (best, self.mismatches(values, best, tolerance)[:5])


def check_reads(reads, expect, windows_, tolerance, what, partial_last=False):
    """Every read published exactly the series of one window the plugin
    walked, of the month the read was made in (or, before the month's first
    walk, the empty month): no partial or mixed sums, no closing month's
    numbers after midnight. Returns the matched windows.
    partial_last: the last read may lack series (collectd drops values still
    queued when it stops)."""
    matched = []
    for i, (t, values) in enumerate(reads):
        candidates = [w for w in windows_ if w[0][:7] in months_of_read(t)]
        # Before a month's first walk the plugin publishes it as empty: total
        # 0, the exact sums of [1st 00:00:00Z, 1st 00:00:00Z), never asked.
        # Only then: a 0 read long after the month's first walk fails.
        for month in sorted(months_of_read(t)):
            ends = [finops_sim.parse_ts(w[1]) / NANOS for w in candidates
                    if w[0][:7] == month]
            if not ends or t < min(ends) + 5:
                candidates.insert(0, (month + "-01T00:00:00Z",) * 2)
        subset = partial_last and i == len(reads) - 1
        window = expect.match(values, candidates, tolerance, subset)
        assert window is not None, "%s: the read at %s matches no window walked in its " \
            "month; %s" % (what, finops_sim.format_ts(int(t * 1e9)),
                           expect.explain(values, candidates, tolerance))
        matched.append(window)
    return matched


def wait_published(reads_fn, expect, windows_fn, tolerance, what, timeout=30):
    """Polls until one of the two newest reads (reads_fn()) equals the
    series of a complete walk (windows_fn()) of its month. Returns (time,
    values, window). The newest read may still be arriving (write_http and
    write_graphite send in chunks); the one before it is whole."""
    last = {}

    def newest_matches():
        windows_ = windows_fn()
        for t, values in reversed(reads_fn()[-2:]):
            candidates = [w for w in windows_ if w[0][:7] in months_of_read(t)]
            last.update(values=values, candidates=candidates)
            window = expect.match(values, candidates, tolerance)
            if window:
                return t, values, window
        return None
    try:
        return wait_for(newest_matches, timeout, "%s: the exact sums of a walk" % what)
    except AssertionError as err:
        detail = expect.explain(last["values"], last["candidates"], tolerance) \
            if last else "nothing published"
        raise AssertionError("%s; %s" % (err, detail)) from None


# ---- receivers --------------------------------------------------------------

class GraphiteListener:
    """Collects plaintext Graphite lines sent by write_graphite."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        buf = b""
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                *done, buf = buf.split(b"\n")
                with self.lock:
                    self.lines.extend(line.decode() for line in done)

    def latest(self):
        """{metric path: last value}."""
        with self.lock:
            lines = list(self.lines)
        values = {}
        for line in lines:
            parts = line.split(" ")
            if len(parts) == 3:
                values[parts[0]] = float(parts[1])
        return values

    def cost_points(self, node):
        """{(plugin_instance, type_instance): [(time, value)]} of the cost
        series under collectd.<node>. (times are whole seconds)."""
        prefix = "collectd.%s." % node
        with self.lock:
            lines = list(self.lines)
        out = {}
        for line in lines:
            parts = line.split(" ")
            if len(parts) != 3 or not parts[0].startswith(prefix):
                continue
            plugin, _, type_ = parts[0][len(prefix):].partition(".")
            # "currency" or "currency-*", never the previous month's
            # "currency_previous-*"
            if not (plugin.startswith("scw_finops") and
                    (type_ == "currency" or type_.startswith("currency-"))):
                continue
            key = (plugin[len("scw_finops-"):], type_[len("currency-"):])
            out.setdefault(key, []).append((float(parts[2]), float(parts[1])))
        return out

    def close(self):
        self.sock.close()


class JsonListener:
    """Receives write_http's JSON posts; keeps every value list."""

    def __init__(self):
        self.lists = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.lists.extend(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def costs(self, host):
        """{(plugin_instance, type_instance): value list} of currency series."""
        with self.lock:
            lists = list(self.lists)
        return {(v["plugin_instance"], v["type_instance"]): v for v in lists
                if v["type"] == "currency" and v["host"] == host}

    def cost_lists(self, host):
        """{(plugin_instance, type_instance): [value list]} of every currency
        value list received, in order."""
        with self.lock:
            lists = list(self.lists)
        out = {}
        for v in lists:
            if v["type"] == "currency" and v["host"] == host:
                out.setdefault((v["plugin_instance"], v["type_instance"]), []).append(v)
        return out

    def cost_points(self, host):
        """{(plugin_instance, type_instance): [(time, value)]}."""
        return {key: [(v["time"], v["values"][0]) for v in lists]
                for key, lists in self.cost_lists(host).items()}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _csv_rows(path):
    """[(time, value)] of one csv file (header skipped)."""
    with open(path) as fh:
        rows = [r.split(",") for r in fh.read().splitlines()[1:] if r]
    return [(float(r[0]), float(r[1])) for r in rows]


def read_csv_cost_points(datadir, host):
    """{(plugin_instance, type_instance): [(time, value)]} of every cost value
    the csv plugin wrote, oldest first. csv starts a file per series and day,
    so a run that passes midnight has two."""
    out = {}
    hostdir = os.path.join(datadir, host)
    if not os.path.isdir(hostdir):
        return out
    for pdir in os.listdir(hostdir):
        if not pdir.startswith("scw_finops"):
            continue
        pinst = pdir[len("scw_finops-"):] if pdir.startswith("scw_finops-") else ""
        for fname in sorted(os.listdir(os.path.join(hostdir, pdir))):
            stem = fname[:-len("-YYYY-MM-DD")]
            if not (stem == "currency" or stem.startswith("currency-")):
                continue
            tinst = stem[len("currency-"):] if stem.startswith("currency-") else ""
            out.setdefault((pinst, tinst), []).extend(
                _csv_rows(os.path.join(hostdir, pdir, fname)))
    return {key: sorted(rows, key=lambda r: r[0]) for key, rows in out.items() if rows}


def read_csv_cost_rows(datadir, host):
    """{(plugin_instance, type_instance): [every value written]} of the cost
    series, from the csv plugin's files."""
    return {key: [v for _, v in rows]
            for key, rows in read_csv_cost_points(datadir, host).items()}


def read_csv_costs(datadir, host):
    """{(plugin_instance, type_instance): last value} from the csv plugin."""
    return {key: rows[-1] for key, rows in read_csv_cost_rows(datadir, host).items()}


def read_csv_value(datadir, host, pinst, type_, tinst):
    """Last value of one series in the csv plugin's files, or None."""
    pdir = "scw_finops" + ("-" + pinst if pinst else "")
    prefix = type_ + ("-" + tinst if tinst else "") + "-"
    d = os.path.join(datadir, host, pdir)
    if not os.path.isdir(d):
        return None
    rows = []
    for fname in os.listdir(d):
        if fname.startswith(prefix) and len(fname) == len(prefix) + 10:
            rows += _csv_rows(os.path.join(d, fname))
    return max(rows)[1] if rows else None


# ---- collectd ---------------------------------------------------------------

def org_block(name, org_id, url, secret=SECRET, **options):
    """One <Organization> block. Tests start their organizations at once
    (StartupSpread 0) unless they say otherwise."""
    options.setdefault("StartupSpread", 0)
    lines = ['  <Organization "%s">' % name,
             '    OrganizationID "%s"' % org_id,
             '    URL "%s"' % url]
    if secret is not None:
        lines.append('    SecretKey "%s"' % secret)
    for key, value in options.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            rendered = v if isinstance(v, (int, bool)) and not isinstance(v, str) else '"%s"' % v
            if isinstance(v, bool):
                rendered = "true" if v else "false"
            lines.append("    %s %s" % (key, rendered))
    lines.append("  </Organization>")
    return "\n".join(lines)


def past_month_start():
    """Waits (at most 3 s) while the first refresh of a collectd started now
    could ask for the empty window [1st 00:00:00Z, 1st 00:00:00Z): in the
    month's first second, or in the 1.5 s before it (start-up time).
    Nothing can be paginated or summed in an empty window."""
    def clear():
        now = time.time()
        start, end = (b / NANOS for b in finops_sim.month_bounds(int(now * NANOS)))
        return now >= start + 1 and now < end - 1.5
    wait_for(clear, 3, "the first second of the month to pass")


class Collectd:
    """Writes a config for the plugin plus chosen writers and runs collectd."""

    def __init__(self, work, blocks, interval=1, csv=True, graphite_port=None,
                 json_port=None, raw_plugin_config=None, extra_conf=None):
        self.work = work
        self.plugindir = work.file("plugins")
        os.makedirs(self.plugindir, exist_ok=True)
        # PluginDir is one directory and collectd refuses symlinked modules.
        shutil.copy(plugin_so(), self.plugindir)
        wanted = ["logfile"] + (["csv"] if csv else [])
        wanted += ["write_graphite"] if graphite_port else []
        wanted += ["write_http"] if json_port else []
        for name in wanted:
            shutil.copy(os.path.join(STOCK_PLUGINS, name + ".so"), self.plugindir)
        self.csvdir = work.file("csv")
        self.logfile = work.file("collectd.log")
        types = os.path.join(TOP_SRCDIR, "conf", "scw_finops.types.db")
        conf = [
            'Hostname "it-host"', "FQDNLookup false",
            'BaseDir "%s"' % work.path, 'PluginDir "%s"' % self.plugindir,
            'TypesDB "%s" "%s"' % (TYPES_DB, types),
            "Interval %s" % interval,
            # csv creates a series' file with stat() then fopen("w"): two write
            # threads writing its first values at once lose or garble a row.
            "WriteThreads 1",
            "LoadPlugin logfile",
            "<Plugin logfile>\n  LogLevel info\n  File \"%s\"\n  Timestamp true\n</Plugin>" % self.logfile,
        ]
        if csv:
            conf += ["LoadPlugin csv", '<Plugin csv>\n  DataDir "%s"\n</Plugin>' % self.csvdir]
        if graphite_port:
            conf += ["<LoadPlugin write_graphite>\n  FlushInterval 1\n</LoadPlugin>",
                     "<Plugin write_graphite>\n  <Node \"it\">\n    Host \"127.0.0.1\"\n"
                     "    Port \"%d\"\n    Prefix \"collectd.\"\n  </Node>\n</Plugin>" % graphite_port]
        if json_port:
            conf += ["<LoadPlugin write_http>\n  FlushInterval 1\n</LoadPlugin>",
                     "<Plugin write_http>\n  <Node \"it\">\n    URL \"http://127.0.0.1:%d/\"\n"
                     "    Format \"JSON\"\n    StoreRates false\n  </Node>\n</Plugin>" % json_port]
        if extra_conf:
            conf += [extra_conf] if isinstance(extra_conf, str) else list(extra_conf)
        conf += ["LoadPlugin scw_finops"]
        body = raw_plugin_config if raw_plugin_config is not None else "\n".join(blocks)
        conf += ["<Plugin scw_finops>\n%s\n</Plugin>" % body]
        self.conf = work.file("collectd.conf")
        with open(self.conf, "w") as fh:
            fh.write("\n".join(conf) + "\n")
        self.proc = None

    def env(self, extra=None):
        env = dict(os.environ)
        env.setdefault("SCW_FINOPS_MIN_REFRESH_INTERVAL", "1")
        env.update(extra or {})
        return env

    def run_once(self, timeout=60, env=None):
        """collectd -T: init, one read, shutdown. Returns (rc, output)."""
        past_month_start()
        res = subprocess.run([COLLECTD, "-T", "-C", self.conf], capture_output=True,
                             text=True, timeout=timeout, env=self.env(env))
        return res.returncode, res.stdout + res.stderr + self.log()

    def start(self, env=None):
        past_month_start()
        self.out = open(self.work.file("collectd.out"), "w")
        self.proc = subprocess.Popen([COLLECTD, "-f", "-C", self.conf], stdout=self.out,
                                     stderr=subprocess.STDOUT, env=self.env(env))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        took = stop_pid(self.proc, timeout=15)
        self.out.close()
        return took

    def log(self):
        try:
            with open(self.logfile) as fh:
                return fh.read()
        except FileNotFoundError:
            return ""


# ---- TAP runner -------------------------------------------------------------

def run(tests):
    """Runs test functions in order, printing TAP. Exit 0 iff none failed."""
    only = os.environ.get("SCW_TEST", "").replace(",", " ").split()
    unwanted = os.environ.get("SCW_TEST_EXCEPT", "").replace(",", " ").split()
    unknown = set(only) - {fn.__name__ for fn in tests}  # SCW_TEST_EXCEPT may name others
    assert not unknown, "no such test: %s" % " ".join(sorted(unknown))
    tests = [fn for fn in tests if (not only or fn.__name__ in only)
             and fn.__name__ not in unwanted]
    if FAKETIME_AT and not UNDER_FAKETIME:
        sys.exit(run_faked(tests, FAKETIME_AT))
    print("1..%d" % len(tests), flush=True)
    failed = 0
    for i, fn in enumerate(tests, 1):
        name = fn.__name__
        if UNDER_FAKETIME:  # say when, in the faked clock, the test started
            name += " [%s UTC]" % time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        work = Workdir()
        try:
            fn(work)
            print("ok %d - %s" % (i, name), flush=True)
            work.cleanup()
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, name, e), flush=True)
            work.cleanup()
        except Exception:  # noqa: BLE001 - any failure is a failed test
            failed += 1
            print("not ok %d - %s" % (i, name), flush=True)
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            print("# work dir kept: %s" % work.path, flush=True)
    sys.exit(1 if failed else 0)


def faketime_lib():
    """libfaketimeMT.so.1 (the thread-safe variant: collectd is threaded):
    SCW_FAKETIME_LIB, else where Debian's libfaketime package put it."""
    lib = os.environ.get("SCW_FAKETIME_LIB")
    if not lib:
        try:
            files = subprocess.run(["dpkg-query", "-L", "libfaketime"], capture_output=True,
                                   text=True, timeout=30).stdout.split()
        except FileNotFoundError:
            files = []
        lib = next((f for f in files if f.endswith("/libfaketimeMT.so.1")), None)
    if not lib or not os.path.exists(lib):
        raise Skip("libfaketime is not installed (Debian package libfaketime)")
    return lib


def faketime_env(at, lib):
    """The environment of one faked test: its clock starts at `at` (UTC)
    when the test starts and advances in real time. DONT_RESET: the
    simulator, generator and collectd it starts share that clock instead of
    each starting at `at`. DONT_FAKE_MONOTONIC: monotonic clocks stay real,
    so the plugin's deadlines and Python's lock timeouts keep working.
    FORCE_MONOTONIC_FIX=0: on glibc >= 2.30 libfaketime 0.9.10 otherwise
    shifts the deadline of a CLOCK_MONOTONIC condition variable by the fake
    offset although monotonic time is not faked, and every timed wait of the
    plugin's worker returns at once (it then refreshes in a loop).
    collectd's own waits are on CLOCK_REALTIME deadlines, which libfaketime
    translates."""
    env = dict(os.environ, FAKETIME="@" + at, FAKETIME_DONT_RESET="1",
               FAKETIME_DONT_FAKE_MONOTONIC="1", FAKETIME_FORCE_MONOTONIC_FIX="0",
               TZ="UTC")
    env["LD_PRELOAD"] = ":".join(p for p in (lib, os.environ.get("LD_PRELOAD")) if p)
    return env


def run_faked(tests, at, timeout=1800):
    """Runs the tests in one process under libfaketime, its clock starting at
    `at` (UTC): the first test starts at that instant, the next ones when the
    previous ended (so at 23:59:50 one of them passes midnight and the next
    ones start a new month). Relays its TAP; returns the exit status."""
    try:
        lib = faketime_lib()
    except Skip as e:
        print("1..%d" % len(tests), flush=True)
        for i, fn in enumerate(tests, 1):
            print("ok %d - %s [%s UTC] # SKIP %s" % (i, fn.__name__, at, e), flush=True)
        return 0
    print("# faketime: clock started at %s UTC (%s)" % (at, lib), flush=True)
    proc = subprocess.Popen([sys.executable, sys.argv[0]], env=faketime_env(at, lib),
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGTERM))
    timer.start()  # a hung test: SIGTERM to its own session only
    results = 0
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            results += bool(re.match(r"(ok|not ok) \d+ ", line))
        rc = proc.wait()
    finally:
        timer.cancel()
        forget_faketime_shm(proc.pid)
    for i in range(results + 1, len(tests) + 1):  # the process died early
        print("not ok %d - %s [%s UTC] (exit status %s)" % (i, tests[i - 1].__name__, at, rc))
    return 1 if rc != 0 or results < len(tests) else 0


def forget_faketime_shm(pid):
    """libfaketime's shared clock lives in /dev/shm under the first faked
    process's PID (the test's); Python does not remove it at exit."""
    for path in ("/dev/shm/faketime_shm_%d" % pid, "/dev/shm/sem.faketime_sem_%d" % pid):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


# ---- system tests: ports, artifacts, Grafana dashboards ---------------------

def free_port(udp=False):
    """A port the kernel just handed out on 127.0.0.1 (closed again at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def keep_artifact(path, work=None):
    """Copies a test artifact into the work dir and, when SCW_KEEP_ARTIFACTS
    names a directory, into that directory. Returns the copies."""
    copies = []
    for d in (work.path if work is not None else None, os.environ.get("SCW_KEEP_ARTIFACTS")):
        if d:
            os.makedirs(d, exist_ok=True)
            dest = os.path.join(d, os.path.basename(path))
            if os.path.abspath(dest) != os.path.abspath(path):
                shutil.copy(path, dest)
            copies.append(dest)
    return copies


def dashboard_targets(path):
    """[(panel title, target dict)] of every non-hidden query of a Grafana
    dashboard JSON, rows' nested panels included."""
    with open(path) as fh:
        dash = json.load(fh)
    out = []

    def walk(panels):
        for panel in panels:
            walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                if not target.get("hide"):
                    out.append((panel.get("title", ""), target))
    walk(dash.get("panels", []))
    return dash, out


def grafana_substitute(text, values):
    """Replaces Grafana variables ($name, ${name}, [[name]]) by values[name];
    fails on any variable left unknown."""
    import re
    for name in sorted(values, key=len, reverse=True):
        for form in ("${%s}" % name, "[[%s]]" % name, "$" + name):
            text = text.replace(form, str(values[name]))
    left = re.findall(r"\$\{?[A-Za-z_]\w*|\[\[\w+\]\]", text)
    assert not left, "unsubstituted Grafana variables %s in %r" % (left, text)
    return text


def month_boundary_history(now, days=35, step=600, refresh_at=1800):
    """A synthetic month-to-date series crossing at least one month start,
    shaped like the plugin's output: spend accrues evenly over each UTC day
    (10 + 1.25 * (day % 7) + 0.01 * month EUR), a refresh lands at minute 30
    of every hour, points are dispatched every `step` seconds and carry the
    month-to-date value of the latest refresh of the same month (0 before
    the first refresh of a month). Returns [(unix ts, value)]."""
    import datetime as dt
    utc = dt.timezone.utc

    def daily(day):
        return 10 + 1.25 * (day.day % 7) + 0.01 * day.month

    def mtd_at(ts):  # month-to-date value published by the refresh at ts
        t = dt.datetime.fromtimestamp(ts, utc)
        day = dt.date(t.year, t.month, 1)
        total = 0.0
        while day < t.date():
            total += daily(day)
            day += dt.timedelta(days=1)
        return total + daily(t.date()) * (ts % 86400) / 86400

    points = []
    start = (int(now) - days * 86400) // step * step
    for ts in range(start, int(now) - 120, step):
        last_refresh = (ts - refresh_at) // 3600 * 3600 + refresh_at
        t = dt.datetime.fromtimestamp(ts, utc)
        month_start = dt.datetime(t.year, t.month, 1, tzinfo=utc).timestamp()
        points.append((ts, mtd_at(last_refresh) if last_refresh >= month_start else 0.0))
    return points


def daily_spend(points):
    """{UTC day start ts: the day's spend} as the dashboards define it: the
    last month-to-date value of the day minus the last one of the day before,
    or the last value itself on the 1st of a month. The first day of the
    points (no day before it) is left out."""
    import datetime as dt
    last = {}
    for ts, value in sorted(points):
        last[ts - ts % 86400] = value
    out = {}
    for day, value in last.items():
        if dt.datetime.fromtimestamp(day, dt.timezone.utc).day == 1:
            out[day] = value
        elif day - 86400 in last:
            out[day] = value - last[day - 86400]
    return out


def main(argv):
    """python3 harness.py faketime "YYYY-MM-DD hh:mm:ss" CMD...: runs CMD (a
    cmocka test printing TAP) with the tests' libfaketime set-up, adding the
    instant to the names of its results. Returns CMD's exit status."""
    if len(argv) < 3 or argv[0] != "faketime":
        print(main.__doc__, file=sys.stderr)
        return 2
    at = argv[1]
    proc = subprocess.Popen(argv[2:], env=faketime_env(at, faketime_lib()),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        line = line.rstrip("\n")
        result = re.match(r"((?:not )?ok \d+ - .*?)( # .*)?$", line)
        print("%s [%s UTC]%s" % (result.group(1), at, result.group(2) or "")
              if result else line, flush=True)
    rc = proc.wait()
    forget_faketime_shm(proc.pid)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
