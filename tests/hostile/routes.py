"""The route table of the hostile cases: what each route of ``app.routes`` reads, and valid inputs for it.

``ROUTE_CASES`` holds one ``RouteCase`` per route of the app, by method and path template as
``app.routes`` spells them. Every list of routes that cases run over route by route is derived from
``app.routes`` and from this table, never kept by hand (a targeted case names its own route).
``tests/unit/test_hostile_input.py`` fails when a route of the app is missing from the table (and from
``NOT_FUZZED``), or when the table names a route the app does not have.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app import app
from tests.builders import detainer_body, rollout_body

Route = tuple[str, str]
"""A method and a path template, e.g. ``("GET", "/notices/{notice_id}")``."""

PARAM = re.compile(r"\{(\w+)\}")
STORY = (Path(__file__).resolve().parents[1] / "corpus" / "mail" / "story-inline-forward.eml").read_bytes()


# -- valid bodies, for the fuzz to mutate and the targeted cases to aim at ----------------------------

SUBSCRIBER: dict[str, Any] = {
    "name": "Criminal Justice Policy Adviser",
    "role": "state-executive",
    "organization": "Office of the Governor",
    "ack_required": True,
    "escalation_contact": False,
    "language": "es",
    "channels": [
        {"type": "email", "address": "policy.adviser@example.gov"},
        {"type": "sms", "phone": "(860) 555-0111"},
        {"type": "webhook", "url": "https://cases.example.org/hooks/vigil"},
        {"type": "slack", "url": "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/0123456789abcdef"},
        {
            "type": "teams",
            "url": "https://prod-01.westus.logic.azure.com/workflows/0a1b/triggers/manual?sig=x",
        },
    ],
    "subscriptions": [
        {"jurisdiction": "statewide", "event_types": ["rollout", "detainer"]},
        {"jurisdiction": "Hartford", "event_types": ["rollout"], "scope": "exact"},
    ],
}
PATCH: dict[str, Any] = {
    "name": "Adviser (renamed)",
    "organization": "Office of the Governor",
    "escalation_contact": True,
    "language": "en",
    "add_subscriptions": [{"jurisdiction": "New Haven", "event_types": ["rollout"], "scope": "exact"}],
    "remove_subscriptions": ["Hartford"],
    "enable_channels": [],
}
ROLLOUT_POLICY: dict[str, Any] = {
    "required_roles": ["state-executive"],
    "steps": [
        {"after": "PT0S", "notify": "recipients"},
        {
            "after": "PT15M",
            "notify": "unacknowledged",
            "channels": ["email", "sms", "webhook", "slack", "teams"],
        },
        {"after": "PT1H", "notify": "escalation-contacts"},
        {"after": "PT2H", "notify": "admins"},
    ],
}
DETAINER_POLICY: dict[str, Any] = {
    "required_roles": ["corrections"],
    "steps": [
        {"after": "PT0S", "notify": "recipients"},
        {"after": "PT30M", "notify": "unacknowledged"},
        {"before_deadline": "PT12H", "notify": "escalation-contacts"},
        {"before_deadline": "PT4H", "notify": "admins"},
    ],
}
FACILITY: dict[str, Any] = {
    "name": "Travis County Jail",
    "place": "Travis County, TX",
    "kind": "jail",
    "aliases": ["Travis Jail"],
}
FACILITY_CHANGE: dict[str, Any] = {
    "name": "Harris County Joint Processing Center",
    "place": "us-tx/county/harris",
    "kind": "detention-center",
    "aliases": ["JPC"],
    "retired": False,
}
ROTATION: dict[str, Any] = {
    "jurisdiction": "New Haven Correctional Center",
    "role": "corrections",
    "name": "New Haven CC detainer reviewers",
    "members": ["reviewers"],
    "shift": "P1D",
    "handoff": "08:00",
    "start": "2026-03-02",
    "overrides": [
        {
            "start": "2026-03-08T01:00:00-05:00",
            "end": "2026-03-08T09:00:00-04:00",
            "subscriber_id": "reviewers",
            "note": "across the change of the clocks",
        }
    ],
}
ROTATION_PATCH: dict[str, Any] = {
    "name": "Reviewers",
    "shift": "PT12H",
    "handoff": "20:00",
    "add_overrides": [
        {
            "start": "2026-11-01T00:30:00-04:00",
            "end": "2026-11-01T01:30:00-05:00",
            "subscriber_id": "reviewers",
        }
    ],
}
DECISION: dict[str, Any] = {
    "decision": "decline",
    "reasons": "No statutory criterion is met.",
    "criteria_relied_on": [],
    "override_reason": None,
}


# -- the table ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonBody:
    """A route's JSON body: valid examples (the fuzz mutates them) and the size limit the route applies."""

    valid: tuple[dict[str, Any], ...]
    # In bytes; "default" is the settings' max_body_bytes.
    limit: int | Literal["default"] = "default"


