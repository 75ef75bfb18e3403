# SPDX-License-Identifier: MIT
"""Self-test of the FinOps API simulator (standard library only).

Run from the repository root:  python3 -m unittest tests/sim/test_finops_sim.py -v

Most tests talk HTTP to an in-process server (a daemon thread per class); the
CLI tests start `finops_sim.py serve` as a subprocess and wait for its port
file with a bounded deadline.  Every server started here is stopped again.
"""

import collections
import http.client
import json
import os
import selectors
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import finops_sim as sim  # noqa: E402

SCRIPT = os.path.join(HERE, "finops_sim.py")
ORG1 = "11111111-1111-4111-8111-111111111111"
ORG2 = "22222222-2222-4222-8222-222222222222"
MONTH, NOW = "2026-11", "2026-11-12T10:30:00Z"
MONTH_START, MONTH_END = "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"
DEADLINE_S = 10


# --------------------------------------------------------------------------
# Helpers

class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Client:
    """Minimal HTTP client: one connection per request, nothing hidden."""

    def __init__(self, port, context=None):
        self.port, self.context = port, context

    def _connection(self):
        if self.context:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=DEADLINE_S,
                                               context=self.context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE_S)

    def request(self, method, target, key=None, body=None):
        conn = self._connection()
        try:
            headers = {"X-Auth-Token": key} if key else {}
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def charges(self, params, key="sim-secret-key"):
        return self.request("GET", f"{sim.CHARGES_PATH}?{urlencode(params)}", key)

    def post(self, path, obj):
        return self.request("POST", path, body=json.dumps(obj).encode())

    def log(self):
        return self.request("GET", "/_sim/requests").json()

    def walk(self, params, key="sim-secret-key", max_pages=5000):
        """All charges of a query, following next_page_token; also the pages."""
        charges, pages, token = [], [], None
        for _ in range(max_pages):
            resp = self.charges(params + ([("page_token", token)] if token else []), key)
            assert resp.status == 200, (resp.status, resp.body)
            page = resp.json()
            pages.append(page)
            charges += page["charges"]
            token = page.get("next_page_token")
            if not token:
                return charges, pages
        raise AssertionError("pagination did not end")


class InProcessServer:
    def __init__(self, dataset, **kwargs):
        self.server = sim.make_server(dataset, **kwargs)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(DEADLINE_S)


def window(start, end, org=ORG1, clamp=True, **extra):
    params = [("organization_id", org), ("start_date_after", start),
              ("end_date_before", end), ("clamp_to_time_range", "true" if clamp else "false")]
    return params + list(extra.items())


def identity(charge):
    return (charge["project_id"], charge["sku"], charge["resource_id"], charge["start_date"])


def nanos(charge):
    return sim.money_nanos(charge["price"])


def totals(charges):
    sums = collections.Counter()
    for charge in charges:
        sums[charge["price"]["currency_code"]] += nanos(charge)
    return sums


def small_dataset():
    return sim.generate_dataset(seed=3, month=MONTH, now=NOW, resources=60)


def wait_for_file(path, proc):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read()}")
        time.sleep(0.02)  # polling interval, bounded by the deadline
    raise AssertionError(f"{path} not written within {DEADLINE_S}s")


def read_line(stream):
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(DEADLINE_S):
            raise AssertionError("no output line within the deadline")
    return stream.readline()


# --------------------------------------------------------------------------
# Generator

class GeneratorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = sim.generate_dataset(seed=7, month=MONTH, now=NOW)
        cls.charges = cls.doc["charges"]
        cls.org1 = [c for c in cls.charges if c["organization_id"] == ORG1]

    def test_deterministic(self):
        again = sim.generate_dataset(seed=7, month=MONTH, now=NOW)
        self.assertEqual(json.dumps(self.doc), json.dumps(again))
        other = sim.generate_dataset(seed=8, month=MONTH, now=NOW)
        self.assertNotEqual(json.dumps(self.doc), json.dumps(other))

    def test_organizations_and_keys(self):
        self.assertEqual([(o["id"], o["name"]) for o in self.doc["organizations"]][:1],
                         [(ORG1, "Acme SAS")])
        self.assertEqual(self.doc["organizations"][1]["id"], ORG2)
        self.assertEqual(self.doc["keys"], {
            "sim-secret-key": {"organizations": [ORG1, ORG2]},
            "sim-key-org1": {"organizations": [ORG1]},
            "sim-key-org2": {"organizations": [ORG2]},
            "sim-key-noperm": {"organizations": []}})

    def test_projects(self):
        projects = {c["project_id"]: c.get("project_name", "<absent>") for c in self.org1}
        self.assertEqual(len(projects), 5)
        self.assertEqual(list(projects.values()).count("shared-name"), 2)
        self.assertEqual(list(projects.values()).count("<absent>"), 1)

    def test_skus(self):
        skus = {c["sku"] for c in self.charges}
        self.assertEqual(len(skus), 30)
        for sku in ("/compute/dev1_s/run_par1", "/block-storage/sbs_5k/storage_par1",
                    "/object-storage/multi_az_standard/storage_par",
                    "/ipam/flexible_ipv4/fr-par-1"):
            self.assertIn(sku, skus)
        self.assertTrue(any(len(s) >= 190 for s in skus))
        self.assertTrue(any(" " in s and ":" in s for s in skus))

    def test_resources(self):
        ids = {c["resource_id"] for c in self.charges}
        self.assertTrue(any("/" in i for i in ids))
        states = collections.Counter(
            "absent" if "resource_name" not in c else
            "null" if c["resource_name"] is None else "present" for c in self.charges)
        self.assertEqual(set(states), {"absent", "null", "present"})

    def test_charge_periods(self):
        now_ns = sim.parse_ts(NOW)
        starts = [sim.parse_ts(c["start_date"]) for c in self.charges]
        ends = [sim.parse_ts(c["end_date"]) for c in self.charges]
        month_start, month_end = sim.parse_ts(MONTH_START), sim.parse_ts(MONTH_END)
        self.assertTrue(any(s < month_start < e for s, e in zip(starts, ends)))
        self.assertTrue(any(s == month_start and e == month_end - sim.NS
                            for s, e in zip(starts, ends)))
        self.assertTrue(any(s < now_ns < e for s, e in zip(starts, ends)))
        self.assertLess(max(starts), now_ns)
        for charge, start in zip(self.charges, starts):
            self.assertTrue(charge["end_date"].endswith("T23:59:59Z"))
            self.assertGreater(sim.parse_ts(charge["updated_at"]), start)

    def test_prices(self):
        prices = [(c["price"]["currency_code"], c["price"]["units"], c["price"]["nanos"])
                  for c in self.charges]
        self.assertIn(("EUR", -5, -250000000), prices)
        self.assertEqual([c["organization_id"] for c in self.charges
                          if c["price"]["currency_code"] == "USD"], [ORG1])
        self.assertTrue(any(units > 0 for _, units, _ in prices))
        self.assertTrue(any(n % 1000 != 0 for _, _, n in prices))
        self.assertTrue(all(isinstance(units, int) for _, units, _ in prices))

    def test_rejects_now_before_month(self):
        with self.assertRaises(ValueError):
            sim.generate_dataset(month="2026-12", now=NOW)


