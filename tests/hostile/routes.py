"""The routes the hostile cases run over, and valid inputs for them.

``ROUTES`` is every route and method of ``app.routes``; ``VALID_BODIES`` holds valid JSON bodies for the
routes that read one (the fuzz mutates them), ``BODY_ROUTES`` those routes with their size limits.
"""

from __future__ import annotations

import re
from typing import Any

from app import app
from tests.builders import detainer_body, rollout_body

# Every route and method the app declares, found at run time: a new route is fuzzed without an edit here.
ROUTES = sorted((path, method) for path, entries in app.routes.items() for method in entries)
ROUTE_IDS = [f"{method} {path}" for path, method in ROUTES]
PARAM = re.compile(r"\{(\w+)\}")


# -- valid bodies, for the fuzz to mutate and the targeted cases to aim at ------------------------------

SUBSCRIBER: dict[str, Any] = {
    "name": "Criminal Justice Policy Adviser",
    "role": "state-executive",
    "organization": "Office of the Governor",
    "ack_required": True,
    "escalation_contact": False,
    "channels": [
        {"type": "email", "address": "policy.adviser@example.gov"},
        {"type": "sms", "phone": "(860) 555-0111"},
        {"type": "webhook", "url": "https://cases.example.org/hooks/vigil"},
    ],
    "subscriptions": [{"jurisdiction": "statewide", "event_types": ["rollout", "detainer"]}],
}
PATCH: dict[str, Any] = {
    "name": "Adviser (renamed)",
    "organization": "Office of the Governor",
    "escalation_contact": True,
    "add_subscriptions": [{"jurisdiction": "New Haven", "event_types": ["rollout"]}],
    "remove_subscriptions": ["Hartford"],
    "enable_channels": [],
}
ROLLOUT_POLICY: dict[str, Any] = {
    "required_roles": ["state-executive"],
    "steps": [
        {"after": "PT0S", "notify": "recipients"},
        {"after": "PT15M", "notify": "unacknowledged", "channels": ["email", "sms", "webhook"]},
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
DECISION: dict[str, Any] = {
    "decision": "decline",
    "reasons": "No statutory criterion is met.",
    "criteria_relied_on": [],
    "override_reason": None,
}

VALID_BODIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    # Ids of their own: the seeded notices use the builders' ids, and a reused id with another body is a 409.
    ("POST", "/events"): [
        rollout_body(external_id="fuzz-rollout"),
        detainer_body(external_id="fuzz-detainer"),
    ],
    ("POST", "/subscribers"): [SUBSCRIBER],
    ("PATCH", "/subscribers/{subscriber_id}"): [PATCH],
    ("PUT", "/policies/{event_type}"): [ROLLOUT_POLICY, DETAINER_POLICY],
    ("POST", "/keys"): [{"name": "ci pipeline", "role": "source"}],
    ("POST", "/detainers/{notice_id}/decision"): [DECISION],
    ("POST", "/detainers/{notice_id}/duties/{duty_id}"): [{"done": True, "note": "ICE told by fax."}],
    ("POST", "/dev/sms/inbound"): [{"from": "+18605550100", "body": "100000"}],
}
# Routes that read a JSON body, with the path their valid body goes to and the size limit they apply.
BODY_ROUTES = [
    ("POST", "/events", "default"),
    ("POST", "/subscribers", "default"),
    ("PATCH", "/subscribers/{subscriber_id}", "default"),
    ("PUT", "/policies/{event_type}", "default"),
    ("POST", "/detainers/{notice_id}/decision", "default"),
    ("POST", "/keys", 4096),
    ("POST", "/detainers/{notice_id}/duties/{duty_id}", 4096),
]
BODY_ROUTE_IDS = [f"{method} {path}" for method, path, _ in BODY_ROUTES]
JSON_BODY_ROUTES = [(path, method) for path, method in ROUTES if (method, path) in VALID_BODIES]
OTHER_ROUTES = [(path, method) for path, method in ROUTES if (method, path) not in VALID_BODIES]
# Each valid body but the local-only route's (a 404 here), for the cases that edit one field at a time.
VALID_CASES = [
    (m, t, body) for (m, t), bodies_ in VALID_BODIES.items() if t != "/dev/sms/inbound" for body in bodies_
]
VALID_CASE_IDS = [f"{m} {t} {body.get('type', '')}".strip() for m, t, body in VALID_CASES]
# GET routes that read a query string.
GET_QUERY_ROUTES = [
    "/notices",
    "/reports/detainers",
    "/stats/acknowledgments",
    "/subscribers",
    "/audit",
    "/jurisdictions",
]
