#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: sh packaging/dist.sh OUTDIR
# Makes scw_finops-VERSION.tar.gz with `make dist` in a clean copy of the
# source and prints its path. The packages are built from this tarball, so
# they hold exactly what a release holds, and their version is the one of
# AC_INIT in configure.ac (the tarball's name), the only place it is written.
# The clean copy is git's tracked and new, not ignored, files (so an in-tree
# build or a stale configure never leaks in); outside git, the tree itself.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # --ignore-failed-read: a tracked file deleted in the work tree is skipped.
  (cd "$top" && git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf -) | tar -C "$tmp/src" -xf -
else
  (cd "$top" && tar --exclude='./_build*' -cf - .) | tar -C "$tmp/src" -xf -
fi
cd "$tmp/src"
log="$tmp/dist.log"
if ! { autoreconf -fi && mkdir _dist && cd _dist &&
       ../configure --disable-system-tests && make dist; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "$0: make dist failed" >&2
  exit 1
fi
set -- "$tmp"/src/_dist/scw_finops-*.tar.gz
[ $# -eq 1 ] && [ -f "$1" ] || { echo "$0: no tarball made" >&2; exit 1; }
cp "$1" "$out/"
echo "$out/$(basename "$1")"