class GeneratorDatesTest(unittest.TestCase):
    """Whatever the date, a month-to-date window holds a charge per resource,
    even in the month's first second, and a test that passes midnight at the
    end of a month finds the new month populated too."""

    RESOURCES = 40

    def resources_in(self, doc, start, end):
        """Resources (of every organization) with a charge in [start, end)."""
        out = set()
        for org in (ORG1, ORG2):
            exp = sim.expected_sums(doc, org, start, end, "resource")
            out |= {g["resource_id"] for g in exp["groups"]}
        return out

    def test_first_second_of_the_month(self):
        for now in ("2026-11-01T00:00:00Z", "2026-11-01T00:00:30Z", NOW,
                    "2026-11-30T23:59:59Z"):
            doc = sim.generate_dataset(seed=4, now=now, resources=self.RESOURCES)
            first_second = self.resources_in(doc, MONTH_START, "2026-11-01T00:00:01Z")
            self.assertEqual(len(first_second - self.credit_and_usd(doc)), self.RESOURCES, now)

    def credit_and_usd(self, doc):
        return {c["resource_id"] for c in doc["charges"]
                if c.get("resource_name") in ("welcome-credit", "usd-billed-ip")}

    def test_last_day_spills_into_the_next_month(self):
        doc = sim.generate_dataset(seed=4, now="2026-11-30T23:59:50Z",
                                   resources=self.RESOURCES)
        self.assertEqual(doc["month"], MONTH)
        december = [c for c in doc["charges"] if c["start_date"] >= MONTH_END]
        self.assertTrue(december)
        self.assertEqual({c["start_date"] for c in december}, {MONTH_END})
        in_first_second = self.resources_in(doc, MONTH_END, "2026-12-01T00:00:01Z")
        self.assertEqual(len(in_first_second - self.credit_and_usd(doc)), self.RESOURCES)
        self.assertEqual(sorted(c["resource_name"] for c in december
                                if c["resource_id"] in self.credit_and_usd(doc)),
                         ["usd-billed-ip", "welcome-credit"],
                         "the new month has its credit and USD rows too")
        # November's charges come first and are those of November generated
        # after the month (but for what depends on now: updated_at, invoice_id).
        earlier = sim.generate_dataset(seed=4, month=MONTH, now="2026-12-05T00:00:00Z",
                                       resources=self.RESOURCES)
        strip = [{k: v for k, v in c.items() if k not in ("updated_at", "invoice_id")}
                 for c in doc["charges"][:len(earlier["charges"])]]
        self.assertEqual(strip, [{k: v for k, v in c.items()
                                  if k not in ("updated_at", "invoice_id")}
                                 for c in earlier["charges"]])
        self.assertFalse([c for c in earlier["charges"] if c["start_date"] >= MONTH_END])


# --------------------------------------------------------------------------
# API against a generated dataset

class ApiTestCase(unittest.TestCase):
    dataset = None

    @classmethod
    def setUpClass(cls):
        cls.dataset = small_dataset()
        cls.server = InProcessServer(cls.dataset)
        cls.api = Client(cls.server.port)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.assertEqual(self.api.post("/_sim/reset", None).status, 200)

    def assertInvalid(self, resp, argument, reason):
        self.assertEqual(resp.status, 400, resp.body)
        body = resp.json()
        self.assertEqual(body["type"], "invalid_arguments")
        self.assertEqual(body["message"], "invalid argument(s)")
        self.assertEqual(body["details"][0]["argument_name"], argument)
        self.assertEqual(body["details"][0]["reason"], reason)
        self.assertTrue(body["details"][0]["help_message"])


