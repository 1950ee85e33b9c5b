"""Inputs far over any sensible size (100,000 characters, 10,000 items) are refused promptly.

Each request is sent from a forked child with a time budget (``harness.within_budget``), so an input
that makes a route slow fails in seconds instead of hanging the suite.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.builders import rollout_body
from tests.hostile.harness import Arena, assert_prompt_refusal, seeded_arena, within_budget
from tests.hostile.routes import SUBSCRIBER

# The seeded app every case here sends to (see tests/hostile/harness.py).
arena = pytest.fixture(name="arena")(seeded_arena)

HUGE = "a" * 100_000


@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("POST", "/events", {**rollout_body(), "jurisdiction": HUGE}),
        ("POST", "/subscribers", {**SUBSCRIBER, "subscriptions": [{"jurisdiction": HUGE}]}),
        ("PATCH", "/subscribers/{subscriber_id}", {"remove_subscriptions": [HUGE]}),
        ("GET", f"/jurisdictions?q={HUGE}", None),
        ("GET", f"/notices?type=rollout&jurisdiction={HUGE}", None),
    ],
    ids=["event", "subscription", "remove_subscriptions", "jurisdictions-q", "notices-filter"],
)
def test_a_jurisdiction_of_100000_characters_is_refused_promptly(
    arena: Arena, method: str, template: str, body: dict[str, Any] | None
) -> None:
    path = arena.path(template)
    raw = json.dumps(body) if body is not None else None
    answer = assert_prompt_refusal(within_budget(lambda: arena.send(method, path, raw)), method, path, body)
    assert answer.status in {400, 404}


@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("POST", "/subscribers", {**SUBSCRIBER, "subscriptions": [{"jurisdiction": "us-ct"}] * 10_000}),
        ("PATCH", "/subscribers/{subscriber_id}", {"subscriptions": [{"jurisdiction": "us-ct"}] * 10_000}),
        (
            "PATCH",
            "/subscribers/{subscriber_id}",
            {"add_subscriptions": [{"jurisdiction": "us-ct"}] * 10_000},
        ),
        (
            "PATCH",
            "/subscribers/{subscriber_id}",
            {"remove_subscriptions": [f"Nowhere {i}" for i in range(10_000)]},
        ),
        (
            "PATCH",
            "/subscribers/{subscriber_id}",
            {"enable_channels": [f"email-{i:010d}" for i in range(10_000)]},
        ),
    ],
    ids=["create", "replace", "add", "remove", "enable_channels"],
)
def test_10000_subscriptions_in_one_body_are_refused_promptly(
    arena: Arena, method: str, template: str, body: dict[str, Any]
) -> None:
    path = arena.path(template)
    raw = json.dumps(body, separators=(",", ":"))
    assert len(raw) < arena.world.settings.max_body_bytes, "the case is about the count, not the size"
    assert_prompt_refusal(within_budget(lambda: arena.send(method, path, raw)), method, path, body)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("GET", f"/notices/{HUGE}", None, {}),
        ("GET", f"/subscribers/{HUGE}", None, {}),
        ("DELETE", f"/keys/{HUGE}", None, {}),
        ("POST", "/events", json.dumps({**rollout_body(), HUGE: 1}), {}),
        ("POST", "/subscribers", json.dumps({**SUBSCRIBER, "role": HUGE[:150_000]}), {}),
        ("GET", "/coverage", None, {"Authorization": f"Bearer vk_{HUGE}_{HUGE}"}),
        # Within API Gateway's 10,240 bytes of headers: reachable by anyone, without a key.
        ("GET", "/coverage", None, {"Authorization": f"Bearer vk_{'a' * 10_000}_{'s' * 20}"}),
        ("GET", f"/ack/{HUGE}", None, {}),
    ],
    ids=[
        "notice-id",
        "subscriber-id",
        "key-id",
        "unknown-field",
        "role",
        "authorization",
        "authorization-10k",
        "ack-token",
    ],
)
def test_100000_character_inputs_are_answered_promptly(
    arena: Arena, method: str, path: str, body: str | None, headers: dict[str, str]
) -> None:
    key = None if "Authorization" in headers else "admin"
    timed = within_budget(lambda: arena.send(method, path, body, headers, key=key))
    assert_prompt_refusal(timed, method, path, body)
