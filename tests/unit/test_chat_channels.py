"""Slack and Teams channels through the API: which URLs are taken, confirmation by a link posted to the
channel, the URL kept out of answers, the index and the audit trail, delivery once, acknowledgment by
the button, retries and switching off a channel that keeps failing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.adapters.subscriber_store import entry_to_item
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.chat import OutgoingChat
from chalicelib.domain.deliveries import RETRY_SCHEDULES
from chalicelib.domain.subscribers import ChannelType, index_entries
from chalicelib.ports import SendFailed
from tests.builders import UNIT_SECRET, detainer_body, rollout_body
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call
from tests.unit.test_consent import post_form, state
from tests.unit.test_pipeline import deliver, route_all, run

Keys = dict[ApiRole, str]

SLACK_URL = "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/s3cr3tT0kenValue0123456789"
TEAMS_URL = (
    "https://prod-27.westus.logic.azure.com:443/workflows/0a1b2c/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3tSignature"
)
SECRETS = ("s3cr3tT0kenValue0123456789", "s3cr3tSignature")


def newsroom(*channels: dict[str, Any], role: str = "advocate") -> dict[str, Any]:
    return {
        "name": "Connecticut Immigrant Rights Alliance",
        "role": role,
        "channels": list(channels),
        "subscriptions": [{"jurisdiction": "statewide", "event_types": ["rollout", "detainer"]}],
    }


CHATS = newsroom({"type": "slack", "url": SLACK_URL}, {"type": "teams", "url": TEAMS_URL})


def client_on(world: FakeWorld, stage: str) -> Iterator[Client]:
    bootstrap.use(
        world.deps(
            Settings.from_env(
                {
                    "VIGIL_STAGE": stage,
                    "VIGIL_ACK_SECRET": UNIT_SECRET,
                    "VIGIL_ADMIN_EMAILS": "ops@vigil.example.gov",
                }
            )
        )
    )
    with Client(app) as test_client:
        yield test_client


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    """A deployed stage: only Slack's and Microsoft's hosts, over https."""
    yield from client_on(world, "dev")


@pytest.fixture
def local(world: FakeWorld) -> Iterator[Client]:
    """The local stage, whose receivers are on this machine."""
    yield from client_on(world, "local")


def create(client: Client, keys: Keys, body: dict[str, Any] = CHATS) -> dict[str, Any]:
    status, created = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)
    assert status == 201, created
    assert isinstance(created, dict)
    return created


def verify_path(note: OutgoingChat) -> str:
    """The confirmation button's link, as a path of the API."""
    text = json.dumps(note.payload)
    return "/verify/" + text.split("/verify/")[1].split('"')[0]


def confirm_all(client: Client, world: FakeWorld) -> None:
    for note in list(world.chats.sent):
        assert post_form(client, verify_path(note)) == 200


def sent_to(world: FakeWorld, url: str) -> list[OutgoingChat]:
    return [m for m in world.chats.sent if m.url == url]


# ---------------------------------------------------------------- which URLs


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("slack", SLACK_URL),
        ("slack", "https://hooks.slack-gov.com/services/T1/B1/abc"),
        ("teams", TEAMS_URL),
        ("teams", "https://default0a1b.2c.environment.api.powerplatform.com/powerautomate/automations/x"),
        ("teams", "https://contoso.webhook.office.com/webhookb2/0a1b@2c3d/IncomingWebhook/4e5f/6a7b"),
    ],
)
def test_slack_and_microsoft_urls_are_taken(client: Client, keys: Keys, kind: str, url: str) -> None:
    created = create(client, keys, newsroom({"type": kind, "url": url}))
    [channel] = created["channels"]
    assert channel["type"] == kind
    assert channel["state"] == "unverified"


@pytest.mark.parametrize(
    ("kind", "url", "says"),
    [
        ("slack", "https://hooks.slack.com.evil.example/services/T1/B1/x", "Slack incoming-webhook URL"),
        ("slack", "https://hooks.slack.com/workflows/T1/A1/x", "Slack incoming-webhook URL"),
        ("slack", "http://hooks.slack.com/services/T1/B1/x", "https URL"),
        ("slack", "https://hooks.slack.com:8443/services/T1/B1/x", "standard port"),
        ("slack", "https://user:pw@hooks.slack.com/services/T1/B1/x", "credentials"),
        ("teams", "https://logic.azure.com.evil.example/workflows/x", "Teams Workflows URL"),
        ("teams", "https://outlook.office.com/webhook/x", "Teams Workflows URL"),
        ("teams", "https://hooks.slack.com/services/T1/B1/x", "Teams Workflows URL"),
        ("slack", TEAMS_URL, "Slack incoming-webhook URL"),
        ("slack", "https://hooks.slack.com/services/T1/B1/x y", "spaces or control characters"),
        ("teams", "https://x.webhook.office.com/a\x01", "control characters"),
        ("teams", "https://[x.webhook.office.com/a", "not a valid URL"),
        ("slack", "https://hooks.slack.com:99999/services/x", "not a valid URL"),
    ],
)
def test_other_urls_are_a_400_naming_the_field_and_nothing_is_stored(
    client: Client, keys: Keys, world: FakeWorld, kind: str, url: str, says: str
) -> None:
    body = newsroom({"type": "teams", "url": TEAMS_URL}, {"type": kind, "url": url})
    status, answer = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)
    assert status == 400
    assert_error(answer, "invalid_input")
    [detail] = answer["details"]
    assert detail["field"] == "channels[1].url"
    assert says in detail["message"]
    assert not world.subscribers.subscribers
    assert not world.chats.sent


