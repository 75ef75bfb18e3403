#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The real collectd with the plugin under valgrind memcheck, for several
refresh cycles including faults (HTTP 500 mid-walk, a malformed page, a
pagination loop) and a clean shutdown: no memory error and nothing
definitely lost in a stack that goes through scw_finops code."""

import re
import shutil
import subprocess

import harness as h

FAULTS = [{"kind": "status", "status": 500, "page": 2, "times": 1},
          {"kind": "malformed", "page": 2, "times": 1},
          {"kind": "repeat_token", "page": 2, "times": 1}]


def blocks_in(log):
    """valgrind's report split into blocks (one error or leak record each)."""
    body = [re.sub(r"^==\d+== ?", "", line) for line in log.splitlines()]
    out, cur = [], []
    for line in body:
        if line.strip():
            cur.append(line)
        elif cur:
            out.append("\n".join(cur))
            cur = []
    if cur:
        out.append("\n".join(cur))
    return out


def test_memcheck_clean(work):
    if shutil.which("valgrind") is None:
        raise h.Skip("valgrind is not installed")
    h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"), faults=FAULTS)
    vlog = work.file("valgrind.log")
    # acme holds about 150 charges even in the first second of a month, so
    # pages of 100 make a page 2 for the faults at any date.
    cd = h.Collectd(work, [h.org_block("acme", h.ORG1, sim.url, RefreshInterval=1,
                                       MaxRetries=0, PageSize=100)])
    cd.out = open(work.file("collectd.out"), "w")
    cd.proc = subprocess.Popen(
        ["valgrind", "--leak-check=full", "--show-leak-kinds=definite",
         "--errors-for-leak-kinds=definite", "--num-callers=30", "--log-file=" + vlog,
         h.COLLECTD, "-f", "-C", cd.conf],
        stdout=cd.out, stderr=subprocess.STDOUT, env=cd.env())
    try:
        h.wait_for(lambda: sum(1 for r in sim.charge_requests() if r["page"] == 1) >= 6,
                   120, "six refresh cycles under valgrind")
        h.wait_for(lambda: ("", "total") in h.read_csv_costs(cd.csvdir, "acme"), 60,
                   "a published total")
    finally:
        took = h.stop_pid(cd.proc, timeout=60)
        cd.out.close()
        sim.stop()
    assert took < 60, "collectd under valgrind did not stop"
    with open(vlog) as fh:
        log = fh.read()
    ours = [b for b in blocks_in(log)
            if "scw_" in b and ("definitely lost" in b or "Invalid" in b or
                                "uninitialised" in b or "Mismatched" in b)]
    assert not ours, "valgrind found problems in scw_finops code:\n\n" + "\n\n".join(ours)
    summary = re.search(r"definitely lost: ([\d,]+) bytes", log)
    print("# valgrind: %s" % (summary.group(0) if summary else "no leaks summary"))
    assert "refresh failed" in cd.log(), "the faults were not exercised"


if __name__ == "__main__":
    h.run([test_memcheck_clean])
