#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages scw_finops needs. Run as root.
#   sh scripts/deps.sh        everything: build, tests, packaging, system tests,
#                             fuzzing and benchmark tools (what CI installs)
#   sh scripts/deps.sh run    only what building and running the plugin needs
set -eu
export DEBIAN_FRONTEND=noninteractive
run="build-essential autoconf automake libtool pkg-config collectd-core collectd-dev
  libcurl4-openssl-dev libjson-c-dev python3 ca-certificates curl openssl
  libyajl2"
tests="libcmocka-dev faketime clang valgrind cppcheck libclang-rt-14-dev libfuzzer-14-dev"
packaging="debhelper dpkg-dev fakeroot lintian rpm"
system="graphite-carbon python3-whisper graphite-web influxdb influxdb-client prometheus libmicrohttpd12 libprotobuf-c1"
bench="jq nginx-light"
case "${1:-all}" in
  run) pkgs="$run" ;;
  all) pkgs="$run $tests $packaging $system $bench" ;;
  *) echo "usage: $0 [run|all]" >&2; exit 2 ;;
esac
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