def test_a_chat_url_on_a_private_network_is_refused_on_the_local_stage_too(
    local: Client, keys: Keys, world: FakeWorld
) -> None:
    status, answer = call(
        local,
        "POST",
        "/subscribers",
        keys[ApiRole.ADMIN],
        newsroom({"type": "slack", "url": "http://localhost:9/chat/slack"}),
    )
    assert status == 400
    assert answer["details"][0]["field"] == "channels[0].url"
    assert "loopback" in answer["details"][0]["message"]
    assert not world.subscribers.subscribers


def test_a_chat_channel_with_an_unknown_field_is_a_400(client: Client, keys: Keys) -> None:
    body = newsroom({"type": "slack", "url": SLACK_URL, "channel": "#alerts"})
    status, answer = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)
    assert status == 400
    assert answer["details"][0]["field"] == "channels[0].channel"


# ---------------------------------------------------------------- the URL is a credential


def test_answers_name_the_endpoint_and_never_show_the_url(client: Client, keys: Keys) -> None:
    created = create(client, keys)
    slack, teams = created["channels"]
    assert slack["endpoint"].startswith("hooks.slack.com#")
    assert teams["endpoint"].startswith("prod-27.westus.logic.azure.com#")
    assert "secret" not in slack
    assert "url" not in slack
    status, listed = call(client, "GET", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN])
    assert status == 200
    for shown in (json.dumps(created), json.dumps(listed)):
        assert not any(s in shown for s in SECRETS)


def test_the_audit_trail_and_the_subscription_index_hold_no_url(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    call(client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"name": "Renamed"})
    status, trail = call(client, "GET", "/audit", keys[ApiRole.ADMIN])
    assert status == 200
    assert [e["data"]["action"] for e in trail["items"]] == ["subscriber.updated", "subscriber.created"]
    assert not any(s in json.dumps(trail) for s in SECRETS)
    stored = world.subscribers.get(created["id"])
    rows = [entry_to_item(e) for e in index_entries(stored, world.deps().registry)]
    assert rows
    assert not any(s in json.dumps(rows) for s in SECRETS)


def test_replacing_the_channels_with_the_same_urls_keeps_them(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    confirm_all(client, world)
    status, changed = call(
        client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"channels": CHATS["channels"]}
    )
    assert status == 200
    assert [(c["id"], c["state"]) for c in changed["channels"]] == [
        (c["id"], "active") for c in created["channels"]
    ]


# ---------------------------------------------------------------- confirmation


