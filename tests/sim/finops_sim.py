#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Local simulator of Scaleway's Billing FinOps API (GET /billing/v2beta1/charges).

Python 3.11 standard library only (runs with Debian 12's /usr/bin/python3).
Sub-commands:

  serve     serve a dataset over HTTP (or HTTPS) with optional fault injection
  generate  write a deterministic, realistic dataset
  expected  print the per-group totals a clamped query should produce

Faithful to /work/shared/spec/finops-api.md; the guesses it had to make are:

* Auth: unknown or missing X-Auth-Token -> 401, checked first; then the query
  is validated (400); then permissions (403).
* Window [A, B) = [start_date_after, end_date_before), defaulting to the current
  UTC calendar month.  A charge covers [start, end + 1 s) because end_date is
  inclusive to the second.
    clamp_to_time_range=false (default): keep charges with start >= A and
        end < B, unchanged.
    clamp_to_time_range=true: keep charges overlapping [A, B).  A charge fully
        inside is unchanged.  Otherwise start_date = max(start, A), end_date =
        min(end + 1 s, B) - 1 s, and the price is prorated:
            prorated = trunc_toward_zero(total * overlap / duration)
        with total = units*1e9 + nanos, duration = end + 1 s - start and
        overlap = min(end + 1 s, B) - max(start, A), all in integer nanoseconds
        (bounds may carry 0-9 fractional digits; nothing is rounded).
* Order: start_date (as served, i.e. after clamping), ties in dataset order.
* Page tokens are standard base64 of a magic prefix + JSON {offset,
  fingerprint}.  The prefix makes every token start with "+/+/", so a client
  that does not URL-encode the token gets a 400.  The fingerprint covers every
  other parameter (page_size included), so a token replayed with a different
  query is rejected with 400 argument_name "page_token".

Design: every time is an integer count of nanoseconds since the epoch and every
amount an integer count of nano-units; no floats.  A request goes through
parse_query() -> Dataset.select() (filters, window, clamping, order; cached,
the dataset never changes) -> a page cut by offset.  expected_sums() calls the
same Dataset.select(), so it always agrees with the server.  Faults are chosen
once the normal outcome is known: the first fault in the list whose page
matches, that has firings left and that applies to that outcome (e.g.
'malformed' needs a 200) fires; at most one fault fires per request.
"""

import argparse
import base64
import datetime as dt
import functools
import hashlib
import json
import os
import random
import re
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NS = 1_000_000_000
DAY_NS = 86_400 * NS
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
CHARGES_PATH = "/billing/v2beta1/charges"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

# --------------------------------------------------------------------------
# Time and money (integers only)

_TS_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"([Zz]|[+-]\d{2}:\d{2})\Z")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")


def parse_ts(text):
    """RFC 3339 (0-9 fractional digits, Z or offset) -> ns since the epoch."""
    match = _TS_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = int((match.group(7) or "").ljust(9, "0"))
    zone = match.group(8)
    offset_s = 0
    if zone not in ("Z", "z"):
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"bad UTC offset in {text!r}")
        offset_s = (hours * 3600 + minutes * 60) * (1 if zone[0] == "+" else -1)
    moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)
    seconds = (moment - EPOCH) // dt.timedelta(seconds=1) - offset_s
    return seconds * NS + fraction


def format_ts(ns):
    """ns since the epoch -> RFC 3339 UTC, fraction only when non-zero."""
    seconds, fraction = divmod(ns, NS)
    text = (EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


def month_bounds(ns):
    """[start of the UTC month containing ns, start of the next month)."""
    day = (EPOCH + dt.timedelta(seconds=ns // NS)).date()
    first = dt.datetime(day.year, day.month, 1, tzinfo=dt.timezone.utc)
    following = dt.datetime(day.year + day.month // 12, day.month % 12 + 1, 1,
                            tzinfo=dt.timezone.utc)
    return tuple((moment - EPOCH) // dt.timedelta(seconds=1) * NS
                 for moment in (first, following))


def pause(seconds):
    """time.sleep that also works under libfaketime with
    FAKETIME_DONT_FAKE_MONOTONIC (the tests' faketime runs): there, Python's
    time.sleep (clock_nanosleep on an absolute CLOCK_MONOTONIC deadline)
    fails with EINVAL, while a timed lock wait is left alone."""
    threading.Event().wait(seconds)


def money_nanos(price):
    return int(price["units"]) * NS + int(price["nanos"])


def split_nanos(total):
    """Signed nano-units -> (units, nanos) with the same sign."""
    units, nanos = divmod(abs(total), NS)
    return (-units, -nanos) if total < 0 else (units, nanos)


def prorate(total, overlap, duration):
    """trunc_toward_zero(total * overlap / duration), integers only."""
    part = abs(total) * overlap // duration
    return -part if total < 0 else part


# --------------------------------------------------------------------------
# Scaleway-style errors

UNAUTHENTICATED = {"message": "authentication is denied", "method": "api_key",
                   "reason": "not_found", "type": "denied_authentication"}
FORBIDDEN = {"details": [{"action": "read", "resource": "billing"}],
             "message": "insufficient permissions", "type": "permissions_denied"}


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def invalid_argument(name, reason, help_message):
    return ApiError(400, {
        "details": [{"argument_name": name, "help_message": help_message,
                     "reason": reason}],
        "message": "invalid argument(s)", "type": "invalid_arguments"})


def not_found_body(resource_id):
    return {"message": "resource is not found", "resource": "path",
            "resource_id": resource_id, "type": "not_found"}


def error_body(status):
    """The JSON body a Scaleway gateway would send for a 4xx status."""
    if status == 400:
        return invalid_argument("unknown", "unknown", "invalid request").body
    if status == 401:
        return UNAUTHENTICATED
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return not_found_body(CHARGES_PATH)
    if status == 429:
        return {"type": "too_many_requests", "help_message": "rate limited"}
    try:
        phrase = HTTPStatus(status).phrase.lower()
    except ValueError:
        phrase = "error"
    return {"message": phrase, "type": phrase.replace(" ", "_")}


# --------------------------------------------------------------------------
# Query parsing

ALIASES = {
    "organization_id": "organizationId", "project_ids": "projectIds",
    "start_date_after": "startDateAfter", "end_date_before": "endDateBefore",
    "invoice_ids": "invoiceIds", "resource_ids": "resourceIds",
    "resource_names": "resourceNames", "skus": "skus",
    "clamp_to_time_range": "clampToTimeRange", "order_by": "orderBy",
    "page_size": "pageSize", "page_token": "pageToken",
}
ORDERS = ("start_date_asc", "start_date_desc")


@dataclass(frozen=True)
class Selection:
    """What Dataset.select() needs: filters, window, clamping and order."""
    organization_id: str | None
    start_ns: int
    end_ns: int
    project_ids: frozenset = frozenset()
    invoice_ids: frozenset = frozenset()
    resource_ids: frozenset = frozenset()
    resource_names: frozenset = frozenset()
    skus: frozenset = frozenset()
    clamp: bool = False
    descending: bool = False


@dataclass(frozen=True)
class Query:
    selection: Selection
    page_size: int
    offset: int

    def fingerprint(self):
        sel = self.selection
        parts = [sel.organization_id, sel.start_ns, sel.end_ns, sel.clamp,
                 sel.descending, self.page_size] + [
            sorted(s) for s in (sel.project_ids, sel.invoice_ids, sel.resource_ids,
                                sel.resource_names, sel.skus)]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def param_values(params, name):
    """All values of a parameter, under its snake_case or camelCase name."""
    values = list(params.get(name, []))
    alias = ALIASES[name]
    if alias != name:
        values += params.get(alias, [])
    return values


def param_value(params, name):
    values = param_values(params, name)
    return values[0] if values else None


def _uuid_list(params, name):
    values = param_values(params, name)
    for value in values:
        if not _UUID_RE.match(value):
            raise invalid_argument(name, "format", "value must be a valid UUID")
    return frozenset(values)


def _timestamp(params, name, default):
    value = param_value(params, name)
    if value is None:
        return default
    try:
        return parse_ts(value)
    except ValueError:
        raise invalid_argument(name, "format", "value must be a RFC 3339 timestamp") \
            from None


def _boolean(params, name):
    value = param_value(params, name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise invalid_argument(name, "format", "value must be true or false")
    return value.lower() == "true"


def _page_size(params):
    value = param_value(params, "page_size")
    if value is None:
        return DEFAULT_PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise invalid_argument("page_size", "constraint",
                               f"value must be between 1 and {MAX_PAGE_SIZE}")
    return int(value)


def parse_query(params, now_ns):
    """Query-string dict (name -> [values]) -> Query, or raise ApiError(400)."""
    organization_id = param_value(params, "organization_id") or None
    project_ids = _uuid_list(params, "project_ids")
    if organization_id is None and not project_ids:
        raise invalid_argument("organization_id", "required",
                               "organization_id or project_ids is required")
    if organization_id is not None and not _UUID_RE.match(organization_id):
        raise invalid_argument("organization_id", "format", "value must be a valid UUID")
    month_start, month_end = month_bounds(now_ns)
    order = param_value(params, "order_by") or ORDERS[0]
    if order not in ORDERS:
        raise invalid_argument("order_by", "format",
                               "value must be start_date_asc or start_date_desc")
    selection = Selection(
        organization_id=organization_id,
        start_ns=_timestamp(params, "start_date_after", month_start),
        end_ns=_timestamp(params, "end_date_before", month_end),
        project_ids=project_ids,
        invoice_ids=_uuid_list(params, "invoice_ids"),
        resource_ids=frozenset(param_values(params, "resource_ids")),
        resource_names=frozenset(param_values(params, "resource_names")),
        skus=frozenset(param_values(params, "skus")),
        clamp=_boolean(params, "clamp_to_time_range"),
        descending=order == "start_date_desc")
    query = Query(selection, _page_size(params), 0)
    token = param_value(params, "page_token")
    if not token:
        return query
    try:
        offset, fingerprint = read_token(token)
    except ValueError:
        raise invalid_argument("page_token", "format", "invalid page token") from None
    if fingerprint != query.fingerprint():
        raise invalid_argument("page_token", "constraint",
                               "page token does not match the query")
    return Query(selection, query.page_size, offset)


# --------------------------------------------------------------------------
# Page tokens

_TOKEN_MAGIC = b"\xfb\xff\xbf"  # base64 "+/+/": tokens always need URL-encoding


def make_token(offset, fingerprint):
    payload = json.dumps({"offset": offset, "query": fingerprint}).encode()
    return base64.b64encode(_TOKEN_MAGIC + payload).decode()


def read_token(token):
    """Token -> (offset, fingerprint); ValueError when it is not ours."""
    raw = base64.b64decode(token, validate=True)
    if not raw.startswith(_TOKEN_MAGIC):
        raise ValueError("bad token prefix")
    payload = json.loads(raw[len(_TOKEN_MAGIC):])
    offset, fingerprint = payload.get("offset"), payload.get("query")
    if type(offset) is not int or offset < 0 or not isinstance(fingerprint, str):
        raise ValueError("bad token payload")
    return offset, fingerprint


def page_index(params):
    """1-based page a request asks for, from its token; None if unreadable."""
    token = param_value(params, "page_token")
    if not token:
        return 1
    size = param_value(params, "page_size") or str(DEFAULT_PAGE_SIZE)
    try:
        offset, _ = read_token(token)
        return offset // int(size) + 1 if size.isdigit() and int(size) > 0 else None
    except ValueError:
        return None


# --------------------------------------------------------------------------
# Dataset and selection

_FILTERS = (("project_id", "project_ids"), ("invoice_id", "invoice_ids"),
            ("resource_id", "resource_ids"), ("resource_name", "resource_names"),
            ("sku", "skus"))


class Dataset:
    """An immutable dataset: charges with their parsed start/end, and keys."""

    def __init__(self, doc):
        self.doc = doc
        self.keys = {key: frozenset(entry.get("organizations", []))
                     for key, entry in doc["keys"].items()}
        self.charges = []
        for charge in doc["charges"]:
            start, end = parse_ts(charge["start_date"]), parse_ts(charge["end_date"])
            if end < start:
                raise ValueError(f"charge ends before it starts: {charge}")
            self.charges.append((start, end, charge))
        self.project_org = {c["project_id"]: c["organization_id"] for c in doc["charges"]}
        self.select = functools.lru_cache(maxsize=64)(self._select)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls(json.load(handle))

    def check_permission(self, key_orgs, selection):
        """Raise 403 unless the key covers the organization and every project."""
        if selection.organization_id and selection.organization_id not in key_orgs:
            raise ApiError(403, FORBIDDEN)
        for project_id in selection.project_ids:
            org = self.project_org.get(project_id)
            if org is not None and org not in key_orgs:
                raise ApiError(403, FORBIDDEN)

    def _select(self, selection):
        """Matching charges as served (clamped, prorated), in order."""
        served = []
        for start, end, charge in self.charges:
            if _matches(charge, selection):
                cut = _cut_to_window(start, end, charge, selection)
                if cut is not None:
                    served.append(cut)
        served.sort(key=lambda item: item[0], reverse=selection.descending)
        return tuple(charge for _, charge in served)


def _matches(charge, selection):
    if selection.organization_id and charge.get("organization_id") != selection.organization_id:
        return False
    for charge_field, selection_field in _FILTERS:
        wanted = getattr(selection, selection_field)
        if wanted and charge.get(charge_field) not in wanted:
            return False
    return True


def _cut_to_window(start, end, charge, selection):
    """(served start ns, charge as served), or None when outside the window."""
    lo_bound, hi_bound = selection.start_ns, selection.end_ns
    if not selection.clamp:
        inside = start >= lo_bound and end < hi_bound
        return (start, charge) if inside else None
    end_exclusive = end + NS
    lo, hi = max(start, lo_bound), min(end_exclusive, hi_bound)
    if lo >= hi:
        return None
    if lo == start and hi == end_exclusive:
        return start, charge
    clamped = dict(charge, start_date=format_ts(lo), end_date=format_ts(hi - NS))
    price = charge.get("price")
    if price:
        units, nanos = split_nanos(prorate(money_nanos(price), hi - lo, end_exclusive - start))
        clamped["price"] = dict(price, units=units, nanos=nanos)
    return lo, clamped


# --------------------------------------------------------------------------
# Expected sums (same selection code as the server, clamp_to_time_range=true)

GROUP_KEYS = {"organization": (), "project": ("project_id",),
              "sku": ("project_id", "sku"), "resource": ("project_id", "sku", "resource_id")}


def posted(charges, now_ns):
    """The charges the API shows at now_ns: a charge with "posted_at" (a
    simulator-only field, for late charges) appears from that instant on.
    The field itself is never served."""
    out = []
    for charge in charges:
        at = charge.get("posted_at")
        if at is None:
            out.append(charge)
        elif parse_ts(at) <= now_ns:
            out.append({k: v for k, v in charge.items() if k != "posted_at"})
    return out


def expected_sums(dataset, org_id, start, end, group_by="project", project_ids=None,
                  now=None):
    """Totals for a clamped query, grouped by raw ids and currency.

    dataset: a Dataset, a dataset dict or a path.  Charges without a price are
    counted in "charges" but add nothing to the sums. now (RFC 3339): only
    the charges posted by then; None: every charge.
    """
    if isinstance(dataset, str):
        dataset = Dataset.load(dataset)
    elif isinstance(dataset, dict):
        dataset = Dataset(dataset)
    key_fields = GROUP_KEYS[group_by]
    selection = Selection(organization_id=org_id, start_ns=parse_ts(start),
                          end_ns=parse_ts(end), project_ids=frozenset(project_ids or ()),
                          clamp=True)
    charges = dataset.select(selection)
    if now is not None:
        charges = posted(charges, parse_ts(now))
    totals, groups = {}, {}
    for charge in charges:
        price = charge.get("price")
        if not price:
            continue
        currency = price["currency_code"]
        nanos = money_nanos(price)
        totals[currency] = totals.get(currency, 0) + nanos
        key = tuple(charge.get(name) for name in key_fields) + (currency,)
        group = groups.setdefault(key, _new_group(charge, key_fields, currency))
        group["nanos"] += nanos
        group["charges"] += 1
        if "project_id" in key_fields:
            group["project_name"] = charge.get("project_name")
        if "resource_id" in key_fields:
            group["resource_name"] = charge.get("resource_name")
    ordered = [groups[key] for key in sorted(groups, key=lambda k: [v or "" for v in k])]
    return {"currency_totals": totals, "groups": ordered, "charges": len(charges)}


def _new_group(charge, key_fields, currency):
    group = {name: None for name in
             ("project_id", "project_name", "sku", "resource_id", "resource_name")}
    group.update({name: charge.get(name) for name in key_fields})
    group.update(currency=currency, nanos=0, charges=0)
    return group


# --------------------------------------------------------------------------
# Faults

STATELESS_KINDS = {"status", "429", "slow", "drop_connection"}
BODY_KINDS = {"malformed", "bad_json_type", "repeat_token", "last_token"}
RANDOM_CHOICES = re.compile(r"status[45]\d\d|429|slow|malformed|bad_json_type|drop_connection")


def in_time_range(spec, now_ns):
    """A fault with "from"/"until" (RFC 3339) fires only in [from, until)."""
    if spec.get("from") and now_ns < parse_ts(spec["from"]):
        return False
    return not (spec.get("until") and now_ns >= parse_ts(spec["until"]))


def validate_fault(spec):
    """Raise ValueError unless spec is a well-formed fault."""
    if not isinstance(spec, dict):
        raise ValueError(f"fault must be an object: {spec!r}")
    kind = spec.get("kind")
    if kind not in STATELESS_KINDS | BODY_KINDS | {"random"}:
        raise ValueError(f"unknown fault kind: {kind!r}")
    for name, minimum in (("page", 1), ("times", 0)):
        value = spec.get(name)
        if value is not None and (type(value) is not int or value < minimum):
            raise ValueError(f"fault {name} must be an integer >= {minimum}")
    if kind == "status" and (type(spec.get("status")) is not int
                             or not 400 <= spec["status"] <= 599):
        raise ValueError("status fault needs an integer status 400..599")
    for name in ("from", "until"):
        if spec.get(name) is not None:
            parse_ts(spec[name])  # ValueError when not RFC 3339
    if kind == "slow" and not isinstance(spec.get("seconds"), (int, float)):
        raise ValueError("slow fault needs seconds")
    if kind == "last_token" and spec.get("style", "absent") not in ("absent", "null", "empty"):
        raise ValueError("last_token style must be absent, null or empty")
    if kind == "random":
        choices = spec.get("choices")
        if not choices or not all(isinstance(c, str) and RANDOM_CHOICES.fullmatch(c)
                                  for c in choices):
            raise ValueError(f"bad random choices: {choices!r}")
        rate = spec.get("rate", 0)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError("random rate must be within 0..1")


def random_fault(spec, seq):
    """The fault a 'random' spec injects into request number seq, or None."""
    rng = random.Random(f"{spec.get('seed', 0)}:{seq}")
    if rng.random() >= spec.get("rate", 0):
        return None
    choice = rng.choice(spec["choices"])
    if choice.startswith("status"):
        return {"kind": "status", "status": int(choice[6:])}
    if choice == "429":
        return {"kind": "429", "reset_seconds": spec.get("reset_seconds", 1)}
    if choice == "slow":
        return {"kind": "slow", "seconds": spec.get("slow_seconds", 0.5)}
    return {"kind": choice}


def fault_applies(fault, outcome):
    kind = fault["kind"]
    if kind in STATELESS_KINDS:
        return True
    if outcome.status != 200:
        return False
    if kind == "bad_json_type":
        return bool(outcome.charges)
    if kind == "last_token":
        return outcome.next_token is None
    return True


class FaultPlan:
    """The configured faults with the number of firings each has left."""

    def __init__(self, specs):
        if not isinstance(specs, list):
            raise ValueError("faults must be a JSON list")
        for spec in specs:
            validate_fault(spec)
        self._entries = [[spec, spec.get("times")] for spec in specs]

    def pick(self, seq, page, outcome, now_ns=None):
        for entry in self._entries:
            spec, left = entry
            if left is not None and left <= 0:
                continue
            if spec.get("page") is not None and spec["page"] != page:
                continue
            if now_ns is not None and not in_time_range(spec, now_ns):
                continue
            fault = random_fault(spec, seq) if spec["kind"] == "random" else spec
            if fault is None or not fault_applies(fault, outcome):
                continue
            if left is not None:
                entry[1] = left - 1
            return fault
        return None


# --------------------------------------------------------------------------
# Responses

@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    token_out: str | None = None


@dataclass
class Outcome:
    """The normal (fault-free) result of a charges request."""
    status: int
    auth_ok: bool
    error: dict | None = None
    charges: list | None = None
    next_token: str | None = None
    following_token: str | None = None  # token for offset + page_size, always


def json_reply(status, obj, token_out=None):
    return Reply(status, json.dumps(obj).encode(), token_out=token_out)


def list_charges(dataset, params, auth_token, now_ns):
    """Fault-free handling of GET /billing/v2beta1/charges."""
    key_orgs = dataset.keys.get(auth_token) if auth_token else None
    if key_orgs is None:
        return Outcome(401, False, error=UNAUTHENTICATED)
    try:
        query = parse_query(params, now_ns)
        dataset.check_permission(key_orgs, query.selection)
    except ApiError as err:
        return Outcome(err.status, True, error=err.body)
    charges = posted(dataset.select(query.selection), now_ns)
    end = query.offset + query.page_size
    following = make_token(end, query.fingerprint())
    return Outcome(200, True, charges=list(charges[query.offset:end]),
                   next_token=following if end < len(charges) else None,
                   following_token=following)


def build_reply(outcome, fault, token_in):
    """The reply for an outcome, altered by the fault (None = drop the connection)."""
    kind = fault["kind"] if fault else None
    if kind == "drop_connection":
        return None
    if kind == "status":
        return status_reply(fault["status"])
    if kind == "429":
        return rate_limit_reply(fault)
    if outcome.status != 200:
        return json_reply(outcome.status, outcome.error)
    charges, next_token, last_style = outcome.charges, outcome.next_token, "absent"
    if kind == "bad_json_type":
        first = dict(charges[0], price=dict(charges[0].get("price") or
                                            {"currency_code": "EUR", "nanos": 0}, units=1.5))
        charges = [first] + charges[1:]
    elif kind == "repeat_token":
        next_token = token_in or outcome.following_token
    elif kind == "last_token":
        last_style = fault.get("style", "absent")
    body = {"charges": charges}
    if next_token is not None:
        body["next_page_token"] = next_token
    elif last_style != "absent":
        body["next_page_token"] = None if last_style == "null" else ""
    reply = json_reply(200, body, token_out=body.get("next_page_token"))
    if kind == "malformed":
        reply.body = reply.body[:len(reply.body) // 2]
    return reply


def status_reply(status):
    if status >= 500:
        return Reply(status, b"<html>upstream error</html>", "text/html")
    return json_reply(status, error_body(status))


def rate_limit_reply(fault):
    body = {"type": "too_many_requests", "help_message": "rate limited",
            "reset_seconds": fault.get("reset_seconds", 1)}
    reply = json_reply(429, body)
    if "retry_after" in fault:
        reply.headers["Retry-After"] = str(fault["retry_after"])
    return reply


# --------------------------------------------------------------------------
# HTTP server

class SimState:
    """Shared, lock-protected server state: dataset, faults, request log."""

    def __init__(self, dataset, faults=(), log_path=None):
        self.dataset = dataset
        self.log_path = log_path
        self._lock = threading.Lock()
        self._plan = FaultPlan(list(faults))
        self._log = []
        self._seq = 0

    def next_seq(self):
        with self._lock:
            self._seq += 1
            return self._seq

    def pick_fault(self, seq, page, outcome, now_ns=None):
        with self._lock:
            return self._plan.pick(seq, page, outcome, now_ns)

    def set_faults(self, specs):
        plan = FaultPlan(specs)
        with self._lock:
            self._plan = plan

    def reset(self):
        with self._lock:
            self._plan = FaultPlan([])
            self._log = []
            self._seq = 0

    def record(self, entry):
        with self._lock:
            self._log.append(entry)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry) + "\n")

    def requests(self):
        with self._lock:
            return list(self._log)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    # Headers and body go out in two writes; with Nagle the body of every
    # kept-alive page then waits for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def version_string(self):
        return "Scaleway API-Gateway"

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 (base-class signature)
        """Quiet: use --log-requests or GET /_sim/requests instead."""

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        url = urlsplit(self.path)
        body = self._read_body()
        sim = self.server.sim
        try:
            if (method, url.path) == ("GET", CHARGES_PATH):
                self._charges(sim, url)
            elif (method, url.path) == ("GET", "/_sim/requests"):
                self._send(json_reply(200, sim.requests()))
            elif (method, url.path) == ("POST", "/_sim/faults"):
                self._send(self._set_faults(sim, body))
            elif (method, url.path) == ("POST", "/_sim/reset"):
                sim.reset()
                self._send(json_reply(200, {"reset": True}))
            else:
                self._not_found(sim, url)
        except Exception:  # a simulator bug: say so loudly, answer 500
            traceback.print_exc()
            self._send(json_reply(500, {"message": "simulator error", "type": "internal"}))

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 1 << 20)) if length > 0 else b""

    def _charges(self, sim, url):
        params = parse_qs(url.query, keep_blank_values=True)
        received = time.time()
        seq = sim.next_seq()
        page = page_index(params)
        token_in = param_value(params, "page_token")
        now_ns = time.time_ns()
        outcome = list_charges(sim.dataset, params, self.headers.get("X-Auth-Token"),
                               now_ns)
        fault = sim.pick_fault(seq, page, outcome, now_ns)
        if fault and fault["kind"] == "slow":
            pause(fault["seconds"])
        reply = build_reply(outcome, fault, token_in)
        sim.record({
            "seq": seq, "received": received, "path": url.path, "query": params,
            "auth_ok": outcome.auth_ok,
            "status": reply.status if reply else None, "page": page,
            "fault": fault["kind"] if fault else None,
            "charges": len(outcome.charges or ()) if reply and reply.status == 200 else 0,
            "token_in": token_in, "token_out": reply.token_out if reply else None})
        if reply is None:
            self._drop()
        else:
            self._send(reply)

    def _set_faults(self, sim, body):
        try:
            specs = json.loads(body or b"null")
            sim.set_faults(specs)
        except ValueError as err:
            return json_reply(400, {"message": str(err), "type": "invalid_arguments"})
        return json_reply(200, {"faults": len(specs)})

    def _not_found(self, sim, url):
        reply = json_reply(404, not_found_body(url.path))
        sim.record({
            "seq": sim.next_seq(), "path": url.path,
            "query": parse_qs(url.query, keep_blank_values=True),
            "auth_ok": self.headers.get("X-Auth-Token") in sim.dataset.keys,
            "status": 404, "page": None, "fault": None, "charges": 0,
            "token_in": None, "token_out": None})
        self._send(reply)

    def _send(self, reply):
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("X-Request-Id", str(uuid.uuid4()))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, sim, ssl_context=None):
        super().__init__(address, Handler)
        self.sim = sim
        if ssl_context is not None:
            # Handshake in the handler thread (Handler.setup), not in accept().
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True,
                                                  do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)


def make_server(dataset, host="127.0.0.1", port=0, faults=(), log_path=None,
                tls_cert=None, tls_key=None):
    """A bound, not yet serving SimServer (call serve_forever in a thread)."""
    if not isinstance(dataset, Dataset):
        dataset = Dataset.load(dataset) if isinstance(dataset, str) else Dataset(dataset)
    context = None
    if tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls_cert, tls_key)
    return SimServer((host, port), SimState(dataset, faults, log_path), context)


def write_atomically(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# Generator

ORG_FIXED = [("11111111-1111-4111-8111-111111111111", "Acme SAS"),
             ("22222222-2222-4222-8222-222222222222", "Globex Cloud SARL")]
ORG1_PROJECTS = ["production", "shared-name", "shared-name", None, "staging"]  # None: no key
OTHER_PROJECTS = ["web", "infra", "data", "ml", "sandbox", "ci"]
LONG_SKU = ("/object-storage/archive_glacier_class_with_a_deliberately_long_identifier/"
            "storage_par_multi_region_replicated_").ljust(200, "x")
ODD_SKU = "/compute/legacy offer:gp1_xs/run_par1"
SKU_POOL = list(dict.fromkeys(
    ["/compute/dev1_s/run_par1", "/block-storage/sbs_5k/storage_par1",
     "/object-storage/multi_az_standard/storage_par", "/ipam/flexible_ipv4/fr-par-1",
     LONG_SKU, ODD_SKU]
    + [f"/compute/{offer}/run_{zone}" for offer in
       ("dev1_m", "gp1_xs", "gp1_s", "pro2_xxs", "pro2_s", "play2_pico", "pop2_2c_8g")
       for zone in ("par1", "par2", "ams1")]
    + [f"/block-storage/{offer}/storage_{zone}" for offer in ("sbs_15k", "b_ssd")
       for zone in ("par1", "ams1")]
    + ["/object-storage/one_zone_ia/storage_par", "/object-storage/glacier/storage_par",
       "/object-storage/multi_az_standard/traffic_out_par",
       "/ipam/flexible_ipv4/nl-ams-1", "/load-balancer/lb_s/run_par1",
       "/managed-database/db_dev_s/run_par1", "/kubernetes/kapsule_control_plane/run_par",
       "/secret-manager/secret_versions/access", "/transactional-email/emails/sent"]))


class Generator:
    """Builds a dataset deterministically from (seed, month, now).

    Every resource has a charge covering each instant from the month's start
    to the end of the day of now, so even a one-second month-to-date window
    holds a charge per resource. When now is on the month's last day, the next
    month's first day is generated too (after the month, so the month's own
    charges do not change): a clock that passes midnight during a test finds
    the new month populated the same way."""

    def __init__(self, seed, month_start_ns, now_ns):
        self.rng = random.Random(seed)
        self.month_start, self.month_end = month_bounds(month_start_ns)
        self.now = now_ns
        days_in_month = (self.month_end - self.month_start) // DAY_NS
        self.last_day = min(days_in_month, (now_ns - self.month_start) // DAY_NS + 1)
        self.spill = self.month_end - DAY_NS <= now_ns < self.month_end
        self.charges = []

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def build(self, n_orgs, n_projects, n_skus, n_resources):
        orgs = [self._org(i) for i in range(n_orgs)]
        projects = [(org, self._project(org, i, j)) for i, org in enumerate(orgs)
                    for j in range(n_projects)]
        skus = self._skus(n_skus)
        resources = []
        for i in range(n_resources):
            org, project = projects[i % len(projects)]
            sku, daily = skus[i] if i < len(skus) else self.rng.choice(skus)
            resource = self._resource(i, project, sku)
            resources.append((i, org, project, sku, daily, resource))
            self._resource_charges(i, org, project, sku, daily, resource)
        self._special_charges(orgs[0], projects[0][1], skus)
        if self.spill:
            self.month_start, self.month_end = month_bounds(self.month_end)
            self.last_day = 1
            for i, org, project, sku, daily, resource in resources:
                self._resource_charges(i, org, project, sku, daily, resource,
                                       carried_in=False)
            self._special_charges(orgs[0], projects[0][1], skus)
        keys = {"sim-secret-key": {"organizations": [org["id"] for org in orgs]},
                "sim-key-noperm": {"organizations": []}}
        keys.update({f"sim-key-org{i + 1}": {"organizations": [org["id"]]}
                     for i, org in enumerate(orgs)})
        return {"organizations": [{"id": o["id"], "name": o["name"]} for o in orgs],
                "keys": keys, "charges": self.charges}

    def _org(self, index):
        org_id, name = ORG_FIXED[index] if index < len(ORG_FIXED) \
            else (self.uuid(), f"Org {index + 1}")
        return {"id": org_id, "name": name, "invoice": self.uuid()}

    def _project(self, org, org_index, index):
        names = ORG1_PROJECTS if org_index == 0 else OTHER_PROJECTS
        name = names[index] if index < len(names) else f"project-{index + 1}"
        return {"id": self.uuid(), "name": name}

    def _skus(self, count):
        names = SKU_POOL[:count] + [f"/misc/item_{i}/run_par1"
                                    for i in range(len(SKU_POOL), count)]
        return [(name, self._daily_price(i)) for i, name in enumerate(names)]

    def _daily_price(self, index):
        if index % 7 == 6:
            return self.rng.randint(1_000_000_000, 25_000_000_000)
        return self.rng.randint(3_000_000, 900_000_000)

    def _resource(self, index, project, sku):
        return {"id": self._resource_id(index, project, sku),
                "name_mode": self.rng.choices(("present", "absent", "null"), (6, 2, 2))[0],
                "name": f"{sku.split('/')[1]}-{index}"}

    def _resource_charges(self, index, org, project, sku, daily, resource, carried_in=True):
        """The resource's charges from the month's start to last_day;
        carried_in: some resources started in the previous month."""
        first_daily = 1
        if index % 20 == 3:  # billed once for the whole month
            days = (self.month_end - self.month_start) // DAY_NS
            self._charge(org, project, sku, resource, self.month_start,
                         self.month_end, daily * days)
            return
        if index % 25 == 7 and carried_in:  # started in the previous month
            first_daily = min(2, self.last_day) + 1
            start = self.month_start - self.rng.randint(2, 6) * DAY_NS
            end = self.month_start + (first_daily - 1) * DAY_NS
            self._charge(org, project, sku, resource, start, end,
                         daily * ((end - start) // DAY_NS))
        for day in range(first_daily, self.last_day + 1):
            start = self.month_start + (day - 1) * DAY_NS
            price = daily * self.rng.randint(900, 1100) // 1000 + self.rng.randint(1, 999)
            self._charge(org, project, sku, resource, start, start + DAY_NS, price)

    def _resource_id(self, index, project, sku):
        if sku.startswith("/object-storage/") and index % 2 == 0:
            region = self.rng.choice(("fr-par", "nl-ams", "pl-waw"))
            return f"{region}/{project['name'] or 'bucket'}-backups-{index}"
        return self.uuid()

    def _special_charges(self, org, project, skus):
        """One credit (EUR) and one USD charge, on the first day, in org 1."""
        day_end = self.month_start + DAY_NS
        ip_sku = next((name for name, _ in skus if name.startswith("/ipam/")), skus[0][0])
        for sku, name, currency, units, nanos in (
                (skus[0][0], "welcome-credit", "EUR", -5, -250_000_000),
                (ip_sku, "usd-billed-ip", "USD", 3, 141_592_653)):
            resource = {"id": self.uuid(), "name_mode": "present", "name": name}
            self._charge(org, project, sku, resource, self.month_start, day_end,
                         units * NS + nanos, currency)

    def _charge(self, org, project, sku, resource, start, end_exclusive, price, currency="EUR"):
        """Append a charge covering [start, end_exclusive) (served end is inclusive)."""
        done = self.rng.randint(600, 5 * 3600) * NS + self.rng.randint(0, 999_999) * 1000
        updated = max(start + NS, min(end_exclusive + done, self.now))
        units, nanos = split_nanos(price)
        charge = {"organization_id": org["id"], "organization_name": org["name"],
                  "project_id": project["id"]}
        if project["name"] is not None:
            charge["project_name"] = project["name"]
        charge.update(sku=sku, invoice_id=org["invoice"] if end_exclusive <= self.now else "",
                      resource_id=resource["id"])
        if resource["name_mode"] != "absent":
            charge["resource_name"] = resource["name"] if resource["name_mode"] == "present" \
                else None
        charge.update(price={"currency_code": currency, "units": units, "nanos": nanos},
                      start_date=format_ts(start), end_date=format_ts(end_exclusive - NS),
                      updated_at=format_ts(updated))
        self.charges.append(charge)


def generate_dataset(seed=1, month=None, now=None, orgs=2, projects=5, skus=30,
                     resources=300):
    """Dataset dict; month 'YYYY-MM' defaults to the month of now (RFC 3339)."""
    now_ns = parse_ts(now) if now else time.time_ns() // NS * NS
    month_start = parse_ts(f"{month}-01T00:00:00Z") if month else month_bounds(now_ns)[0]
    if now_ns < month_start:
        raise ValueError("--now is before the start of --month")
    if min(orgs, projects, skus) < 1 or resources < 0:
        raise ValueError("--orgs, --projects and --skus must be >= 1")
    doc = Generator(seed, month_start, now_ns).build(orgs, projects, skus, resources)
    return {"month": format_ts(month_start)[:7], "now": format_ts(now_ns), "seed": seed,
            **doc}


# Synthetic months for the forecast's accuracy (README, "Forecast"): six
# resources billed by the hour at 0.10 EUR, one charge per resource and
# hour, in organization 1.
SCENARIOS = {
    # kind: hours of the month each resource is billed, given its index
    "flat": lambda i, hours: range(hours),
    "growing": lambda i, hours: range(120 * i, hours),         # one more every 5 days
    "step": lambda i, hours: range(0 if i < 3 else 360, hours),  # doubles on day 16
    "stopped": lambda i, hours: range(216 if i >= 3 else hours),  # half stop on day 10
    # Billed by the hour up to the monthly price, reached after 500 hours.
    "capped": lambda i, hours: range(min(hours, 500)),
}


def scenario_dataset(kind, month="2026-11"):
    """A dataset of one synthetic month: SCENARIOS[kind]."""
    start, end = month_bounds(parse_ts(f"{month}-01T00:00:00Z"))
    hours = (end - start) // (3600 * NS)
    org, org_name = ORG_FIXED[0]
    charges = []
    for i in range(6):
        resource = f"00000000-0000-4000-8000-{i:012d}"
        for hour in SCENARIOS[kind](i, hours):
            begin = start + hour * 3600 * NS
            charges.append({
                "organization_id": org, "organization_name": org_name,
                "project_id": "aaaaaaaa-0000-4000-8000-000000000001",
                "project_name": "production", "sku": "/compute/pro2_s/run_par1",
                "invoice_id": "", "resource_id": resource, "resource_name": f"vm-{i}",
                "price": {"currency_code": "EUR", "units": 0, "nanos": 100000000},
                "start_date": format_ts(begin),
                "end_date": format_ts(begin + 3599 * NS),
                "updated_at": format_ts(begin + 3600 * NS)})
    return {"month": month, "now": format_ts(end), "seed": 0, "organizations": 1,
            "keys": {"sim-secret-key": {"organizations": [org]}}, "charges": charges}


# --------------------------------------------------------------------------
# Command line

def cmd_serve(args):
    try:
        faults = json.loads(args.faults) if args.faults else []
        server = make_server(args.dataset, args.host, args.port, faults,
                             args.log_requests, args.tls_cert, args.tls_key)
    except (OSError, ValueError, KeyError) as err:
        print(f"finops_sim: {err}", file=sys.stderr)
        return 2
    port = server.server_address[1]
    if args.port_file:
        write_atomically(args.port_file, f"{port}\n")
    scheme = "https" if args.tls_cert else "http"
    print(f"finops_sim listening on {scheme}://{args.host}:{port}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


def cmd_generate(args):
    if args.scenario:
        write_atomically(args.out, json.dumps(scenario_dataset(
            args.scenario, args.month or "2026-11"), indent=1) + "\n")
        return 0
    try:
        doc = generate_dataset(args.seed, args.month, args.now, args.orgs, args.projects,
                               args.skus, args.resources)
    except ValueError as err:
        print(f"finops_sim: {err}", file=sys.stderr)
        return 2
    write_atomically(args.out, json.dumps(doc, indent=1) + "\n")
    return 0


def cmd_expected(args):
    result = expected_sums(args.dataset, args.org, args.start, args.end, args.group_by,
                           args.project_ids)
    print(json.dumps(result, indent=2))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve a dataset")
    serve.add_argument("--dataset", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--port-file")
    serve.add_argument("--faults", help="JSON list of faults")
    serve.add_argument("--log-requests", help="append each request as a JSON line")
    serve.add_argument("--tls-cert")
    serve.add_argument("--tls-key")
    serve.set_defaults(run=cmd_serve)

    generate = commands.add_parser("generate", help="write a dataset")
    generate.add_argument("--out", required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--month", help="YYYY-MM (default: the month of --now)")
    generate.add_argument("--now", help="RFC 3339 (default: current time)")
    generate.add_argument("--orgs", type=int, default=2)
    generate.add_argument("--projects", type=int, default=5)
    generate.add_argument("--skus", type=int, default=30)
    generate.add_argument("--resources", type=int, default=300)
    generate.add_argument("--scenario", choices=sorted(SCENARIOS),
                          help="a synthetic month for the forecast (ignores the rest)")
    generate.set_defaults(run=cmd_generate)

    expected = commands.add_parser("expected", help="print expected clamped sums")
    expected.add_argument("--dataset", required=True)
    expected.add_argument("--org", required=True)
    expected.add_argument("--start", required=True)
    expected.add_argument("--end", required=True)
    expected.add_argument("--group-by", default="project", choices=sorted(GROUP_KEYS))
    expected.add_argument("--project-ids", nargs="*")
    expected.set_defaults(run=cmd_expected)

    args = parser.parse_args(argv)
    if getattr(args, "tls_cert", None) and not args.tls_key:
        parser.error("--tls-cert needs --tls-key")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
