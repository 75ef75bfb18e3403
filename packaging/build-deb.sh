#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: sh packaging/build-deb.sh OUTDIR
# Builds the Debian package collectd-scw-finops from `make dist`'s tarball
# (see dist.sh) with packaging/debian at its root, and leaves the .deb and
# the build log in OUTDIR. debian/changelog is written here, with the version
# of the tarball (AC_INIT's) plus Debian revision 1 and the Maintainer of
# debian/control. DEB_BUILD_OPTIONS passes through (nocheck skips make check).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tarball=$(sh "$here/dist.sh" "$tmp")
version=$(basename "$tarball" .tar.gz)
version=${version#scw_finops-}
# The orig tarball is not needed for -b, but lets the same tree build a
# source package too.
cp "$tarball" "$tmp/collectd-scw-finops_$version.orig.tar.gz"
tar -C "$tmp" -xzf "$tarball"
src="$tmp/scw_finops-$version"
cp -R "$here/debian" "$src/debian"
maintainer=$(sed -n 's/^Maintainer: *//p' "$src/debian/control")
cat >"$src/debian/changelog" <<EOT
collectd-scw-finops ($version-1) unstable; urgency=medium

  * Package of scw_finops $version.

 -- $maintainer  $(date -R)
EOT
log="$out/build-deb.log"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "$0: dpkg-buildpackage failed; full log in $log" >&2
  exit 1
fi
cp "$tmp"/collectd-scw-finops_*.deb "$out/"
ls "$out"/collectd-scw-finops_*.deb