def test_a_new_chat_channel_is_sent_a_confirmation_and_nothing_else_until_confirmed(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    [slack_note] = sent_to(world, SLACK_URL)
    [teams_note] = sent_to(world, TEAMS_URL)
    assert "is to receive Vigil alerts in this channel." in json.dumps(slack_note.payload)
    assert slack_note.payload["blocks"][-1]["elements"][0]["text"]["text"] == "Confirm this channel"
    assert teams_note.payload["attachments"][0]["content"]["actions"][0]["title"] == "Confirm this channel"
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    run(world)
    assert len(world.chats.sent) == 2  # the confirmations only: unconfirmed channels get no notice
    assert state(world, created["id"], "slack") == "unverified"
    assert post_form(client, verify_path(slack_note)) == 200
    assert state(world, created["id"], "slack") == "active"
    assert state(world, created["id"], "teams") == "unverified"


def test_a_spanish_subscribers_confirmation_is_in_spanish(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    create(client, keys, {**newsroom({"type": "slack", "url": SLACK_URL}), "language": "es"})
    [note] = world.chats.sent
    assert "recibirá alertas de Vigil en este canal." in note.payload["text"]
    assert note.payload["blocks"][-1]["elements"][0]["text"]["text"] == "Confirmar este canal"


def test_the_test_message_reaches_each_active_chat_channel(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    confirm_all(client, world)
    status, results = call(client, "POST", f"/subscribers/{created['id']}/test", keys[ApiRole.ADMIN], {})
    assert status == 202
    assert [r["status"] for r in results["sent"]] == ["sent", "sent"]
    assert "Vigil test message for" in json.dumps(sent_to(world, SLACK_URL)[-1].payload)
    assert "Vigil test message for" in json.dumps(sent_to(world, TEAMS_URL)[-1].payload)


# ---------------------------------------------------------------- delivery and acknowledgment


def test_a_notice_reaches_each_confirmed_chat_channel_once_and_its_button_acknowledges(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, newsroom(*CHATS["channels"], role="local-official"))
    confirm_all(client, world)
    world.chats.sent.clear()
    status, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    assert status == 202
    messages = run(world)
    [slack] = sent_to(world, SLACK_URL)
    [teams] = sent_to(world, TEAMS_URL)
    for message in messages:  # the queue brings a message again: nothing is sent twice
        deliver(world, message)
    assert len(world.chats.sent) == 2
    assert slack.payload["blocks"][0]["type"] == "header"
    link = slack.payload["blocks"][-1]["elements"][0]["url"]
    assert (
        teams.payload["attachments"][0]["content"]["actions"][0]["url"].split("/ack/")[0]
        == link.split("/ack/")[0]
    )
    path = "/ack/" + link.split("/ack/")[1]
    page = client.http.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200
    clicked = client.http.post(
        path, headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}, body=""
    )
    assert clicked.status_code == 200
    status, detail = call(client, "GET", f"/notices/{accepted['notice_id']}", keys[ApiRole.ADMIN])
    assert status == 200
    [mine] = [r for r in detail["recipients_detail"] if r["subscriber_id"] == created["id"]]
    assert mine["acknowledged_via"] == "link"


def test_a_detainer_in_a_chat_channel_is_redacted_for_an_advocate(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    create(client, keys, newsroom({"type": "slack", "url": SLACK_URL}))
    confirm_all(client, world)
    world.chats.sent.clear()
    call(client, "POST", "/events", keys[ApiRole.SOURCE], detainer_body())
    run(world)
    [message] = world.chats.sent
    shown = json.dumps(message.payload)
    assert "New Haven Correctional Center" in shown
    assert not any(p in shown for p in ("Test Person", "1990-01-01", "A012345678"))


@pytest.mark.parametrize(("kind", "url"), [("slack", SLACK_URL), ("teams", TEAMS_URL)])
def test_a_chat_endpoint_failing_every_attempt_of_a_schedule_is_disabled_and_admins_told(
    client: Client, keys: Keys, world: FakeWorld, kind: str, url: str
) -> None:
    created = create(client, keys, newsroom({"type": kind, "url": url}))
    confirm_all(client, world)
    [channel_id] = [c["id"] for c in created["channels"]]
    attempts: list[OutgoingChat] = []

    def refuse(message: OutgoingChat) -> str:
        attempts.append(message)
        raise SendFailed(f"{kind}: HTTP 503", retryable=True)

    world.chats.send = refuse  # type: ignore[method-assign]  # the service is down
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    route_all(world)
    [message] = world.send_queue.take()
    at = timedelta(0)
    schedule = RETRY_SCHEDULES[ChannelType(kind)]
    assert schedule == RETRY_SCHEDULES[ChannelType.WEBHOOK]
    for wait in schedule:  # each attempt when the schedule brings the message back
        assert state(world, created["id"], kind) == "active"
        at += timedelta(seconds=wait)
        report = deliver(world, message, after=at)
        assert report.failed  # retryable: the queue brings it back
    assert len(attempts) == 8
    assert state(world, created["id"], kind) == "disabled"
    alert = world.email.sent[-1]
    assert alert.to == "ops@vigil.example.gov"
    assert alert.subject.endswith(f"channel of {created['name']} disabled after 8 failed attempts in a row")
    assert url not in alert.text
    status, changed = call(
        client,
        "PATCH",
        f"/subscribers/{created['id']}",
        keys[ApiRole.ADMIN],
        {"enable_channels": [channel_id]},
    )
    assert status == 200
    assert changed["channels"][0]["state"] == "active"


def test_a_refusal_for_good_is_not_retried_and_leaves_the_channel_on(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, newsroom({"type": "slack", "url": SLACK_URL}))
    confirm_all(client, world)

    def gone(message: OutgoingChat) -> str:
        raise SendFailed("slack: HTTP 410", retryable=False)

    world.chats.send = gone  # type: ignore[method-assign]  # channel_is_archived
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    route_all(world)
    [message] = world.send_queue.take()
    report = deliver(world, message)
    assert report.permanent
    assert not report.failed
    assert state(world, created["id"], "slack") == "active"


def test_the_link_beside_the_button_stops_the_alerts_to_that_channel_and_tells_the_admins(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, newsroom(*CHATS["channels"], role="local-official"))
    confirm_all(client, world)
    world.chats.sent.clear()
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    run(world)
    [slack] = sent_to(world, SLACK_URL)
    [teams] = sent_to(world, TEAMS_URL)
    [context] = [b for b in slack.payload["blocks"] if b["type"] == "context"]
    link = context["elements"][-1]["text"]
    assert link.startswith("<http")
    assert link.endswith("|Stop these alerts in this channel>")
    stop = teams.payload["attachments"][0]["content"]["actions"][1]
    assert stop["title"] == "Stop these alerts in this channel"
    path = "/unsubscribe/" + link[1:].split("|")[0].split("/unsubscribe/")[1]
    assert client.http.get(path, headers={"Accept": "text/html"}).status_code == 200
    assert state(world, created["id"], "slack") == "active"  # opening the page changes nothing
    assert post_form(client, path) == 200
    assert state(world, created["id"], "slack") == "opted-out"
    assert state(world, created["id"], "teams") == "active"
    assert world.email.sent[-1].subject == f"[Vigil] {created['name']} can no longer be reached by slack"