class AuthTest(ApiTestCase):
    def test_missing_or_unknown_key(self):
        for key in (None, "nope"):
            resp = self.api.charges([("organization_id", ORG1)], key)
            self.assertEqual(resp.status, 401)
            self.assertEqual(resp.json(), sim.UNAUTHENTICATED)
            self.assertEqual(resp.headers["Content-Type"], "application/json")

    def test_forbidden(self):
        cases = [("sim-key-noperm", [("organization_id", ORG1)]),
                 ("sim-key-org1", [("organization_id", ORG2)]),
                 ("sim-key-org2", [("organization_id", ORG2),
                                   ("project_ids", self.dataset["charges"][0]["project_id"])]),
                 ("sim-key-org2", [("project_ids", self.dataset["charges"][0]["project_id"])])]
        for key, params in cases:
            resp = self.api.charges(params, key)
            self.assertEqual(resp.status, 403, (key, params))
            self.assertEqual(resp.json(), {
                "details": [{"action": "read", "resource": "billing"}],
                "message": "insufficient permissions", "type": "permissions_denied"})

    def test_allowed(self):
        self.assertEqual(self.api.charges([("organization_id", ORG1)], "sim-key-org1").status, 200)
        project = self.dataset["charges"][0]["project_id"]
        resp = self.api.charges(window(MONTH_START, MONTH_END, org="") +
                                [("project_ids", project)], "sim-key-org1")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.json()["charges"])
        self.assertEqual({c["project_id"] for c in resp.json()["charges"]}, {project})

    def test_request_id_on_every_response(self):
        seen = set()
        for resp in (self.api.charges([("organization_id", ORG1)]),
                     self.api.charges([("organization_id", ORG1)], None),
                     self.api.charges([("page_size", "0"), ("organization_id", ORG1)]),
                     self.api.request("GET", "/nowhere")):
            request_id = resp.headers["X-Request-Id"]
            self.assertRegex(request_id, sim._UUID_RE)
            seen.add(request_id)
        self.assertEqual(len(seen), 4)


class ValidationTest(ApiTestCase):
    def test_organization_or_project_required(self):
        self.assertInvalid(self.api.charges([]), "organization_id", "required")
        self.assertInvalid(self.api.charges([("organization_id", "")]), "organization_id",
                           "required")

    def test_uuid_formats(self):
        self.assertInvalid(self.api.charges([("organization_id", "acme")]),
                           "organization_id", "format")
        self.assertInvalid(self.api.charges([("organization_id", ORG1), ("project_ids", "x")]),
                           "project_ids", "format")
        self.assertInvalid(self.api.charges([("organization_id", ORG1), ("invoice_ids", "1")]),
                           "invoice_ids", "format")

    def test_page_size_bounds(self):
        for value in ("0", "1001", "abc", "-1", "1.5", ""):
            self.assertInvalid(self.api.charges([("organization_id", ORG1),
                                                 ("page_size", value)]), "page_size", "constraint")
        for value in ("1", "1000"):
            resp = self.api.charges([("organization_id", ORG1), ("page_size", value)])
            self.assertEqual(resp.status, 200)

    def test_default_page_size_is_100(self):
        page = self.api.charges(window(MONTH_START, MONTH_END)).json()
        self.assertEqual(len(page["charges"]), 100)
        self.assertIn("next_page_token", page)

    def test_timestamps(self):
        for value in ("2026-11-01", "2026-11-01T00:00:00", "2026-13-01T00:00:00Z",
                      "2026-11-01T00:00:00.1234567890Z", "2026-11-01 00:00:00+01:00"):
            self.assertInvalid(self.api.charges([("organization_id", ORG1),
                                                 ("start_date_after", value)]),
                               "start_date_after", "format")
        for value in ("2026-11-01T00:00:00.000000000Z", "2026-11-01T01:00:00+01:00",
                      "2026-10-31T19:00:00.5-05:00"):
            resp = self.api.charges([("organization_id", ORG1), ("end_date_before", value)])
            self.assertEqual(resp.status, 200, value)

    def test_order_by_and_boolean(self):
        self.assertInvalid(self.api.charges([("organization_id", ORG1), ("order_by", "price")]),
                           "order_by", "format")
        self.assertInvalid(self.api.charges([("organization_id", ORG1),
                                             ("clamp_to_time_range", "yes")]),
                           "clamp_to_time_range", "format")

    def test_unknown_parameters_ignored(self):
        params = window(MONTH_START, MONTH_END)
        self.assertEqual(self.api.charges(params + [("zone", "fr-par-1")]).body,
                         self.api.charges(params).body)

    def test_filters(self):
        base = window(MONTH_START, MONTH_END, page_size="1000")
        everything = self.api.charges(base).json()["charges"]
        sample = next(c for c in everything[5:] if c["invoice_id"])
        for param, charge_field in (("skus", "sku"), ("resource_ids", "resource_id"),
                                    ("project_ids", "project_id"), ("invoice_ids", "invoice_id")):
            got = self.api.charges(base + [(param, sample[charge_field])]).json()["charges"]
            self.assertEqual(got, [c for c in everything
                                   if c[charge_field] == sample[charge_field]], param)
        named = next(c for c in everything if c.get("resource_name"))
        got = self.api.charges(base + [("resource_names", named["resource_name"])]).json()
        self.assertEqual(got["charges"], [c for c in everything
                                          if c.get("resource_name") == named["resource_name"]])

    def test_default_window_is_current_month(self):
        doc = sim.generate_dataset(seed=5, resources=10)  # current month and time
        server = InProcessServer(doc)
        try:
            api = Client(server.port)
            for _ in range(2):  # again if midnight of a month's end came between
                before = sim.month_bounds(time.time_ns())
                default = api.charges([("organization_id", ORG1),
                                       ("page_size", "1000")]).json()
                if sim.month_bounds(time.time_ns()) == before:
                    break
            start, end = before
            explicit = [("organization_id", ORG1), ("page_size", "1000"),
                        ("start_date_after", sim.format_ts(start)),
                        ("end_date_before", sim.format_ts(end))]
            self.assertEqual(default["charges"], api.charges(explicit).json()["charges"])
            self.assertTrue(default["charges"])
        finally:
            server.stop()


