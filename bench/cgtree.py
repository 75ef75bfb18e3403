# SPDX-License-Identifier: MIT
"""cgtree.py - reads a callgrind output file (Ir only) into self costs and
call-edge inclusive costs, so that a profile can be cut along the call tree
(what kcachegrind shows) instead of by flat function totals.

    python3 cgtree.py FILE [ROOT [DEPTH [MIN_FRACTION]]]   # prints a tree
"""
import re
import sys
from collections import defaultdict

_NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")


class Profile:
    def __init__(self, path):
        self.self_cost = defaultdict(int)      # fn -> exclusive Ir
        self.edges = defaultdict(int)          # (caller, callee) -> inclusive Ir
        self.calls = defaultdict(int)          # (caller, callee) -> call count
        self.total = 0
        names = {"fn": {}}
        fn = None
        cfn = None
        pending_call = False
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                c0 = line[0]
                if c0.isdigit() or c0 in "+-*":
                    parts = line.split()
                    cost = int(parts[1]) if len(parts) > 1 else 0
                    if pending_call:
                        self.edges[(fn, cfn)] += cost
                        pending_call = False
                    else:
                        self.self_cost[fn] += cost
                    continue
                key, _, val = line.partition("=")
                if key in ("fn", "cfn"):
                    m = _NAME.match(val)
                    if m:
                        ident, name = m.group(1), m.group(2)
                        if name is not None:
                            names["fn"][ident] = name
                        name = names["fn"][ident]
                    else:
                        name = val
                    if key == "fn":
                        fn = name
                    else:
                        cfn = name
                elif key == "calls":
                    pending_call = True
                    self.calls[(fn, cfn)] += int(val.split()[0])
                elif line.startswith("summary:") or line.startswith("totals:"):
                    self.total = int(line.split()[1])
        if not self.total:
            self.total = sum(self.self_cost.values())
        self.children = defaultdict(dict)
        for (a, b), v in self.edges.items():
            self.children[a][b] = v

    def inclusive(self, fn):
        """Self cost plus calls out of fn (recursive calls into fn itself are
        part of the call edge, so this is exact for non-recursive fn)."""
        return self.self_cost.get(fn, 0) + sum(
            v for b, v in self.children.get(fn, {}).items() if b != fn)

    def edge(self, caller, callee):
        return self.edges.get((caller, callee), 0)

    def selfs(self, predicate):
        return sum(v for k, v in self.self_cost.items() if predicate(k))

    def tree(self, root, depth=3, min_frac=0.01, out=sys.stdout, scale=1.0):
        root_cost = self.inclusive(root)

        def walk(fn, cost, level, seen):
            out.write("%s%-*s %12.0f  %5.1f%%\n" % (
                "  " * level, 44 - 2 * level, fn[:44 - 2 * level], cost / scale,
                100.0 * cost / root_cost if root_cost else 0))
            if level >= depth or fn in seen:
                return
            # callgrind keeps one level of context: a callee's cost below a
            # function reached from several callers is split in proportion.
            full = self.inclusive(fn)
            share = cost / full if full else 0.0
            kids = sorted(self.children.get(fn, {}).items(), key=lambda kv: -kv[1])
            for kid, v in kids:
                v = v * share
                if v < min_frac * root_cost or kid == fn:
                    continue
                walk(kid, v, level + 1, seen | {fn})
            own = self.self_cost.get(fn, 0) * share
            if own >= min_frac * root_cost and self.children.get(fn):
                out.write("%s%-*s %12.0f  %5.1f%%\n" % (
                    "  " * (level + 1), 44 - 2 * (level + 1), "(self)", own / scale,
                    100.0 * own / root_cost))

        walk(root, root_cost, 0, frozenset())


if __name__ == "__main__":
    p = Profile(sys.argv[1])
    root = sys.argv[2] if len(sys.argv) > 2 else "bench_work"
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    frac = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    p.tree(root, depth, frac)
