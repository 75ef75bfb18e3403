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


def json_tolerance(want):
    """write_http prints doubles with 15+ significant digits."""
    return 1e-9 * max([1] + [abs(v) / h.NANOS for v in want.values()])


def one_shot(work, group_by, label_mode="name", mutate=None, page_size=37, **options):
    """collectd -f until csv and write_http show the exact sums of a walk.
    (collectd -T cannot be used: it stops its write threads with values
    still queued, "N value lists were left after shutting down".) Then every
    read, including any made after a midnight that the run passed, must have
    published exactly the sums of a window the plugin walked in its month.
    page_size: the first second of a month already holds a charge per
    resource (about 150 in acme), so the default still makes several pages."""
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
                                           ProjectLabel=label_mode, PageSize=page_size,
                                           **options)],
                        json_port=sink.port).start()
        # A walk of the dataset's month: a start in the first seconds of a month
        # also walks the previous month, which has no charges here (one page).
        walks = h.wait_for(lambda: [w for w in h.windows(sim, h.ORG1, complete=True)
                                    if w[0][:7] == dataset["month"]], 30,
                           "a complete walk of the pages")
        assert len(h.walk_pages(sim, walks[0])) > 1, "expected several pages"
        expect = h.Expected(dataset, h.ORG1, group_by, label_mode,
                            project_ids=options.get("ProjectID"))

        def csv_reads():
            return h.split_reads(h.read_csv_cost_points(cd.csvdir, "acme"))

        def json_reads(lists=False):
            reads = h.split_reads({key: [(vl["time"], vl) for vl in vls]
                                   for key, vls in sink.cost_lists("acme").items()})
            return reads if lists else [(t, {k: vl["values"][0] for k, vl in read.items()})
                                        for t, read in reads]

        def complete():
            return h.windows(sim, h.ORG1, complete=True)
        h.wait_published(csv_reads, expect, complete, TOLERANCE_CSV, "csv")
        h.wait_published(json_reads, expect, complete, json_tolerance, "write_http")
        assert cd.alive()
        took = cd.stop()
        assert took < 10, "collectd took %.1fs to stop" % took
        walked = h.windows(sim, h.ORG1)
        h.check_reads(csv_reads(), expect, walked, TOLERANCE_CSV, "csv", partial_last=True)
        matched = h.check_reads(json_reads(), expect, walked, json_tolerance, "write_http",
                                partial_last=True)
        for (_, read), window in zip(json_reads(lists=True), matched):
            for key, vl in read.items():
                assert vl["meta"]["billing_period"] == window[0][:7], (key, vl["meta"])
        return dataset, sink.costs("acme"), cd.log()
    finally:
        if cd is not None and cd.alive():
            cd.stop()
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
    """One project: about 30 resources, so about 30 charges in the first
    second of a month; pages of 10 still make several."""
    dataset = h.generate_dataset(work.file("probe.json"))
    project = next(c["project_id"] for c in dataset["charges"]
                   if c["organization_id"] == h.ORG1)
    one_shot(work, "sku", page_size=10, ProjectID=[project])


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
    orgs = (("acme", "acme", h.ORG1, "sku"), ("scw-two", "scw-two", h.ORG2, "project"))
    try:
        cd = h.Collectd(work, [
            h.org_block("acme", h.ORG1, sim.url, GroupBy="sku"),
            h.org_block("org.two", h.ORG2, sim.url, secret="sim-key-org2",
                        GroupBy="project", Host="scw-two")],
            graphite_port=graphite.port).start()
        h.wait_for(lambda: all(h.windows(sim, org, complete=True) for _, _, org, _ in orgs),
                   20, "both organizations walked")
        expected = {}
        for host, node, org, group_by in orgs:
            expected[host] = expect = h.Expected(dataset, org, group_by)
            # Graphite gets whole-second times: reads stay apart (1 s Interval).
            h.wait_published(lambda node=node: h.split_reads(graphite.cost_points(node)),
                             expect, lambda org=org: h.windows(sim, org, complete=True),
                             CENT, "Graphite %s" % host, timeout=20)
        assert cd.alive()
        took = cd.stop()
        assert took < 10, "collectd took %.1fs to stop" % took
        for host, node, org, _ in orgs:
            allowed = set()
            for window in h.windows(sim, org):
                allowed |= set(expected[host](window))
            unexpected = set(graphite.cost_points(node)) - allowed
            assert not unexpected, "unexpected cost series: %s" % sorted(unexpected)[:5]
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
