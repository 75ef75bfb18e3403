#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""System test: the Debian and RPM packages.

Builds collectd-scw-finops with packaging/build-deb.sh, checks it with
lintian, installs it with apt-get and checks its files; then enables the
packaged /etc/collectd/collectd.conf.d/scw_finops.conf as its header tells a
user to (uncomment, set the organization and key file, point URL at the
simulator) and runs the stock /usr/sbin/collectd with a main config that
Includes it: the month's costs must reach the csv writer. Also builds the
RPM with packaging/build-rpm.sh and lists its files. Needs root and the
packaging tools (sh scripts/deps.sh installs them); skips otherwise."""

import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness as h  # noqa: E402

PKG = "collectd-scw-finops"
SNIPPET = "/etc/collectd/collectd.conf.d/scw_finops.conf"
STOCK_COLLECTD = "/usr/sbin/collectd"
PACKAGING = os.path.join(h.TOP_SRCDIR, "packaging")
TOLERANCE_CSV = h.CSV_TOLERANCE


def need(*tools):
    for tool in tools:
        if shutil.which(tool) is None and not os.path.exists(tool):
            raise h.Skip("%s not installed (sh scripts/deps.sh installs it)" % tool)


def need_root():
    if os.geteuid() != 0:
        raise h.Skip("needs root: installs a package with apt-get")


def cmd(args, timeout, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def ac_init_version():
    with open(os.path.join(h.TOP_SRCDIR, "configure.ac")) as fh:
        return re.search(r"AC_INIT\(\[scw_finops\],\s*\[([^\]]+)\]", fh.read()).group(1)


def build(script, work, pattern):
    """Runs a packaging script into a fresh dir; returns the one package."""
    out = work.file("out")
    # make check's jobserver is not inherited by the package build; the
    # package's own make check is skipped: these tests run in make check.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["DEB_BUILD_OPTIONS"] = "nocheck"
    res = cmd(["sh", os.path.join(PACKAGING, script), out], 900, env=env)
    assert res.returncode == 0, "%s failed:\n%s" % (script, res.stderr[-3000:])
    found = glob.glob(os.path.join(out, pattern))
    assert len(found) == 1, "expected one %s in %s, got %s" % (pattern, out, found)
    return found[0]


def enable(snippet, url, key_file):
    """The snippet's own instructions: drop the first '#' of every line below
    the dashed line, set OrganizationID and the key file; plus URL, the first
    refresh at once (not within the default 5-minute StartupSpread) and reads
    every second (not every minute), so the test takes seconds."""
    head, sep, body = snippet.partition("# " + "-" * 72 + "\n")
    assert sep, "no dashed line in the packaged snippet"
    text = "".join(line[1:] for line in body.splitlines(True))
    for old, new in (('"00000000-0000-0000-0000-000000000000"', '"%s"' % h.ORG1),
                     ('"/etc/collectd/scw_finops.key"', '"%s"' % key_file),
                     ('# URL "https://api.scaleway.com"', 'URL "%s"' % url),
                     ('# StartupSpread 300', 'StartupSpread 0'),
                     # reads never wait for the API: the first costs come one
                     # read Interval after the first refresh
                     ('  Interval 60', '  Interval 1')):
        assert text.count(old) == 1, "snippet has no single %s" % old
        text = text.replace(old, new)
    return head + text


def install_deb(deb):
    status = cmd(["dpkg-query", "-W", "-f=${Status}", PKG], 60).stdout
    if "installed" in status:  # a fresh install, with the pristine conffile
        res = cmd(["dpkg", "--purge", PKG], 300)
        assert res.returncode == 0, res.stdout + res.stderr
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    res = cmd(["apt-get", "install", "-y", "./" + os.path.basename(deb)], 600,
              cwd=os.path.dirname(deb), env=env)
    assert res.returncode == 0, "apt-get install failed:\n%s%s" % (res.stdout[-2000:], res.stderr)


def check_installed_files():
    files = set(cmd(["dpkg", "-L", PKG], 60).stdout.split())
    doc = "/usr/share/doc/%s/" % PKG
    for path in ("/usr/lib/collectd/scw_finops.so", "/usr/share/collectd/scw_finops.types.db",
                 "/usr/share/man/man5/collectd-scw_finops.5.gz", SNIPPET,
                 doc + "examples/scw_finops.conf", doc + "copyright"):
        assert path in files, "%s not installed (dpkg -L: %s)" % (path, sorted(files))
    assert {doc + "README.md", doc + "README.md.gz"} & files, "README not in " + doc
    assert not [f for f in files if f.endswith(".la")], "libtool .la file packaged"
    conffiles = cmd(["dpkg-query", "-W", "-f=${Conffiles}", PKG], 60).stdout
    assert SNIPPET in conffiles, "%s is not a conffile: %r" % (SNIPPET, conffiles)
    verify = cmd(["dpkg", "--verify", PKG], 60)
    assert verify.stdout == "", "installed files differ from the package:\n" + verify.stdout
    with open(doc + "copyright") as fh:
        copyright_text = fh.read()
    assert "License: Expat" in copyright_text and "LicenseRef" not in copyright_text, copyright_text
    ldd = cmd(["ldd", "/usr/lib/collectd/scw_finops.so"], 60).stdout
    assert "not found" not in ldd, ldd
    with open(SNIPPET) as fh:
        live = [l for l in fh.read().splitlines() if l.strip() and not l.startswith("#")]
    assert not live, "the packaged snippet is not inert: %s" % live


def run_stock_collectd(work):
    """The edited snippet, Included by a minimal main config, against the
    simulator; returns once the total is in the csv files."""
    dataset = h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"))
    key_file = work.file("scw_finops.key")
    with open(os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
        fh.write(h.SECRET + "\n")
    with open(SNIPPET) as fh:
        pristine = fh.read()
    csvdir, log = work.file("csv"), work.file("collectd.log")
    conf = work.file("collectd.conf")
    with open(conf, "w") as fh:
        fh.write('Hostname "pkg-host"\nFQDNLookup false\nBaseDir "%s"\n'
                 'PluginDir "/usr/lib/collectd"\nInterval 1\n'
                 'LoadPlugin logfile\n<Plugin logfile>\n  LogLevel info\n  File "%s"\n'
                 '</Plugin>\nLoadPlugin csv\n<Plugin csv>\n  DataDir "%s"\n</Plugin>\n'
                 'Include "%s"\n' % (work.path, log, csvdir, SNIPPET))
    proc = out = None
    try:
        with open(SNIPPET, "w") as fh:
            fh.write(enable(pristine, sim.url, key_file))
        out = open(work.file("collectd.out"), "w")
        proc = subprocess.Popen([STOCK_COLLECTD, "-f", "-C", conf], stdout=out,
                                stderr=subprocess.STDOUT)
        first = h.wait_for(lambda: sim.charge_requests(), 30, "a request from collectd")[0]
        expected = h.expected_series(dataset, h.ORG1, first, "sku")
        host = "scaleway"  # the snippet's block name
        h.wait_for(lambda: set(expected) <= set(h.read_csv_costs(csvdir, host)), 30,
                   "every cost series in %s (log: %s)" % (csvdir, log))
        got = h.read_csv_costs(csvdir, host)
        for key, nanos in expected.items():
            assert abs(got[key] - nanos / h.NANOS) <= TOLERANCE_CSV, "%s = %r, want %r" % (
                key, got[key], nanos / h.NANOS)
        assert set(got) == set(expected), "unexpected series %s" % (set(got) - set(expected))
        # Self-metrics use stock types: the snippet's TypesDB kept them.
        charges = h.wait_for(lambda: h.read_csv_value(csvdir, host, "", "count", "charges"),
                             10, "count-charges")
        assert charges > 0
        assert proc.poll() is None, "collectd exited"
    finally:
        if proc is not None:
            took = h.stop_pid(proc, timeout=15)
            assert took < 15, "collectd did not stop on SIGTERM"
        if out is not None:
            out.close()
        with open(SNIPPET, "w") as fh:
            fh.write(pristine)
        sim.stop()


def test_deb_builds_installs_and_runs(work):
    need_root()
    need("dpkg-buildpackage", "dh", "fakeroot", "lintian", "apt-get", STOCK_COLLECTD)
    deb = build("build-deb.sh", work, PKG + "_*.deb")
    version = cmd(["dpkg-deb", "-f", deb, "Version"], 60).stdout.strip()
    assert version == ac_init_version() + "-1", "deb version %s, AC_INIT %s" % (
        version, ac_init_version())
    depends = cmd(["dpkg-deb", "-f", deb, "Depends"], 60).stdout
    for dep in ("collectd-core", "libcurl", "libjson-c"):
        assert dep in depends, "Depends lacks %s: %s" % (dep, depends)
    lint = cmd(["lintian", "-I", deb], 300)
    for line in lint.stdout.splitlines():
        print("# lintian: " + line)
    errors = [l for l in lint.stdout.splitlines() if l.startswith("E:")]
    assert not errors and lint.returncode == 0, "lintian errors:\n" + lint.stdout + lint.stderr
    install_deb(deb)
    check_installed_files()
    run_stock_collectd(work)


def test_rpm_builds_with_the_files(work):
    need("rpmbuild", "rpm")
    rpm = build("build-rpm.sh", work, PKG + "-[0-9]*.rpm")
    version = cmd(["rpm", "-qp", "--qf", "%{VERSION}", rpm], 60).stdout
    assert version == ac_init_version(), "rpm version %s, AC_INIT %s" % (
        version, ac_init_version())
    licence = cmd(["rpm", "-qp", "--qf", "%{LICENSE}", rpm], 60).stdout
    assert licence == "MIT", "rpm License %r" % licence
    files = cmd(["rpm", "-qlp", rpm], 60).stdout.split()
    libdir = cmd(["rpm", "--eval", "%{_libdir}"], 60).stdout.strip()
    for path in (libdir + "/collectd/scw_finops.so", "/usr/share/collectd/scw_finops.types.db"):
        assert path in files, "%s not in the rpm: %s" % (path, files)
    assert [f for f in files if f.startswith("/usr/share/man/man5/collectd-scw_finops.5")], files
    assert "/etc/collectd.d/scw_finops.conf" in cmd(["rpm", "-qcp", rpm], 60).stdout.split()


if __name__ == "__main__":
    h.run([test_deb_builds_installs_and_runs, test_rpm_builds_with_the_files])
