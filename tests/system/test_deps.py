#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`sh scripts/deps.sh run` must install every shared library that the
demo's plugins load (README command 1 on a fresh machine), although CI
installs everything and would hide a missing one. Proof without a fresh
machine: each library that ldd resolves for each plugin scripts/demo.sh loads
(and for scw_finops.so itself) belongs to a package in the dependency closure
of the `run` package list. Needs dpkg and apt's package lists."""

import os
import re
import shutil
import subprocess
import sys

TOP_SRCDIR = os.environ.get("SCW_TOP_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "integration"))
import harness as h  # noqa: E402

DEPS = os.path.join(h.TOP_SRCDIR, "scripts", "deps.sh")
DEMO = os.path.join(h.TOP_SRCDIR, "scripts", "demo.sh")


def need_tools():
    for tool in ("dpkg", "apt-cache", "ldd"):
        if shutil.which(tool) is None:
            raise h.Skip("%s not found (not a Debian system)" % tool)


def run_packages():
    with open(DEPS) as fh:
        text = fh.read()
    m = re.search(r'^run="([^"]*)"', text, re.M)
    assert m, "no run=\"...\" package list in scripts/deps.sh"
    return m.group(1).split()


def closure(packages):
    out = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + packages,
        capture_output=True, text=True, timeout=120)
    names = set()
    for line in out.stdout.splitlines():
        line = line.strip()
        if ":" in line and line.split(":")[0] in ("Depends", "PreDepends"):
            line = line.split(":", 1)[1].strip()
        names.add(line.strip("<>").split(":")[0])
    missing = [p for p in packages if p not in names]
    assert not missing, "apt-cache knows nothing of %s (run apt-get update)" % missing
    return names


def demo_plugins():
    with open(DEMO) as fh:
        return sorted(set(re.findall(r"^<?LoadPlugin\s+(\w+)", fh.read(), re.M)))


def owner(path):
    """The package that ships a library, trying the merged-/usr spellings."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        candidates.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    for p in candidates:
        res = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True, timeout=60)
        if res.returncode == 0:
            return res.stdout.split(":")[0].strip()
    return None


def libraries(so):
    out = subprocess.run(["ldd", so], capture_output=True, text=True, timeout=60).stdout
    assert "not found" not in out, "%s: unresolved libraries:\n%s" % (so, out)
    return [m.group(1) for m in re.finditer(r"=> (/\S+)", out)]


def test_run_packages_cover_demo_plugins(work):
    need_tools()
    allowed = closure(run_packages())
    plugins = demo_plugins()
    assert "scw_finops" in plugins and "write_log" in plugins, plugins
    problems = []
    for name in plugins:
        so = h.plugin_so() if name == "scw_finops" else os.path.join(h.STOCK_PLUGINS, name + ".so")
        assert os.path.exists(so), "%s is not installed" % so
        for lib in libraries(so):
            pkg = owner(lib)
            if pkg is None:
                problems.append("%s needs %s, which no package ships" % (name, lib))
            elif pkg not in allowed:
                problems.append("%s needs %s from %s, which `deps.sh run` does not install"
                                % (name, lib, pkg))
    assert not problems, "\n".join(problems)


if __name__ == "__main__":
    h.run([test_run_packages_cover_demo_plugins])