@dataclass(frozen=True)
class RouteCase:
    """What the route-table-driven cases need to know about one route."""

    # None: no JSON body is declared (the route reads none, or its comment says why), so the fuzz sends it
    # arbitrary JSON and bytes only.
    body: JsonBody | None = None
    # The query parameters the route reads: fuzzed by name, and "limit" gets the paging cases.
    query: tuple[str, ...] = ()
    # What the route's query string needs before any other parameter means something.
    required_query: str = ""
    # The route answers 404 outside the local stage, so the body and query cases leave it out (they would
    # test only that 404); the fuzz still sends it everything.
    local_only: bool = False


ROUTE_CASES: dict[Route, RouteCase] = {
    # Events and notices.
    ("GET", "/health"): RouteCase(),
    ("POST", "/events"): RouteCase(
        # Ids of their own: the seeded notices use the builders' ids, and a reused id with another body
        # is a 409.
        JsonBody((rollout_body(external_id="fuzz-rollout"), detainer_body(external_id="fuzz-detainer")))
    ),
    ("GET", "/notices"): RouteCase(
        query=("type", "status", "jurisdiction", "limit", "cursor"), required_query="type=rollout"
    ),
    ("GET", "/notices/{notice_id}"): RouteCase(),
    ("GET", "/notices/{notice_id}/log"): RouteCase(),
    # Links (the pages behind the links in messages; their POSTs do not read the body).
    ("GET", "/ack/{token}"): RouteCase(),
    ("POST", "/ack/{token}"): RouteCase(),
    ("GET", "/verify/{token}"): RouteCase(),
    ("POST", "/verify/{token}"): RouteCase(),
    ("GET", "/unsubscribe/{token}"): RouteCase(),
    ("POST", "/unsubscribe/{token}"): RouteCase(),
    # Detainers, reports and policies.
    ("POST", "/detainers/{notice_id}/decision"): RouteCase(JsonBody((DECISION,))),
    ("POST", "/detainers/{notice_id}/duties/{duty_id}"): RouteCase(
        JsonBody(({"done": True, "note": "ICE told by fax."},), limit=4096)
    ),
    ("GET", "/reports/detainers"): RouteCase(query=("from", "to", "format")),
    ("GET", "/coverage"): RouteCase(query=("state",)),
    ("GET", "/stats/acknowledgments"): RouteCase(query=("type", "limit")),
    ("GET", "/dashboard"): RouteCase(),
    ("GET", "/dashboard/assets/{name}"): RouteCase(query=("v",)),
    ("GET", "/policies/{event_type}"): RouteCase(),
    ("PUT", "/policies/{event_type}"): RouteCase(JsonBody((ROLLOUT_POLICY, DETAINER_POLICY))),
    ("POST", "/admin/sweep"): RouteCase(),
    ("GET", "/audit"): RouteCase(query=("limit",)),
    ("GET", "/jurisdictions"): RouteCase(query=("q",)),
    # Correctional facilities.
    ("GET", "/facilities"): RouteCase(query=("state",)),
    ("POST", "/facilities"): RouteCase(JsonBody((FACILITY,))),
    ("GET", "/facilities/{state_id}/facility/{slug}"): RouteCase(),
    ("PATCH", "/facilities/{state_id}/facility/{slug}"): RouteCase(JsonBody((FACILITY_CHANGE,))),
    # Subscribers and keys.
    ("POST", "/subscribers"): RouteCase(JsonBody((SUBSCRIBER,))),
    ("GET", "/subscribers"): RouteCase(query=("limit", "cursor")),
    ("GET", "/subscribers/{subscriber_id}"): RouteCase(),
    ("PATCH", "/subscribers/{subscriber_id}"): RouteCase(JsonBody((PATCH,))),
    ("DELETE", "/subscribers/{subscriber_id}"): RouteCase(),
    ("POST", "/subscribers/{subscriber_id}/test"): RouteCase(),
    ("POST", "/subscribers/{subscriber_id}/channels/{channel_id}/rotate-secret"): RouteCase(),
    ("POST", "/keys"): RouteCase(JsonBody(({"name": "ci pipeline", "role": "source"},), limit=4096)),
    ("GET", "/keys"): RouteCase(),
    ("DELETE", "/keys/{key_id}"): RouteCase(),
    # Duty rotations.
    ("POST", "/rotations"): RouteCase(JsonBody((ROTATION,))),
    ("GET", "/rotations"): RouteCase(),
    ("GET", "/rotations/{rotation_id}"): RouteCase(),
    ("PATCH", "/rotations/{rotation_id}"): RouteCase(JsonBody((ROTATION_PATCH,))),
    ("DELETE", "/rotations/{rotation_id}"): RouteCase(),
    # Inbound mail. A forwarded message is raw bytes (message/rfc822), not JSON.
    ("POST", "/inbound/email"): RouteCase(),
    ("GET", "/inbound/triage"): RouteCase(query=("limit", "cursor")),
    # Read a JSON body, but a valid one completes or dismisses a message held for triage and the seeded
    # world holds none: the fuzz sends them arbitrary JSON only.
    ("POST", "/inbound/triage/{notice_id}"): RouteCase(),
    ("POST", "/inbound/triage/{notice_id}/dismiss"): RouteCase(),
    ("GET", "/inbound/senders"): RouteCase(),
    ("POST", "/inbound/senders"): RouteCase(
        JsonBody(({"sender": "desk.sergeant@example.gov", "note": "the desk's forwarder"},), limit=4096)
    ),
    ("DELETE", "/inbound/senders/{sender}"): RouteCase(),
    # Dev routes, for the local stack.
    ("GET", "/dev/outbox"): RouteCase(query=("to",), local_only=True),
    ("POST", "/dev/mail/inbound"): RouteCase(
        JsonBody(
            ({"raw": base64.b64encode(STORY).decode(), "verdicts": {"spf": "PASS", "dmarc": "PASS"}},),
            limit=14 * 1024 * 1024,
        ),
        local_only=True,
    ),
    ("POST", "/dev/sms/inbound"): RouteCase(
        JsonBody(({"from": "+18605550100", "body": "100000"},), limit=4096), local_only=True
    ),
}