class PaginationTest(ApiTestCase):
    def check_walk(self, params, page_size):
        reference = self.api.charges(params + [("page_size", "1000")]).json()["charges"]
        charges, pages = self.api.walk(params + [("page_size", str(page_size))])
        self.assertEqual(charges, reference)
        self.assertEqual(len({identity(c) for c in charges}), len(charges))
        self.assertNotIn("next_page_token", pages[-1])
        self.assertTrue(all(len(p["charges"]) == page_size for p in pages[:-1]))
        return charges

    def test_page_sizes(self):
        month = window(MONTH_START, MONTH_END)
        charges = self.check_walk(month, 7)
        self.assertGreater(len(charges), 300)
        self.check_walk(month, 1000)
        self.check_walk(window("2026-11-05T00:00:00Z", "2026-11-06T00:00:00Z"), 1)

    def test_order(self):
        for order, descending in (("start_date_asc", False), ("start_date_desc", True)):
            charges, _ = self.api.walk(window(MONTH_START, MONTH_END, order_by=order,
                                              page_size="50"))
            starts = [sim.parse_ts(c["start_date"]) for c in charges]
            self.assertEqual(starts, sorted(starts, reverse=descending))

    def test_token_must_match_query(self):
        params = window(MONTH_START, MONTH_END, page_size="10")
        token = self.api.charges(params).json()["next_page_token"]
        self.assertEqual(self.api.charges(params + [("page_token", token)]).status, 200)
        for changed in (window(MONTH_START, MONTH_END, page_size="11"),
                        window(MONTH_START, MONTH_END, org=ORG2, page_size="10"),
                        window(MONTH_START, "2026-11-30T00:00:00Z", page_size="10"),
                        window(MONTH_START, MONTH_END, clamp=False, page_size="10")):
            self.assertInvalid(self.api.charges(changed + [("page_token", token)]),
                               "page_token", "constraint")
        for garbage in ("abc", "bm90IG91cnM=", token[:-4]):
            self.assertInvalid(self.api.charges(params + [("page_token", garbage)]),
                               "page_token", "format")

    def test_token_needs_url_encoding(self):
        params = window(MONTH_START, MONTH_END, page_size="10")
        token = self.api.charges(params).json()["next_page_token"]
        self.assertTrue(token.startswith("+/+/"))
        raw = f"{sim.CHARGES_PATH}?{urlencode(params)}&page_token={token}"
        resp = self.api.request("GET", raw, "sim-secret-key")
        self.assertInvalid(resp, "page_token", "format")

    def test_token_past_the_end(self):
        params = window(MONTH_START, MONTH_END, page_size="10")
        fingerprint = sim.parse_query({k: [v] for k, v in params}, 0).fingerprint()
        page = self.api.charges(params + [("page_token", sim.make_token(10**6, fingerprint))])
        self.assertEqual(page.json(), {"charges": []})


class AliasTest(ApiTestCase):
    def test_camel_case_equals_snake_case(self):
        project = self.dataset["charges"][0]["project_id"]
        snake = [("organization_id", ORG1), ("project_ids", project),
                 ("start_date_after", "2026-11-03T12:00:00Z"),
                 ("end_date_before", "2026-11-09T00:00:00Z"),
                 ("clamp_to_time_range", "true"), ("order_by", "start_date_desc"),
                 ("page_size", "5")]
        camel = [(sim.ALIASES[name], value) for name, value in snake]
        first_snake, first_camel = self.api.charges(snake), self.api.charges(camel)
        self.assertEqual(first_snake.body, first_camel.body)
        token = first_snake.json()["next_page_token"]
        self.assertEqual(self.api.charges(snake + [("page_token", token)]).body,
                         self.api.charges(camel + [("pageToken", token)]).body)
        for name in ("invoice_ids", "resource_ids", "resource_names", "skus"):
            value = self.dataset["charges"][1].get(name[:-1]) or "x"
            self.assertEqual(self.api.charges(snake + [(name, value)]).body,
                             self.api.charges(camel + [(sim.ALIASES[name], value)]).body, name)

    def test_docs_mixed_style(self):
        resource = self.dataset["charges"][0]["resource_id"]
        mixed = [("organization_id", ORG1), ("resourceIds", resource),
                 ("startDateAfter", MONTH_START), ("endDateBefore", MONTH_END)]
        charges = self.api.charges(mixed).json()["charges"]
        self.assertTrue(charges)
        self.assertEqual({c["resource_id"] for c in charges}, {resource})


class ClampTest(ApiTestCase):
    def test_adjacent_windows_add_up(self):
        start, middle, end = MONTH_START, "2026-11-07T13:17:42.5Z", MONTH_END
        whole, _ = self.api.walk(window(start, end, page_size="1000"))
        left, _ = self.api.walk(window(start, middle, page_size="1000"))
        right, _ = self.api.walk(window(middle, end, page_size="1000"))
        split = totals(left) + totals(right)
        for currency, amount in totals(whole).items():
            # Each charge cut at the middle loses under 1 nano to truncation.
            self.assertLessEqual(abs(amount - split[currency]), len(whole), currency)

    def test_wide_clamped_window_is_exact(self):
        org1 = [c for c in self.dataset["charges"] if c["organization_id"] == ORG1]
        charges, _ = self.api.walk(window("2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z",
                                          page_size="1000"))
        self.assertEqual(totals(charges), totals(org1))

    def test_unclamped_keeps_only_charges_inside(self):
        charges, _ = self.api.walk(window("2026-11-03T00:00:00Z", "2026-11-06T00:00:00Z",
                                          clamp=False, page_size="1000"))
        self.assertTrue(charges)
        for charge in charges:
            self.assertGreaterEqual(charge["start_date"], "2026-11-03T00:00:00Z")
            self.assertLessEqual(charge["end_date"], "2026-11-05T23:59:59Z")
            self.assertIn(charge, self.dataset["charges"])


