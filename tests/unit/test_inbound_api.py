"""POST /inbound/email: a forwarded notice becomes a routed notice, flagged low-key when nobody
accountable was told, or goes to the admins for triage; bad messages are refused and kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.subscribers import Channel, ChannelRef, ChannelType, Role
from tests.builders import UNIT_SECRET, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call
from tests.unit.test_pipeline import run

Keys = dict[ApiRole, str]
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"


def message(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    bootstrap.use(
        world.deps(
            Settings.from_env(
                {
                    "VIGIL_STAGE": "dev",
                    "VIGIL_ACK_SECRET": UNIT_SECRET,
                    "VIGIL_ADMIN_EMAILS": "ops@vigil.example.gov",
                }
            )
        )
    )
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct"))
    with Client(app) as test_client:
        yield test_client


def post_mail(
    client: Client, key: str | None, raw: bytes, content_type: str = "message/rfc822"
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    response = client.http.post("/inbound/email", headers=headers, body=raw)
    return response.status_code, json.loads(response.body)


def test_the_storys_forwarded_email_becomes_a_statewide_rollout_flagged_low_key(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, body = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    assert status == 202, body
    [accepted] = body["notices"]
    notice = world.notices.get(accepted["notice_id"])
    assert notice.jurisdiction_id == "us-ct"
    assert notice.event["program"] == "secure-communities"
    assert notice.event["effective_at"] == "2012-02-22T00:00:00-05:00"
    assert notice.low_key is True  # a desk sergeant and patrol supervisors: no state executive
    assert accepted["low_key"] is True
    assert body["extraction"]["effective_at"]["certain"] is True
    assert body["raw"].startswith("s3://")
    assert list(world.mail.objects.values()) == [message("story-inline-forward")]
    created = world.ack_log.entries(notice.id)[0]
    assert (created.kind, created.data["raw"], created.data["low_key"]) == (
        EntryKind.CREATED,
        body["raw"],
        True,
    )
    run(world)
    assert [m.to for m in world.email.sent] == ["adviser@example.gov"]


def test_a_low_key_notice_escalates_three_times_sooner(client: Client, keys: Keys, world: FakeWorld) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    run(world)
    notice = world.notices.get(body["notices"][0]["notice_id"])
    assert notice.next_step_at is not None
    assert (notice.next_step_at - notice.received_at).total_seconds() == 15 * 60 / 3


def test_a_notice_the_executive_received_is_not_low_key(client: Client, keys: Keys, world: FakeWorld) -> None:
    world.subscribers.subscribers["adviser"] = subscriber(
        "adviser",
        Role.STATE_EXECUTIVE,
        "us-ct",
        channels=(Channel(ChannelType.EMAIL, "patrol.supervisors@example.gov"),),
    )
    world.contacts.claim("patrol.supervisors@example.gov", ChannelRef("adviser", "x"))
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    assert body["notices"][0]["low_key"] is False


def test_the_same_message_twice_is_one_notice(client: Client, keys: Keys, world: FakeWorld) -> None:
    _, first = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    _, second = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    assert second["notices"][0]["notice_id"] == first["notices"][0]["notice_id"]
    assert second["notices"][0]["duplicate"] is True


def test_a_message_naming_no_program_is_held_for_triage_and_the_admins_told(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, body = post_mail(client, keys[ApiRole.SOURCE], message("no-program-named"))
    assert status == 202
    assert body["notices"] == []
    assert body["triage"]["missing"] == ["program"]
    held = world.notices.get(body["triage"]["notice_id"])
    assert held.status is NoticeStatus.TRIAGE
    assert world.route_queue.sent == []  # never routed on a guess
    assert world.email.sent[-1].to == "ops@vigil.example.gov"
    assert "needs triage" in world.email.sent[-1].subject


def test_an_admin_completes_triage_and_the_notice_is_routed(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("no-program-named"))
    held_id = body["triage"]["notice_id"]
    status, done = call(
        client,
        "POST",
        f"/inbound/triage/{held_id}",
        keys[ApiRole.ADMIN],
        {
            "program": "secure-communities",
            "jurisdiction": "statewide",
            "effective_at": "2012-02-22T00:00:00-05:00",
        },
    )
    assert status == 202
    routed = world.notices.get(done["notices"][0]["notice_id"])
    assert routed.status is NoticeStatus.OPEN
    assert routed.extra["triaged_from"] == held_id
    assert world.notices.get(held_id).status is NoticeStatus.CLOSED
    assert call(client, "POST", f"/inbound/triage/{held_id}", keys[ApiRole.ADMIN], {})[0] == 404


def test_triage_completion_with_bad_fields_is_400(client: Client, keys: Keys) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("no-program-named"))
    status, answer = call(
        client,
        "POST",
        f"/inbound/triage/{body['triage']['notice_id']}",
        keys[ApiRole.ADMIN],
        {"jurisdiction": "Gotham"},
    )
    assert status == 400
    assert {"program", "jurisdiction", "effective_at"} <= {d["field"] for d in answer["details"]}


def test_a_malformed_message_is_refused_and_kept_for_inspection(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, body = post_mail(client, keys[ApiRole.SOURCE], message("malformed-not-an-email"))
    assert status == 400
    assert_error(body, "invalid_input")
    assert body["details"][0]["field"] == "body"
    assert [k.split("/")[0] for k in world.mail.objects] == ["malformed"]
    assert world.notices.notices == {}


def test_an_oversized_message_is_413_and_not_kept(client: Client, keys: Keys, world: FakeWorld) -> None:
    status, body = post_mail(
        client, keys[ApiRole.SOURCE], b"Subject: x\r\n\r\n" + b"x" * (10 * 1024 * 1024 + 1)
    )
    assert status == 413
    assert_error(body, "too_large")
    assert world.mail.objects == {}


def test_inbound_mail_needs_a_source_or_admin_key(client: Client, keys: Keys, world: FakeWorld) -> None:
    raw = message("story-inline-forward")
    assert post_mail(client, None, raw)[0] == 401
    for role in (ApiRole.VIEWER, ApiRole.REVIEWER):
        assert post_mail(client, keys[role], raw)[0] == 403
    assert call(client, "POST", "/inbound/triage/x", keys[ApiRole.SOURCE], {})[0] == 403
    assert world.notices.notices == {}
    assert world.mail.objects == {}
