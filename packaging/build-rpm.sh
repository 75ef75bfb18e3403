#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: sh packaging/build-rpm.sh OUTDIR
# Builds the binary RPM collectd-scw-finops from `make dist`'s tarball (see
# dist.sh) with rpmbuild -bb, and leaves the .rpm and the build log in OUTDIR.
# The version is the tarball's (AC_INIT's), passed to the spec.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/SOURCES"
tarball=$(sh "$here/dist.sh" "$tmp/SOURCES")
version=$(basename "$tarball" .tar.gz)
version=${version#scw_finops-}
# On Debian the rpm database is empty: BuildRequires cannot be checked.
nodeps=
[ -f /etc/debian_version ] && nodeps=--nodeps
log="$out/build-rpm.log"
if ! rpmbuild -bb $nodeps --define "_topdir $tmp" \
     --define "scw_version $version" \
     "$here/rpm/collectd-scw-finops.spec" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "$0: rpmbuild failed; full log in $log" >&2
  exit 1
fi
find "$tmp/RPMS" -name 'collectd-scw-finops-*.rpm' -exec cp {} "$out/" \;
ls "$out"/collectd-scw-finops-*.rpm