class ProrationTest(unittest.TestCase):
    """Exact values on a hand-made dataset."""

    CHARGE = {"organization_id": ORG1, "organization_name": "Acme SAS",
              "project_id": "7c1e2b1a-5d3f-4e8a-9b0c-2f4d6a8e0b13", "project_name": "production",
              "sku": "/compute/dev1_s/run_par1", "invoice_id": "", "resource_id": "r1",
              "updated_at": "2026-11-11T03:00:00.123456Z"}

    @classmethod
    def setUpClass(cls):
        def charge(resource, units, nanos, start, end, **extra):
            return dict(cls.CHARGE, resource_id=resource, start_date=start, end_date=end,
                        price={"currency_code": "EUR", "units": units, "nanos": nanos}, **extra)
        cls.day = charge("day", 0, 844800017, "2026-11-10T00:00:00Z", "2026-11-10T23:59:59Z")
        cls.credit = charge("credit", -5, -250000000, "2026-11-10T00:00:00Z",
                            "2026-11-10T23:59:59Z")
        cls.month = charge("month", 30, 0, MONTH_START, "2026-11-30T23:59:59Z")
        cls.cross = charge("cross", 3, 0, "2026-10-30T00:00:00Z", "2026-11-01T23:59:59Z",
                           future_field={"x": 1})
        doc = {"month": MONTH, "organizations": [{"id": ORG1, "name": "Acme SAS"}],
               "keys": {"k": {"organizations": [ORG1]}},
               "charges": [cls.day, cls.credit, cls.month, cls.cross]}
        cls.server = InProcessServer(doc)
        cls.api = Client(cls.server.port)
        cls.doc = doc

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def get(self, start, end, clamp=True):
        resp = self.api.charges(window(start, end, clamp=clamp), "k")
        self.assertEqual(resp.status, 200, resp.body)
        return {c["resource_id"]: c for c in resp.json()["charges"]}

    def test_half_day(self):
        got = self.get("2026-11-10T00:00:00Z", "2026-11-10T12:00:00Z")
        self.assertEqual(sorted(got), ["credit", "day", "month"])
        self.assertEqual(got["day"]["price"], {"currency_code": "EUR", "units": 0,
                                               "nanos": 422400008})
        self.assertEqual(got["credit"]["price"], {"currency_code": "EUR", "units": -2,
                                                  "nanos": -625000000})
        self.assertEqual(got["month"]["price"]["units"], 0)
        self.assertEqual(got["month"]["price"]["nanos"], 500000000)
        self.assertEqual((got["day"]["start_date"], got["day"]["end_date"]),
                         ("2026-11-10T00:00:00Z", "2026-11-10T11:59:59Z"))
        self.assertEqual(got["day"]["updated_at"], self.day["updated_at"])

    def test_month_window(self):
        got = self.get(MONTH_START, MONTH_END)
        for name in ("day", "credit", "month"):
            self.assertEqual(got[name], getattr(self, name))
        self.assertEqual(got["cross"]["price"]["units"], 1)
        self.assertEqual(got["cross"]["price"]["nanos"], 0)
        self.assertEqual(got["cross"]["start_date"], MONTH_START)
        self.assertEqual(got["cross"]["end_date"], self.cross["end_date"])
        self.assertEqual(got["cross"]["future_field"], {"x": 1})

    def test_unclamped(self):
        self.assertEqual(sorted(self.get(MONTH_START, MONTH_END, clamp=False)),
                         ["credit", "day", "month"])
        self.assertEqual(self.get("2026-11-10T00:00:00Z", "2026-11-10T12:00:00Z", clamp=False),
                         {})

    def test_fractional_bounds(self):
        got = self.get("2026-11-10T00:00:00.25Z", "2026-11-10T00:00:01.75Z")
        # 844800017 * 1.5 s / 86400 s = 14666.67 -> 14666
        self.assertEqual(got["day"]["price"]["nanos"], 14666)
        self.assertEqual(got["day"]["start_date"], "2026-11-10T00:00:00.25Z")
        self.assertEqual(got["day"]["end_date"], "2026-11-10T00:00:00.75Z")

    def test_empty_window(self):
        self.assertEqual(self.get("2026-11-10T00:00:00Z", "2026-11-10T00:00:00Z"), {})

    def test_expected_sums(self):
        result = sim.expected_sums(self.doc, ORG1, "2026-11-10T00:00:00Z",
                                   "2026-11-10T12:00:00Z", "resource")
        self.assertEqual(result["currency_totals"], {"EUR": 422400008 - 2625000000 + 500000000})
        self.assertEqual(result["charges"], 3)
        self.assertEqual([g["resource_id"] for g in result["groups"]], ["credit", "day", "month"])


