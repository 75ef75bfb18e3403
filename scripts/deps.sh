#!/bin/sh
# Installs the Debian 12 packages needed to build scw_finops, run collectd
# with it, and run the whole test suite. Run as root.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential autoconf automake libtool pkg-config \
  collectd-core collectd-dev libcurl4-openssl-dev libjson-c-dev \
  libcmocka-dev libyajl2 python3 ca-certificates curl openssl >/dev/null
