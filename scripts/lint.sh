#!/bin/sh
# SPDX-License-Identifier: MIT
# Static analysis: cppcheck over the plugin and the unit tests. Exit 1 on any
# finding. (collectd's headers need the byte order spelled out for cppcheck.)
set -eu
cd "$(dirname "$0")/.."
cppcheck --enable=warning,style,performance,portability --std=c11 --quiet \
  --error-exitcode=1 --inline-suppr \
  -I plugin -I /usr/include/collectd/core/daemon -I /usr/include/collectd/core \
  -I /usr/include/collectd -DHAVE_CONFIG_H -DBYTE_ORDER=1234 -DBIG_ENDIAN=4321 \
  -DLITTLE_ENDIAN=1234 -DFP_LAYOUT_NEED_NOTHING=1 -DDATA_MAX_NAME_LEN=128 \
  --suppress=missingIncludeSystem --suppress=missingInclude \
  plugin tests/unit tests/forecast

# Licence: every source file carries an SPDX line (MIT, as LICENSE).
missing=$(git ls-files 2>/dev/null | grep -E '\.(c|h|py|sh|jq|am|ac|spec|db|conf|yml)$|^\.ci/run$|/rules$' |
  grep -v '^tests/fuzz/\(corpus\|regressions\)/' | while read -r f; do
    head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"; done)
if [ -n "$missing" ]; then
  echo "no SPDX-License-Identifier line in:"; echo "$missing"; exit 1
fi

# Unbounded string copies: use snprintf, memcpy with a known length, or
# collectd's sstrncpy instead.
unbounded=$(grep -nE '\b(strcpy|strcat|sprintf|gets)\(' plugin/*.c plugin/*.h tests/unit/*.c \
  tests/fuzz/*.c bench/*.c 2>/dev/null || true)
if [ -n "$unbounded" ]; then
  echo "unbounded string functions:"; echo "$unbounded"; exit 1
fi