class LatePostingTest(unittest.TestCase):
    """A charge with posted_at (simulator-only) is served from then on, without
    the field, and expected_sums(now=...) agrees."""

    def test_posted_at(self):
        charge = {"organization_id": ORG1, "project_id": "p", "project_name": "n",
                  "sku": "/s", "resource_id": "r", "resource_name": "r",
                  "start_date": "2026-11-30T23:00:00Z", "end_date": "2026-11-30T23:59:59Z",
                  "price": {"currency_code": "EUR", "units": 107, "nanos": 0},
                  "posted_at": "2026-12-01T00:00:20Z"}
        self.assertEqual(sim.posted([charge], sim.parse_ts("2026-12-01T00:00:19Z")), [])
        shown = sim.posted([charge], sim.parse_ts("2026-12-01T00:00:20Z"))
        self.assertEqual(len(shown), 1)
        self.assertNotIn("posted_at", shown[0])
        doc = {"keys": {"k": {"organizations": [ORG1]}}, "charges": [charge]}
        args = (doc, ORG1, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
        self.assertEqual(sim.expected_sums(*args, now="2026-12-01T00:00:00Z")
                         ["currency_totals"], {})
        self.assertEqual(sim.expected_sums(*args, now="2026-12-01T00:01:00Z")
                         ["currency_totals"], {"EUR": 107 * sim.NS})
        self.assertEqual(sim.expected_sums(*args)["currency_totals"], {"EUR": 107 * sim.NS})


class ExpectedSumsTest(ApiTestCase):
    def walk_groups(self, params, key_fields):
        charges, _ = self.api.walk(params + [("page_size", "1000")])
        groups = collections.Counter()
        for charge in charges:
            key = tuple(charge.get(f) for f in key_fields) + (charge["price"]["currency_code"],)
            groups[key] += nanos(charge)
        return charges, groups

    def test_matches_api_walk(self):
        start, end = "2026-10-20T00:00:00Z", "2026-11-08T06:30:00.123Z"
        for group_by, key_fields in sim.GROUP_KEYS.items():
            result = sim.expected_sums(self.dataset, ORG1, start, end, group_by)
            charges, groups = self.walk_groups(window(start, end), key_fields)
            self.assertEqual(result["charges"], len(charges))
            self.assertEqual(result["currency_totals"], dict(totals(charges)))
            self.assertEqual({tuple(g[f] for f in key_fields) + (g["currency"],): g["nanos"]
                              for g in result["groups"]}, dict(groups), group_by)
            self.assertEqual(sum(g["charges"] for g in result["groups"]), len(charges))
        self.assertIn("USD", result["currency_totals"])

    def test_project_filter_and_names(self):
        project = next(c["project_id"] for c in self.dataset["charges"]
                       if c["organization_id"] == ORG1 and "project_name" not in c)
        result = sim.expected_sums(self.dataset, ORG1, MONTH_START, MONTH_END, "resource",
                                   [project])
        _, groups = self.walk_groups(window(MONTH_START, MONTH_END) + [("project_ids", project)],
                                     sim.GROUP_KEYS["resource"])
        self.assertEqual(sum(groups.values()), sum(g["nanos"] for g in result["groups"]))
        self.assertEqual({g["project_id"] for g in result["groups"]}, {project})
        self.assertEqual({g["project_name"] for g in result["groups"]}, {None})


class FaultTest(ApiTestCase):
    PARAMS = window(MONTH_START, MONTH_END, page_size="10")

    def set_faults(self, faults):
        resp = self.api.post("/_sim/faults", faults)
        self.assertEqual(resp.status, 200, resp.body)

    def tokens(self, count):
        """page_token values for pages 1..count of PARAMS (None for page 1)."""
        tokens = [None]
        while len(tokens) < count:
            tokens.append(self.page(tokens[-1]).json()["next_page_token"])
        return tokens

    def page(self, token=None):
        return self.api.charges(self.PARAMS + ([("page_token", token)] if token else []))

    def test_invalid_fault_lists(self):
        for faults in ({"kind": "status"}, [{"kind": "nope"}], [{"kind": "status"}],
                       [{"kind": "slow"}], [{"kind": "status", "status": 500, "page": 0}],
                       [{"kind": "random", "choices": ["status200"]}]):
            self.assertEqual(self.api.post("/_sim/faults", faults).status, 400, faults)

    def test_status_5xx_then_recovery(self):
        self.set_faults([{"kind": "status", "status": 503, "times": 2}])
        for _ in range(2):
            resp = self.api.charges(self.PARAMS)
            self.assertEqual(resp.status, 503)
            self.assertEqual(resp.body, b"<html>upstream error</html>")
            self.assertTrue(resp.headers["Content-Type"].startswith("text/html"))
        self.assertEqual(self.api.charges(self.PARAMS).status, 200)

    def test_fault_time_range(self):
        now = time.time()
        past = sim.format_ts(int((now - 60) * sim.NS))
        future = sim.format_ts(int((now + 3600) * sim.NS))
        self.set_faults([{"kind": "status", "status": 503, "from": future}])
        self.assertEqual(self.api.charges(self.PARAMS).status, 200)  # not yet
        self.set_faults([{"kind": "status", "status": 503, "from": past}])
        self.assertEqual(self.api.charges(self.PARAMS).status, 503)
        self.set_faults([{"kind": "status", "status": 503, "until": past}])
        self.assertEqual(self.api.charges(self.PARAMS).status, 200)  # over
        self.assertEqual(self.api.post("/_sim/faults", [{"kind": "status", "status": 503,
                                                         "from": "soon"}]).status, 400)

    def test_status_4xx_json(self):
        self.set_faults([{"kind": "status", "status": 404}])
        resp = self.api.charges(self.PARAMS)
        self.assertEqual((resp.status, resp.json()["type"]), (404, "not_found"))
        self.set_faults([{"kind": "status", "status": 409}])
        self.assertEqual(self.api.charges(self.PARAMS).json()["type"], "conflict")

    def test_page_selector(self):
        tokens = self.tokens(3)
        self.set_faults([{"kind": "status", "status": 500, "page": 2}])
        self.assertEqual([self.page(t).status for t in tokens], [200, 500, 200])
        self.assertEqual([e["page"] for e in self.api.log()[-3:]], [1, 2, 3])

    def test_429(self):
        self.set_faults([{"kind": "429", "retry_after": "2", "reset_seconds": 3, "times": 1},
                         {"kind": "429"}])
        first, second = self.api.charges(self.PARAMS), self.api.charges(self.PARAMS)
        self.assertEqual((first.status, first.headers["Retry-After"]), (429, "2"))
        self.assertEqual(first.json(), {"type": "too_many_requests",
                                        "help_message": "rate limited", "reset_seconds": 3})
        self.assertEqual((second.status, second.headers["Retry-After"]), (429, None))
        self.assertEqual(second.json()["reset_seconds"], 1)

    def test_slow_does_not_block_other_requests(self):
        token = self.tokens(2)[1]
        self.set_faults([{"kind": "slow", "seconds": 1.5, "page": 2}])
        slow = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=DEADLINE_S)
        started = time.monotonic()
        slow.request("GET", f"{sim.CHARGES_PATH}?{urlencode(self.PARAMS + [('page_token', token)])}",
                     headers={"X-Auth-Token": "sim-secret-key"})
        fast = self.page()
        fast_done = time.monotonic() - started
        resp = slow.getresponse()
        slow_done = time.monotonic() - started
        body = json.loads(resp.read())
        slow.close()
        self.assertEqual(fast.status, 200)
        self.assertLess(fast_done, 1.0)
        self.assertEqual(resp.status, 200)
        self.assertGreaterEqual(slow_done, 1.5)
        self.assertEqual(len(body["charges"]), 10)

    def test_malformed(self):
        normal = self.api.charges(self.PARAMS)
        self.set_faults([{"kind": "malformed", "times": 1}])
        cut = self.api.charges(self.PARAMS)
        self.assertEqual(cut.status, 200)
        self.assertEqual(cut.body, normal.body[:len(normal.body) // 2])
        with self.assertRaises(ValueError):
            cut.json()

    def test_bad_json_type(self):
        normal = self.api.charges(self.PARAMS).json()
        self.set_faults([{"kind": "bad_json_type"}])
        bad = self.api.charges(self.PARAMS).json()
        self.assertEqual(bad["charges"][0]["price"]["units"], 1.5)
        self.assertIsInstance(bad["charges"][0]["price"]["units"], float)
        self.assertEqual(bad["charges"][1:], normal["charges"][1:])

    def test_repeat_token_loops(self):
        self.set_faults([{"kind": "repeat_token"}])
        token = self.page().json()["next_page_token"]
        for _ in range(3):
            page = self.api.charges(self.PARAMS + [("page_token", token)]).json()
            self.assertEqual(page["next_page_token"], token)
        single = window("2026-11-05T00:00:00Z", "2026-11-05T01:00:00Z", page_size="1000")
        self.assertIn("next_page_token", self.api.charges(single).json())

    def test_drop_connection(self):
        self.set_faults([{"kind": "drop_connection", "times": 1}])
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.api.charges(self.PARAMS)
        self.assertEqual(self.api.charges(self.PARAMS).status, 200)
        entry = self.api.log()[0]
        self.assertEqual((entry["status"], entry["fault"]), (None, "drop_connection"))

    def test_last_token_styles(self):
        single = window("2026-11-05T00:00:00Z", "2026-11-05T01:00:00Z", page_size="1000")
        self.assertNotIn("next_page_token", self.api.charges(single).json())
        for style, value in (("null", None), ("empty", ""), ("absent", "missing")):
            self.set_faults([{"kind": "last_token", "style": style}])
            self.assertTrue(self.page().json()["next_page_token"])  # not the last page
            body = self.api.charges(single).json()
            self.assertEqual(body.get("next_page_token", "missing"), value, style)

    def test_body_faults_wait_for_a_200(self):
        self.set_faults([{"kind": "malformed", "times": 1}])
        self.assertEqual(self.api.charges(self.PARAMS, "bad-key").json(), sim.UNAUTHENTICATED)
        with self.assertRaises(ValueError):
            self.api.charges(self.PARAMS).json()

    def outcomes(self, count):
        result = []
        for _ in range(count):
            try:
                resp = self.api.charges(self.PARAMS)
            except (http.client.RemoteDisconnected, ConnectionError):
                result.append("dropped")
                continue
            try:
                resp.json()
                result.append(resp.status)
            except ValueError:
                result.append(f"{resp.status}-unparsable")
        return result

    def test_random_is_seeded(self):
        spec = {"kind": "random", "seed": 42, "rate": 0.5, "slow_seconds": 0.01,
                "choices": ["status500", "malformed", "429", "slow", "drop_connection"]}
        self.set_faults([spec])
        first = self.outcomes(40)
        self.api.post("/_sim/reset", None)
        self.set_faults([spec])
        self.assertEqual(self.outcomes(40), first)
        faulty = [o for o in first if o != 200]
        self.assertTrue(5 < len(faulty) < 35, first)
        self.assertIn("dropped", first)
        self.assertIn("500-unparsable", first)
        self.set_faults([dict(spec, rate=0)])
        self.assertEqual(self.outcomes(5), [200] * 5)
        self.set_faults([dict(spec, rate=1, choices=["429"])])
        self.assertEqual(self.outcomes(5), [429] * 5)


class RequestLogTest(ApiTestCase):
    def test_log_entries(self):
        params = window(MONTH_START, MONTH_END, page_size="10")
        before = time.time()
        page = self.api.charges(params).json()
        token = page["next_page_token"]
        self.api.charges(params + [("page_token", token)])
        self.api.charges(params, "wrong-key")
        self.api.request("GET", "/billing/v2beta1/other", "sim-secret-key")
        log = self.api.log()
        self.assertEqual([e["seq"] for e in log], [1, 2, 3, 4])
        # "received": wall-clock time the request arrived (for retry timing).
        received = log[0].pop("received")
        self.assertTrue(before <= received <= time.time(), received)
        self.assertEqual(log[0], {
            "seq": 1, "path": sim.CHARGES_PATH, "query": {k: [v] for k, v in params},
            "auth_ok": True, "status": 200, "page": 1, "fault": None, "charges": 10,
            "token_in": None, "token_out": token})
        self.assertEqual((log[1]["page"], log[1]["token_in"]), (2, token))
        self.assertEqual((log[2]["auth_ok"], log[2]["status"], log[2]["charges"]),
                         (False, 401, 0))
        self.assertEqual((log[3]["status"], log[3]["auth_ok"]), (404, True))
        self.assertNotIn("sim-secret-key", json.dumps(log))
        self.assertNotIn("wrong-key", json.dumps(log))
        self.api.post("/_sim/reset", None)
        self.assertEqual(self.api.log(), [])

    def test_unknown_paths(self):
        for method, path in (("GET", "/"), ("GET", "/billing/v2beta1/charges/x"),
                             ("POST", sim.CHARGES_PATH), ("GET", "/_sim/other")):
            resp = self.api.request(method, path, "sim-secret-key")
            self.assertEqual(resp.status, 404, path)
            self.assertEqual(resp.json()["type"], "not_found")


# --------------------------------------------------------------------------
# Command line and TLS

class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="finops_sim_test.")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.dataset = os.path.join(self.tmp, "dataset.json")
        self.run_cli("generate", "--out", self.dataset, "--seed", "9", "--month", MONTH,
                     "--now", NOW, "--resources", "40")

    def run_cli(self, *args):
        return subprocess.run([sys.executable, SCRIPT, *args], check=True, capture_output=True,
                              text=True, timeout=60).stdout

    def start(self, *extra):
        port_file = os.path.join(self.tmp, f"port{len(extra)}")
        proc = subprocess.Popen([sys.executable, SCRIPT, "serve", "--dataset", self.dataset,
                                 "--port", "0", "--port-file", port_file, *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.stop, proc)
        port = int(wait_for_file(port_file, proc))
        return proc, port

    @staticmethod
    def stop(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait(DEADLINE_S)
        proc.stdout.close()
        proc.stderr.close()

    def test_generate_is_deterministic(self):
        again = os.path.join(self.tmp, "again.json")
        self.run_cli("generate", "--out", again, "--seed", "9", "--month", MONTH,
                     "--now", NOW, "--resources", "40")
        with open(self.dataset, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_serve_faults_log_and_sigterm(self):
        log_path = os.path.join(self.tmp, "requests.jsonl")
        proc, port = self.start("--faults", '[{"kind": "status", "status": 502, "times": 1}]',
                                "--log-requests", log_path)
        self.assertEqual(read_line(proc.stdout).strip(),
                         f"finops_sim listening on http://127.0.0.1:{port}")
        api = Client(port)
        self.assertEqual(api.charges([("organization_id", ORG1)]).status, 502)
        self.assertEqual(api.charges([("organization_id", ORG1)]).status, 200)
        with open(log_path, encoding="utf-8") as handle:
            lines = [json.loads(line) for line in handle]
        self.assertEqual([(e["status"], e["fault"]) for e in lines], [(502, "status"), (200, None)])
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(DEADLINE_S), 0)

    def test_sigint_exits_cleanly(self):
        proc, port = self.start()
        self.assertEqual(Client(port).charges([("organization_id", ORG1)]).status, 200)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(DEADLINE_S), 0)

    def test_bad_faults_argument(self):
        result = subprocess.run([sys.executable, SCRIPT, "serve", "--dataset", self.dataset,
                                 "--faults", '[{"kind": "bogus"}]'],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown fault kind", result.stderr)

    def test_expected_command(self):
        out = self.run_cli("expected", "--dataset", self.dataset, "--org", ORG1,
                           "--start", MONTH_START, "--end", "2026-11-10T12:00:00Z",
                           "--group-by", "sku")
        self.assertEqual(json.loads(out), sim.expected_sums(
            self.dataset, ORG1, MONTH_START, "2026-11-10T12:00:00Z", "sku"))


@unittest.skipUnless(shutil.which("openssl"), "openssl is needed to make a test certificate")
class TlsTest(unittest.TestCase):
    def test_https(self):
        tmp = tempfile.mkdtemp(prefix="finops_sim_tls.")
        self.addCleanup(shutil.rmtree, tmp)
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True,
                       timeout=60)
        server = InProcessServer(small_dataset(), tls_cert=cert, tls_key=key)
        self.addCleanup(server.stop)
        api = Client(server.port, ssl.create_default_context(cafile=cert))
        charges, _ = api.walk(window(MONTH_START, MONTH_END, page_size="500"))
        self.assertTrue(charges)
        with self.assertRaises(ssl.SSLError):
            Client(server.port, ssl.create_default_context()).charges([])
        self.assertEqual(api.charges([("organization_id", ORG1)]).status, 200)


if __name__ == "__main__":
    if "--tap" in sys.argv or os.environ.get("SCW_TAP"):
        import tap_unittest
        tap_unittest.main()
    else:
        unittest.main()
