#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Exact totals through the real collectd daemon.

Scenario: a generated month of charges (two organizations, shared project
names, a nameless project, long and odd SKUs, a credit, a USD row) served by
the simulator; collectd runs the plugin with csv, write_http (JSON with meta
data) and write_graphite writers. Every cost series must equal the sum the
simulator computes from the dataset for the window the plugin asked for."""

import json

import harness as h

TOLERANCE_CSV = h.CSV_TOLERANCE
CENT = 0.005


def assert_series(got, expected, tolerance, what):
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    assert not missing, "%s: missing series %s" % (what, sorted(missing)[:5])
    assert not extra, "%s: unexpected series %s" % (what, sorted(extra)[:5])
    for key, nanos in expected.items():
        want = nanos / h.NANOS
        assert abs(got[key] - want) <= tolerance, "%s: %s = %r, want %r" % (
            what, key, got[key], want)


def one_shot(work, group_by, label_mode="name", mutate=None, **options):
    """collectd -f until every expected series reached csv and write_http.
    (collectd -T cannot be used: it stops its write threads with values
    still queued, "N value lists were left after shutting down".)"""
    dataset = h.generate_dataset(work.file("dataset.json"))
    if mutate is not None:
        mutate(dataset)
        with open(work.file("dataset.json"), "w") as fh:
            json.dump(dataset, fh)
    sim = h.Simulator(work, work.file("dataset.json"))
    sink = h.JsonListener()
    cd = None
    try:
        cd = h.Collectd(work, [h.org_block("acme", h.ORG1, sim.url, GroupBy=group_by,
                                           ProjectLabel=label_mode, PageSize=37, **options)],
                        json_port=sink.port).start()
        reqs = h.wait_for(lambda: [r for r in sim.charge_requests() if r["token_out"] is None],
                          30, "a complete walk of the pages")
        first = sim.charge_requests()[0]
        assert len(sim.charge_requests()) > 1, "expected several pages"
        expected = h.expected_series(dataset, h.ORG1, first, group_by, label_mode,
                                     project_ids=options.get("ProjectID"))
        h.wait_for(lambda: set(expected) <= set(h.read_csv_costs(cd.csvdir, "acme")) and
                   set(expected) <= set(sink.costs("acme")), 30, "all series written")
        assert reqs
        csv = h.read_csv_costs(cd.csvdir, "acme")
        assert_series(csv, expected, TOLERANCE_CSV, "csv")
        json_lists = sink.costs("acme")
        got = {k: v["values"][0] for k, v in json_lists.items()}
        assert_series(got, expected, 1e-9 * max(1, max(abs(x) for x in got.values())),
                      "write_http")
        assert cd.alive()
        return dataset, json_lists, cd.log()
    finally:
        if cd is not None:
            took = cd.stop()
            assert took < 10, "collectd took %.1fs to stop" % took
        sink.close()
        sim.stop()


def test_group_by_sku_exact_in_csv_and_json(work):
    _, lists, out = one_shot(work, "sku")
    total = lists[("", "total")]
    assert total["meta"]["currency"] == "EUR"
    assert total["meta"]["organization_id"] == h.ORG1
    some = next(v for k, v in lists.items() if k[0])
    for key in ("project_id", "sku", "billing_period", "currency"):
        assert key in some["meta"], "meta %s missing in %s" % (key, some["meta"])
    assert "USD" in out and "skipped" in out, "the USD charge must be reported"


def test_group_by_project(work):
    one_shot(work, "project")


def test_group_by_resource(work):
    one_shot(work, "resource")


def test_group_by_organization_only_total(work):
    _, lists, _ = one_shot(work, "organization")
    assert list(lists) == [("", "total")]


def test_project_label_id(work):
    one_shot(work, "sku", label_mode="id")


def test_project_filter(work):
    dataset = h.generate_dataset(work.file("probe.json"))
    project = next(c["project_id"] for c in dataset["charges"]
                   if c["organization_id"] == h.ORG1)
    one_shot(work, "sku", ProjectID=[project])


def test_hostile_strings(work):
    """Project names, SKUs and resource names with newlines, escape codes,
    forged log text and 10,000 characters: exact sums, clean identifiers,
    control-free meta data, no forged log line."""
    evil_name = "prod\n[2026-11-27 00:00:00] [error] forged line\x1b[31m"
    long_sku = "/compute/" + "x" * 10000

    def mutate(dataset):
        org1 = [c for c in dataset["charges"] if c["organization_id"] == h.ORG1]
        pid = org1[0]["project_id"]
        for c in org1:
            if c["project_id"] == pid:
                c["project_name"] = evil_name
        for c in org1[1:40]:
            c["sku"] = long_sku
        for c in org1[40:80]:
            c["sku"] = "/ipam/\tflexible\r\nip"
            c["resource_name"] = "web\x00-1"[:3] + "\x07bell"

    _, lists, log = one_shot(work, "resource", mutate=mutate)
    for key, vl in lists.items():
        for part in key:
            assert len(part.encode()) <= 127 and all(
                ch.isascii() and (ch.isalnum() or ch in "_-") for ch in part), key
        for value in (vl.get("meta") or {}).values():
            assert not any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in value), repr(value)
    assert any((vl.get("meta") or {}).get("sku", "").startswith("/compute/xxx")
               for vl in lists.values()), "the long SKU must reach meta data (bounded)"
    assert "forged line" not in log


def test_foreground_graphite_two_organizations(work):
    """collectd -f with two organizations, values arriving at a Graphite
    listener; SIGTERM stops it within 10 seconds."""
    dataset = h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"))
    graphite = h.GraphiteListener()
    cd = None
    try:
        cd = h.Collectd(work, [
            h.org_block("acme", h.ORG1, sim.url, GroupBy="sku"),
            h.org_block("org.two", h.ORG2, sim.url, secret="sim-key-org2",
                        GroupBy="project", Host="scw-two")],
            graphite_port=graphite.port).start()
        reqs = h.wait_for(lambda: len({r["query"]["organization_id"][0]
                                        for r in sim.charge_requests()}) == 2 and
                          sim.charge_requests(), 20, "both organizations queried")
        by_org = {}
        for r in reqs:
            by_org.setdefault(r["query"]["organization_id"][0], r)
        exp1 = h.expected_series(dataset, h.ORG1, by_org[h.ORG1], "sku")
        exp2 = h.expected_series(dataset, h.ORG2, by_org[h.ORG2], "project")

        def path(host, key):
            pi, ti = key
            return "collectd.%s.scw_finops%s.currency%s" % (
                host.replace(".", "_"), "-" + pi if pi else "", "-" + ti if ti else "")

        want = {path("acme", k): v for k, v in exp1.items()}
        want.update({path("scw-two", k): v for k, v in exp2.items()})
        got = h.wait_for(lambda: (lambda g: g if set(want) <= set(g) else None)(graphite.latest()),
                         20, "all series at the Graphite listener")
        for p, nanos in want.items():
            assert abs(got[p] - nanos / h.NANOS) < CENT, "%s = %r, want %r" % (
                p, got[p], nanos / h.NANOS)
        unexpected = [p for p in got if ".currency" in p and p not in want]
        assert not unexpected, "unexpected cost series: %s" % unexpected[:5]
        assert cd.alive()
        took = cd.stop()
        assert took < 10, "collectd took %.1fs to stop" % took
    finally:
        if cd is not None and cd.alive():
            cd.stop()
        graphite.close()
        sim.stop()


if __name__ == "__main__":
    h.run([
        test_group_by_sku_exact_in_csv_and_json,
        test_group_by_project,
        test_group_by_resource,
        test_group_by_organization_only_total,
        test_project_label_id,
        test_project_filter,
        test_hostile_strings,
        test_foreground_graphite_two_organizations,
    ])