# Routes of the app that cannot be fuzzed, each with the reason. Every route of the app is fuzzed; one
# that cannot be goes here instead of into ROUTE_CASES, so that leaving it out is a decision on record.
NOT_FUZZED: dict[Route, str] = {}


# -- lists of routes the cases run over, derived from app.routes and the table ------------------------

APP_ROUTES: frozenset[Route] = frozenset(
    (method, path) for path, entries in app.routes.items() for method in entries
)
# Every route and method the app declares, found at run time: a new route is fuzzed without an edit here
# (and test_hostile_input.py asks for its line in ROUTE_CASES).
ROUTES = sorted((path, method) for method, path in APP_ROUTES if (method, path) not in NOT_FUZZED)
ROUTE_IDS = [f"{method} {path}" for path, method in ROUTES]

VALID_BODIES: dict[Route, list[dict[str, Any]]] = {
    route: list(case.body.valid) for route, case in ROUTE_CASES.items() if case.body and case.body.valid
}
JSON_BODY_ROUTES = [(path, method) for path, method in ROUTES if (method, path) in VALID_BODIES]
OTHER_ROUTES = [(path, method) for path, method in ROUTES if (method, path) not in VALID_BODIES]

# Routes that read a JSON body, with the size limit they apply (the local-only one answers 404 here).
BODY_ROUTES = [
    (method, path, case.body.limit)
    for (method, path), case in ROUTE_CASES.items()
    if case.body and not case.local_only
]
BODY_ROUTE_IDS = [f"{method} {path}" for method, path, _ in BODY_ROUTES]
# Each valid body of those routes, for the cases that edit one field at a time.
VALID_CASES = [
    (method, path, body)
    for (method, path), case in ROUTE_CASES.items()
    if case.body and not case.local_only
    for body in case.body.valid
]
VALID_CASE_IDS = [f"{m} {t} {body.get('type', '')}".strip() for m, t, body in VALID_CASES]

# GET routes that read a query string, and those of them that page with ?limit=.
GET_QUERY_ROUTES = [
    path
    for (method, path), case in ROUTE_CASES.items()
    if method == "GET" and case.query and not case.local_only
]
LIMIT_ROUTES = [
    f"{path}?{case.required_query}" if case.required_query else path
    for (method, path), case in ROUTE_CASES.items()
    if method == "GET" and "limit" in case.query and not case.local_only
]
# Every query parameter some route reads, in the table's order.
QUERY_NAMES = list(dict.fromkeys(name for case in ROUTE_CASES.values() for name in case.query))
