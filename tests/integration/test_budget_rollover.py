#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Budget notices across a month rollover, through the real daemon (under
libfaketime from 30 November 23:59:40 UTC): with a budget every month
overruns at once, each threshold is announced exactly once for November and
exactly once again for December, never twice in a month, and the forecast
series follows the new month."""

import os
import re

os.environ.setdefault("SCW_FAKETIME", "2026-11-30 23:59:40")
import harness as h  # noqa: E402


def notices(cd):
    return re.findall(r"message = (acme: [^\n]*)", cd.log())


def test_each_threshold_once_per_month(work):
    h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"))
    block = "\n".join(['  <Organization "acme">', '    OrganizationID "%s"' % h.ORG1,
                       '    URL "%s"' % sim.url, '    SecretKey "%s"' % h.SECRET,
                       "    StartupSpread 0", "    RefreshInterval 2", "    SettlePeriod 20",
                       "    Budget 0.01", "    BudgetThresholds 50 100",
                       "  </Organization>"])
    cd = h.Collectd(work, [block])
    cd.start()
    try:
        h.wait_for(lambda: sum("(2026-12)" in n for n in notices(cd)) >= 3, 60,
                   "December's notices")
        # December walks go on every 2 s; none may announce anything again.
        walks = len([w for w in h.windows(sim, h.ORG1, complete=True)
                     if w[0].startswith("2026-12")])
        h.wait_for(lambda: len([w for w in h.windows(sim, h.ORG1, complete=True)
                                if w[0].startswith("2026-12")]) >= walks + 2, 20,
                   "two more December walks")
        seen = notices(cd)
        for month in ("2026-11", "2026-12"):
            mine = [n for n in seen if "(%s)" % month in n]
            assert len(mine) == 3, (month, seen)
            for pct in ("50%", "100%"):
                assert sum(" reached %s of the budget 0.01 EUR" % pct in n for n in mine) == 1
            assert sum("forecast" in n for n in mine) == 1, mine
        # November's closing walks (late charges) announce nothing either.
        assert all(n.count("(2026-11)") <= 1 for n in seen)
        nov_closing = [w for w in h.windows(sim, h.ORG1, complete=True)
                       if w[0].startswith("2026-11") and w[1].startswith("2026-12-01T00:00:00")]
        assert nov_closing, "no closing walk of November"
        forecast = h.read_csv_value(cd.csvdir, "acme", "", "currency_forecast", "total")
        total = h.read_csv_value(cd.csvdir, "acme", "", "currency", "total")
        assert forecast is not None and total is not None and forecast >= total
    finally:
        cd.stop()
        sim.stop()


if __name__ == "__main__":
    h.run([test_each_threshold_once_per_month])
