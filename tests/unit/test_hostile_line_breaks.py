"""Line breaks and control characters in what could reach an email or HTTP header: refused or removed.

Rollout fields that end up in a subject, subscriber names in the opt-out notice to admins, email
addresses, and the Idempotency-Key header (held to the same rules as the external_id it names).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.domain.messages import render_email
from chalicelib.domain.subscribers import ChannelRef, Role
from tests.builders import UNIT_SECRET, rollout_body
from tests.hostile.harness import Arena, check, check_emails, clean, seeded_arena, short, single_line
from tests.hostile.routes import SUBSCRIBER
from tests.unit.test_pipeline import run

# The seeded app every case here sends to (see tests/hostile/harness.py).
arena = pytest.fixture(name="arena")(seeded_arena)

ROLLOUT_TEXT_FIELDS = ["summary", "title", "program", "external_id"]
LINE_BREAKS = [
    "a\x00b",
    "a\r\nBcc: evil@example.com",
    "a\nBcc: evil@example.com",
    "a\rb",
    "a\u2028b",
    "a\x85b",
]


@pytest.mark.parametrize("value", LINE_BREAKS, ids=["nul", "crlf", "lf", "cr", "u2028", "nel"])
@pytest.mark.parametrize("field", ROLLOUT_TEXT_FIELDS)
def test_nul_and_line_breaks_in_rollout_fields_never_reach_an_email_header(
    arena: Arena, field: str, value: str
) -> None:
    body = {**rollout_body(external_id="hostile-text"), field: value}
    answer = arena.send("POST", "/events", json.dumps(body))
    check(answer, "POST", "/events", body, arena.world)
    assert answer.status in {202, 400}, short(answer)
    if answer.status == 400:
        return
    notice = arena.world.notices.get(answer.json()["notice_id"])
    email = render_email(
        notice, to="adviser@example.gov", role=Role.STATE_EXECUTIVE, ack_url="https://vigil.example/ack/t"
    )
    assert single_line(email.subject), short(email.subject)
    run(arena.world)
    check_emails(arena.world.email.sent, f"{field}={value!r}")


@pytest.mark.parametrize("name", ["Office\nBcc: evil@example.com", "Office\u2028Bcc: evil@example.com"])
def test_a_subscriber_name_with_a_line_break_never_reaches_an_email_subject(arena: Arena, name: str) -> None:
    """The opt-out notice to admins puts the subscriber's name in its subject."""
    admins = Settings.from_env(
        {"VIGIL_STAGE": "dev", "VIGIL_ACK_SECRET": UNIT_SECRET, "VIGIL_ADMIN_EMAILS": "ops@example.gov"}
    )
    arena.reset(admins)
    body = {**SUBSCRIBER, "name": name, "channels": [{"type": "email", "address": "clerk@example.gov"}]}
    created = arena.send("POST", "/subscribers", json.dumps(body))
    check(created, "POST", "/subscribers", body, arena.world)
    if created.status != 201:
        return
    made = created.json()
    channel_id = made["channels"][0]["id"]
    token = arena.world.deps().unsubscribe(ChannelRef(made["id"], channel_id)).rsplit("/", 1)[1]
    path = f"/unsubscribe/{token}"
    answer = arena.send(
        "POST", path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    check(answer, "POST", path, None, arena.world)
    assert answer.status == 200, short(answer)


EMAIL_LINE_BREAKS = [
    "clerk@example.gov\r\nBcc: evil@example.com",
    "clerk@example.gov\nBcc: evil@example.com",
    "clerk@example.gov\n",
    "clerk@example.gov\r",
    '"clerk\r\nBcc: evil@example.com"@example.gov',
    "clerk@example.gov\u2028Bcc: evil@example.com",
    "clerk@example.gov\x00",
]
EMAIL_FIELDS: dict[str, Callable[[str], tuple[str, str, dict[str, Any]]]] = {
    "subscriber channel": lambda address: (
        "POST",
        "/subscribers",
        {**SUBSCRIBER, "channels": [{"type": "email", "address": address}]},
    ),
    "subscriber change": lambda address: (
        "PATCH",
        "/subscribers/{subscriber_id}",
        {"channels": [{"type": "email", "address": address}]},
    ),
    "rollout original recipient": lambda address: (
        "POST",
        "/events",
        {**rollout_body(external_id="recipients"), "source": {"original_recipients": [address]}},
    ),
}


@pytest.mark.parametrize("field", sorted(EMAIL_FIELDS))
@pytest.mark.parametrize("address", EMAIL_LINE_BREAKS, ids=range(len(EMAIL_LINE_BREAKS)))
def test_an_email_address_with_a_line_break_is_refused_or_trimmed(
    arena: Arena, field: str, address: str
) -> None:
    """Refused, or trimmed to a clean address: a line break kept in an address is a header injection waiting
    to happen (trailing whitespace stripped before validation is fine)."""
    method, template, body = EMAIL_FIELDS[field](address)
    path = arena.path(template)
    answer = arena.send(method, path, json.dumps(body))
    check(answer, method, path, body, arena.world)
    assert answer.status in {200, 201, 202, 400}, short(answer)
    if answer.status == 400:
        return
    if template == "/events":
        kept = arena.world.notices.get(answer.json()["notice_id"]).event["source"]["original_recipients"]
    else:
        kept = [c["address"] for c in answer.json()["channels"] if c["type"] == "email"]
    for stored in kept:
        assert clean(stored), f"{field} {address!r} was stored as {stored!r}"


@pytest.mark.parametrize(
    "key",
    ["a\r\nb", "k\nX-Injected: 1", "\r\n", "a\x00b", "a\tb", "x" * 10_000, "x" * 201, "x" * 200, "clé-✓"],
    ids=["crlf", "lf-header", "only-crlf", "nul", "tab", "10000", "201", "200", "unicode"],
)
def test_the_idempotency_key_header_follows_the_rules_of_external_id(arena: Arena, key: str) -> None:
    """Both name the same thing and must be equal when both are sent: one set of rules for both."""
    without_id = {k: v for k, v in rollout_body().items() if k != "external_id"}
    by_header = arena.send("POST", "/events", json.dumps(without_id), {"Idempotency-Key": key})
    check(by_header, "POST", "/events", f"Idempotency-Key: {key!r}", arena.world)
    if by_header.status == 202:
        notice = arena.world.notices.get(by_header.json()["notice_id"])
        run(arena.world)
        check_emails(arena.world.email.sent, f"Idempotency-Key {key!r}")
        assert notice.idempotency_key == key.strip()
    arena.reset()
    by_body = arena.send("POST", "/events", json.dumps({**without_id, "external_id": key}))
    check(by_body, "POST", "/events", f"external_id={key!r}", arena.world)
    assert {by_header.status, by_body.status} <= {202, 400}
    assert by_header.status == by_body.status, (
        f"Idempotency-Key {short(key, 40)} answered {by_header.status}, "
        f"the same value as external_id {by_body.status}: {short(by_header)} / {short(by_body)}"
    )
    if len(key) > 200:
        assert by_header.status == 400
        assert by_header.json()["details"][0]["field"] == "Idempotency-Key"
