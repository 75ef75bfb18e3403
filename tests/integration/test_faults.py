#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""API faults through the real collectd daemon.

Each scenario injects one fault into the simulator and checks three things:
a clear log line, no wrong number (no cost series from a failed refresh,
the previous snapshot kept), and a collectd that keeps running and stops
promptly."""

import glob
import time

import harness as h


def start(work, faults=None, secret=h.SECRET, **options):
    dataset = h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"), faults=faults)
    opts = {"PageSize": 50, "MaxRetries": 0}
    opts.update(options)
    cd = h.Collectd(work, [h.org_block("acme", h.ORG1, sim.url, secret=secret, **opts)])
    return dataset, sim, cd


def costs(cd):
    return h.read_csv_costs(cd.csvdir, "acme")


def no_costs(cd, refresh_interval=3600):
    """Nothing from a failed refresh was published. In a month's first
    3 x RefreshInterval the plugin publishes the empty month (total 0, the
    sums of [1st 00:00:00Z, 1st 00:00:00Z)) until a walk succeeds: allowed
    then, and only then."""
    got = costs(cd)
    month_start = h.finops_sim.month_bounds(time.time_ns())[0] / h.NANOS
    young = time.time() - month_start < 3 * refresh_interval
    return got == {} or (young and got == {("", "total"): 0.0})


def errors_counter(cd):
    return h.read_csv_value(cd.csvdir, "acme", "", "errors", "")


def cost_reads(cd):
    return h.split_reads(h.read_csv_cost_points(cd.csvdir, "acme"))


def published_exactly(dataset, sim, cd):
    """Waits until csv shows the exact sums of a complete walk; then (the
    window grows with every refresh) every read so far must be exact too.
    Returns the window of the newest read."""
    expect = h.Expected(dataset, h.ORG1, "sku")
    _, _, window = h.wait_published(lambda: cost_reads(cd), expect,
                                    lambda: h.windows(sim, h.ORG1, complete=True),
                                    h.CSV_TOLERANCE, "csv")
    h.check_reads(cost_reads(cd)[:-1], expect, h.windows(sim, h.ORG1), h.CSV_TOLERANCE,
                  "csv")
    return window


def one_shot_fault(work, faults, expect_in_log, secret=h.SECRET):
    """The first refresh meets the fault: a clear log line, the failure
    counted, and no cost published. (Reads never wait for the API, so this
    watches a running collectd rather than `collectd -T`.)"""
    _, sim, cd = start(work, faults=faults, secret=secret)
    cd.start()
    try:
        h.wait_for(lambda: "refresh failed" in cd.log(), 30,
                   "the failed refresh in the log")
        h.wait_for(lambda: errors_counter(cd) == 1.0, 10, "errors = 1 in the csv")
        out = cd.log()
        for needle in expect_in_log:
            assert needle in out, "log lacks %r:\n%s" % (needle, out)
        assert no_costs(cd), "no cost may be published: %s" % costs(cd)
        assert cd.alive(), "collectd died on an API fault"
        assert h.SECRET not in out and "sim-key" not in out, "secret in the log"
        return out
    finally:
        cd.stop()
        sim.stop()


def test_401_wrong_key(work):
    one_shot_fault(work, None, ["HTTP 401", "denied_authentication",
                                "check the secret key", "X-Request-Id"],
                   secret="wrong-key")


def test_403_no_permission(work):
    one_shot_fault(work, None, ["HTTP 403", "BillingReadOnly", h.ORG1],
                   secret="sim-key-noperm")


def test_500_mid_pagination(work):
    one_shot_fault(work, [{"kind": "status", "status": 500, "page": 2}],
                   ["page 2", "HTTP 500", "keeping the previous numbers"])


def test_malformed_page(work):
    one_shot_fault(work, [{"kind": "malformed", "page": 3}],
                   ["page 3", "response is not JSON", "truncated JSON"])


def test_wrong_json_type(work):
    one_shot_fault(work, [{"kind": "bad_json_type", "page": 2}],
                   ["page 2", "units", "not an integer"])


def test_repeated_token(work):
    one_shot_fault(work, [{"kind": "repeat_token", "page": 2}],
                   ["pagination loop"])


def test_connection_dropped(work):
    one_shot_fault(work, [{"kind": "drop_connection", "page": 2}],
                   ["page 2", "transport error"])


def test_recovers_after_transient_500(work):
    """A 500 on page 2 of the first refresh; the retry succeeds and the
    published numbers are exact (nothing from the failed pass is counted)."""
    dataset, sim, cd = start(work, faults=[{"kind": "status", "status": 500, "page": 2,
                                            "times": 1}], RefreshInterval=2)
    cd.start()
    try:
        published_exactly(dataset, sim, cd)
        assert cd.alive()
        assert "HTTP 500" in cd.log() and "refresh succeeded again" in cd.log()
        assert errors_counter(cd) >= 1
    finally:
        took = cd.stop()
        sim.stop()
    assert took < 10, "collectd took %.1fs to stop" % took


def test_retries_within_one_refresh(work):
    """Two 503s on page 2, MaxRetries 3: the first refresh still succeeds,
    exactly, with page 2 requested three times and no refresh error."""
    dataset, sim, cd = start(work, faults=[{"kind": "status", "status": 503, "page": 2,
                                            "times": 2}], MaxRetries=3)
    cd.start()
    try:
        published_exactly(dataset, sim, cd)
        reqs = sim.charge_requests()
        first = h.window_of(reqs[0])  # a walk after midnight would add its own pages
        assert [r["status"] for r in reqs
                if r["page"] == 2 and h.window_of(r) == first] == [503, 503, 200]
        assert errors_counter(cd) == 0
        assert "refresh failed" not in cd.log()
    finally:
        cd.stop()
        sim.stop()


def test_429_honours_retry_after(work):
    """A 429 with Retry-After: 2 delays the next request by 2 s or more."""
    _, sim, cd = start(work, faults=[{"kind": "429", "page": 1, "times": 1,
                                      "retry_after": "2"}], MaxRetries=2)
    cd.start()
    try:
        # (In a month's first hours the empty month's total 0 comes at once:
        # wait for the retried request itself.)
        h.wait_for(lambda: len(sim.charge_requests()) >= 2, 30, "the retried request")
        first, second = sim.charge_requests()[:2]
        assert first["status"] == 429 and second["status"] == 200
        gap = second["received"] - first["received"]
        assert 2.0 <= gap < 4.0, "retried after %.2fs" % gap
    finally:
        cd.stop()
        sim.stop()


def test_refresh_timeout_bounds_a_slow_api(work):
    """RefreshTimeout 2 with a 30 s slow page: the refresh fails in about
    2 s with a clear message instead of hanging for Timeout."""
    _, sim, cd = start(work, faults=[{"kind": "slow", "seconds": 30, "page": 2}],
                       RefreshTimeout=2, Timeout=20, RefreshInterval=60)
    cd.start()
    try:
        h.wait_for(lambda: "refresh failed" in cd.log(), 15, "the refresh to fail")
        assert "timed out" in cd.log() or "RefreshTimeout" in cd.log(), cd.log()
        assert no_costs(cd, 60), costs(cd)
    finally:
        took = cd.stop()
        sim.stop()
    assert took < 10


def test_previous_snapshot_kept_then_withheld(work):
    """After a good refresh the API fails for good: the last numbers stay
    published while fresh, the error counter rises, and once the snapshot is
    older than 3 x RefreshInterval the cost series stop."""
    dataset, sim, cd = start(work, RefreshInterval=1)
    cd.start()
    try:
        h.wait_for(lambda: ("", "total") in costs(cd), 30, "a first snapshot")
        sim.set_faults([{"kind": "status", "status": 503}])
        h.wait_for(lambda: (errors_counter(cd) or 0) >= 2, 30, "errors counted")
        # The numbers kept are those of the last walk of the month that
        # completed (the window moves every second, so not necessarily the
        # first snapshot's; the previous month's walk is another window).
        last = {}
        for window in h.windows(sim, h.ORG1, complete=True):
            last[window[0]] = window
        h.wait_published(lambda: cost_reads(cd), h.Expected(dataset, h.ORG1, "sku"),
                         lambda: list(last.values()), h.CSV_TOLERANCE, "the kept numbers")
        assert "HTTP 503" in cd.log()
        # Age beyond 3 s: the csv file of the total stops growing.
        def total_file_rows():
            (path,) = glob.glob(cd.csvdir + "/acme/scw_finops/currency-total-*")
            with open(path) as fh:
                return len(fh.read().splitlines())

        h.wait_for(lambda: (h.read_csv_value(cd.csvdir, "acme", "", "duration",
                                             "snapshot_age") or 0) > 4, 30, "stale snapshot")
        rows = total_file_rows()
        h.wait_for(lambda: (h.read_csv_value(cd.csvdir, "acme", "", "duration",
                                             "snapshot_age") or 0) > 6, 30, "older snapshot")
        assert total_file_rows() == rows, "stale costs were still dispatched"
        assert cd.alive()
    finally:
        took = cd.stop()
        sim.stop()
    assert took < 10


def test_errors_rate_limited_and_recovery_logged_once(work):
    """A dead API fails every refresh (1 s apart) but the log only gets a
    few lines (c_complain doubles its interval), and recovery is logged once."""
    _, sim, cd = start(work, faults=[{"kind": "status", "status": 503}], RefreshInterval=1)
    cd.start()
    try:
        h.wait_for(lambda: (errors_counter(cd) or 0) >= 12, 40, "twelve failed refreshes")
        failures_logged = cd.log().count("refresh failed")
        assert 1 <= failures_logged <= 5, "%d failure lines for %s errors" % (
            failures_logged, errors_counter(cd))
        sim.set_faults([])
        h.wait_for(lambda: ("", "total") in costs(cd), 30, "recovery")
        h.wait_for(lambda: (h.read_csv_value(cd.csvdir, "acme", "", "count", "charges")
                            or 0) > 0, 10, "charges counted")
        errors_after = errors_counter(cd)
        h.wait_for(lambda: sum(1 for r in sim.charge_requests()
                               if r["page"] == 1 and r["status"] == 200) >= 3, 30,
                   "three good refreshes")
        assert cd.log().count("refresh succeeded again") == 1
        assert errors_counter(cd) == errors_after, "errors rose while healthy"
    finally:
        cd.stop()
        sim.stop()


def test_sigterm_during_slow_api(work):
    """collectd stops within 10 s while a request waits on a slow API."""
    _, sim, cd = start(work, faults=[{"kind": "slow", "seconds": 60}], Timeout=120)
    cd.start()
    try:
        # The first read dispatches the request counter (still 0: the
        # refresh has not returned), so the worker is inside the slow GET.
        h.wait_for(lambda: h.read_csv_value(cd.csvdir, "acme", "", "http_requests", "")
                   is not None, 20, "the first read while the request is pending")
        assert h.read_csv_value(cd.csvdir, "acme", "", "http_requests", "") == 0
    finally:
        took = cd.stop()
        sim.stop()
    assert took < 10, "collectd took %.1fs to stop" % took


if __name__ == "__main__":
    h.run([
        test_401_wrong_key,
        test_403_no_permission,
        test_500_mid_pagination,
        test_malformed_page,
        test_wrong_json_type,
        test_repeated_token,
        test_connection_dropped,
        test_recovers_after_transient_500,
        test_retries_within_one_refresh,
        test_429_honours_retry_after,
        test_refresh_timeout_bounds_a_slow_api,
        test_previous_snapshot_kept_then_withheld,
        test_errors_rate_limited_and_recovery_logged_once,
        test_sigterm_during_slow_api,
    ])
