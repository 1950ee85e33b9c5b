"""Subscribers, keys and consent through the API: confirmation, opting out, duplicates, rotation,
disabled endpoints, the audit trail."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client
from standardwebhooks.webhooks import Webhook

from app import app
from chalicelib import bootstrap
from chalicelib.adapters.webhooks import signed_headers
from chalicelib.bootstrap import webhook_refusal
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.deliveries import RETRY_SCHEDULES
from chalicelib.domain.errors import ChangedMeanwhile
from chalicelib.domain.subscribers import ChannelRef, ChannelType, Role, Subscriber
from chalicelib.domain.tokens import Purpose, make_channel_token
from chalicelib.ports import SendFailed
from chalicelib.services.subscribers import CHANGE_ATTEMPTS, change
from tests.builders import rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call
from tests.unit.test_pipeline import deliver, run

Keys = dict[ApiRole, str]

ADVISER: dict[str, Any] = {
    "name": "Criminal Justice Policy Adviser",
    "role": "state-executive",
    "organization": "Office of the Governor",
    "channels": [
        {"type": "email", "address": "adviser@example.gov"},
        {"type": "sms", "phone": "+18605550100"},
        {"type": "webhook", "url": "https://cases.example.org/hooks/vigil"},
    ],
    "subscriptions": [{"jurisdiction": "statewide", "event_types": ["rollout"]}],
}


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    # The local stage: /dev/sms/inbound exists, and replies can be simulated.
    bootstrap.use(
        world.deps(Settings.from_env({"VIGIL_STAGE": "local", "VIGIL_ADMIN_EMAILS": "ops@vigil.example.gov"}))
    )
    with Client(app) as test_client:
        yield test_client


def create(client: Client, keys: Keys, body: dict[str, Any] = ADVISER) -> dict[str, Any]:
    status, created = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)
    assert status == 201, created
    assert isinstance(created, dict)
    return created


def channel(subscriber: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in subscriber["channels"] if c["type"] == kind)


def post_form(client: Client, path: str, body: str = "") -> int:
    response = client.http.post(
        path, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=body
    )
    return int(response.status_code)


def confirm_email(client: Client, world: FakeWorld, address: str) -> None:
    email = next(m for m in reversed(world.email.sent) if m.to == address and "/verify/" in m.text)
    assert post_form(client, "/verify/" + email.text.split("/verify/")[1].split()[0]) == 200


def confirm_phone(client: Client, world: FakeWorld, phone: str) -> None:
    text = next(m for m in reversed(world.sms.sent) if m.to == phone and "to confirm" in m.body)
    status, answer = call(
        client, "POST", "/dev/sms/inbound", None, {"from": phone, "body": text.body.split()[2]}
    )
    assert (status, answer["outcome"]) == (200, "confirmed")


def state(world: FakeWorld, subscriber_id: str, kind: str) -> str:
    return next(c.state for c in world.subscribers.get(subscriber_id).channels if str(c.type) == kind)


# ---------------------------------------------------------------- confirmation


def test_new_email_and_phone_wait_for_their_owners_and_webhooks_do_not(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    assert [c["state"] for c in created["channels"]] == ["unverified", "unverified", "active"]
    assert set(created["confirmations"].values()) == {"confirmation sent"}
    assert [m.to for m in world.email.sent] == ["adviser@example.gov"]
    assert "/verify/" in world.email.sent[0].text
    assert "to confirm this number" in world.sms.sent[0].body


def test_unconfirmed_channels_receive_nothing_and_count_as_a_coverage_gap(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    body = {**ADVISER, "channels": ADVISER["channels"][:2]}
    create(client, keys, body)
    world.email.sent.clear()
    world.sms.sent.clear()
    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    run(world)
    assert accepted["coverage_gaps"] == ["state-executive"]
    assert world.email.sent == []
    assert world.sms.sent == []


def test_confirmed_channels_receive_notices(client: Client, keys: Keys, world: FakeWorld) -> None:
    created = create(client, keys, {**ADVISER, "channels": ADVISER["channels"][:2]})
    confirm_email(client, world, "adviser@example.gov")
    confirm_phone(client, world, "+18605550100")
    assert state(world, created["id"], "email") == "active"
    assert state(world, created["id"], "sms") == "active"
    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    run(world)
    assert accepted["coverage_gaps"] == []
    assert world.email.sent[-1].subject.startswith("[Vigil] Rollout notice")
    assert "Reply" in world.sms.sent[-1].body


def test_confirmation_link_get_changes_nothing(client: Client, keys: Keys, world: FakeWorld) -> None:
    created = create(client, keys)
    path = "/verify/" + world.email.sent[0].text.split("/verify/")[1].split()[0]
    response = client.http.get(path)
    assert response.status_code == 200
    assert "Confirm this address" in response.body.decode()
    assert state(world, created["id"], "email") == "unverified"


def test_forged_confirmation_or_unsubscribe_token_is_404(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    ref = ChannelRef(created["id"], channel(created, "email")["id"])
    ack_secret_of_another_stack = b"another-stack"
    for purpose, path in ((Purpose.VERIFY, "/verify/"), (Purpose.UNSUBSCRIBE, "/unsubscribe/")):
        assert post_form(client, path + make_channel_token(ack_secret_of_another_stack, purpose, ref)) == 404
    # A confirmation token is not an unsubscribe token, nor the other way round.
    secret = world.deps().signing_keys().current
    assert post_form(client, "/unsubscribe/" + make_channel_token(secret, Purpose.VERIFY, ref)) == 404
    assert state(world, created["id"], "email") == "unverified"


# ---------------------------------------------------------------- duplicates


def test_an_address_of_another_subscriber_is_refused_with_409_naming_the_field(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    create(client, keys)
    other = {**ADVISER, "name": "Someone else", "channels": [{"type": "sms", "phone": "(860) 555-0100"}]}
    status, body = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], other)
    assert status == 409
    assert_error(body, "conflict")
    assert body["details"] == [
        {"field": "channels[0].phone", "message": "already belongs to another subscriber"}
    ]
    assert len(world.subscribers.subscribers) == 1


def test_a_refused_subscriber_gives_back_the_addresses_it_claimed(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    create(client, keys)
    clash = {
        **ADVISER,
        "name": "Clash",
        "channels": [
            {"type": "email", "address": "new@example.gov"},
            {"type": "email", "address": "adviser@example.gov"},
        ],
    }
    assert call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], clash)[0] == 409
    assert "new@example.gov" not in world.contacts.owners


def test_deleting_a_subscriber_frees_its_addresses(client: Client, keys: Keys, world: FakeWorld) -> None:
    created = create(client, keys)
    call(client, "DELETE", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN])
    assert world.contacts.owners == {}
    create(client, keys)


# ---------------------------------------------------------------- PATCH


def test_patch_changes_only_the_fields_given(client: Client, keys: Keys, world: FakeWorld) -> None:
    created = create(client, keys)
    status, changed = call(
        client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"name": "Senior Adviser"}
    )
    assert status == 200
    assert changed["name"] == "Senior Adviser"
    assert changed["role"] == created["role"]
    assert [c["id"] for c in changed["channels"]] == [c["id"] for c in created["channels"]]
    assert all("secret" not in c for c in changed["channels"])


def test_patch_adds_and_removes_subscriptions(client: Client, keys: Keys, world: FakeWorld) -> None:
    created = create(client, keys)
    status, changed = call(
        client,
        "PATCH",
        f"/subscribers/{created['id']}",
        keys[ApiRole.ADMIN],
        {
            "add_subscriptions": [{"jurisdiction": "New Haven", "event_types": ["detainer"]}],
            "remove_subscriptions": [],
        },
    )
    assert status == 200
    assert {s["jurisdiction"] for s in changed["subscriptions"]} == {"us-ct", "us-ct/town/new-haven"}
    _, changed = call(
        client,
        "PATCH",
        f"/subscribers/{created['id']}",
        keys[ApiRole.ADMIN],
        {"remove_subscriptions": ["statewide"]},
    )
    assert [s["jurisdiction"] for s in changed["subscriptions"]] == ["us-ct/town/new-haven"]


def test_patch_that_would_leave_no_subscription_is_refused(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    status, body = call(
        client,
        "PATCH",
        f"/subscribers/{created['id']}",
        keys[ApiRole.ADMIN],
        {"remove_subscriptions": ["statewide"]},
    )
    assert status == 400
    assert body["details"][0]["field"] == "subscriptions"


def test_patch_keeps_the_state_of_channels_it_keeps_and_confirms_new_ones(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    confirm_email(client, world, "adviser@example.gov")
    channels = [
        {"type": "email", "address": "adviser@example.gov"},
        {"type": "email", "address": "desk@example.gov"},
    ]
    status, changed = call(
        client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"channels": channels}
    )
    assert status == 200
    assert [(c["address"], c["state"]) for c in changed["channels"]] == [
        ("adviser@example.gov", "active"),
        ("desk@example.gov", "unverified"),
    ]
    assert world.email.sent[-1].to == "desk@example.gov"
    assert "+18605550100" not in world.contacts.owners  # the dropped phone is free again


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"role": "king"}, "role"),
        ({"channels": [{"type": "email", "address": "nope"}]}, "channels[0].address"),
        ({"add_subscriptions": [{"jurisdiction": "Atlantis"}]}, "add_subscriptions[0].jurisdiction"),
        ({"remove_subscriptions": ["Atlantis"]}, "remove_subscriptions[0]"),
        ({"enable_channels": ["nothing"]}, "enable_channels"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_invalid_patch_is_400_naming_the_field_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld, body: dict[str, Any], field: str
) -> None:
    created = create(client, keys)
    before = world.subscribers.get(created["id"])
    status, answer = call(client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], body)
    assert status == 400
    assert field in {d["field"] for d in answer["details"]}
    assert world.subscribers.get(created["id"]) == before


def test_patch_of_an_unknown_subscriber_is_404(client: Client, keys: Keys) -> None:
    status, body = call(client, "PATCH", "/subscribers/sub_nobody", keys[ApiRole.ADMIN], {"name": "x"})
    assert status == 404
    assert_error(body, "not_found")


# ---------------------------------------------------------------- opting out


def test_every_notice_email_carries_one_click_unsubscribe(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    create(client, keys, {**ADVISER, "channels": ADVISER["channels"][:1]})
    confirm_email(client, world, "adviser@example.gov")
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    run(world)
    headers = world.email.sent[-1].headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/")


def unsubscribe_path(world: FakeWorld) -> str:
    return world.email.sent[-1].headers["List-Unsubscribe"].strip("<>").removeprefix("http://127.0.0.1:8000")


def test_one_click_unsubscribe_stops_emails_and_tells_the_admins(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, {**ADVISER, "channels": ADVISER["channels"][:2]})
    confirm_email(client, world, "adviser@example.gov")
    confirm_phone(client, world, "+18605550100")
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    run(world)
    path = unsubscribe_path(world)
    assert client.http.get(path).status_code == 200
    assert state(world, created["id"], "email") == "active"  # the page changes nothing
    assert post_form(client, path, "List-Unsubscribe=One-Click") == 200
    assert state(world, created["id"], "email") == "opted-out"
    alert = world.email.sent[-1]
    assert alert.to == "ops@vigil.example.gov"
    assert "can no longer be reached by email" in alert.subject
    assert "Notices now reach them by: sms" in alert.text
    sent_before = len(world.email.sent)
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(external_id="second"))
    run(world)
    assert len(world.email.sent) == sent_before  # no more email; the text still goes
    assert world.sms.sent[-1].body.startswith("VIGIL ROLLOUT")


@pytest.mark.parametrize(
    "word", ["STOP", "stopall", " Unsubscribe ", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
)
def test_stop_keywords_opt_the_number_out(client: Client, keys: Keys, world: FakeWorld, word: str) -> None:
    created = create(client, keys, {**ADVISER, "channels": ADVISER["channels"][:2]})
    confirm_phone(client, world, "+18605550100")
    status, answer = call(client, "POST", "/dev/sms/inbound", None, {"from": "+18605550100", "body": word})
    assert (status, answer["outcome"]) == (200, "stopped")
    assert state(world, created["id"], "sms") == "opted-out"
    assert "Reply START to resume" in world.sms.sent[-1].body
    assert world.email.sent[-1].to == "ops@vigil.example.gov"


@pytest.mark.parametrize("word", ["START", "unstop", "YES"])
def test_start_keywords_resume_texts(client: Client, keys: Keys, world: FakeWorld, word: str) -> None:
    created = create(client, keys, {**ADVISER, "channels": ADVISER["channels"][:2]})
    confirm_phone(client, world, "+18605550100")
    call(client, "POST", "/dev/sms/inbound", None, {"from": "+18605550100", "body": "STOP"})
    status, answer = call(client, "POST", "/dev/sms/inbound", None, {"from": "+18605550100", "body": word})
    assert (status, answer["outcome"]) == (200, "started")
    assert state(world, created["id"], "sms") == "active"


def test_help_answers_without_changing_anything(client: Client, keys: Keys, world: FakeWorld) -> None:
    created = create(client, keys, {**ADVISER, "channels": ADVISER["channels"][:2]})
    confirm_phone(client, world, "+18605550100")
    status, answer = call(client, "POST", "/dev/sms/inbound", None, {"from": "+18605550100", "body": "help"})
    assert (status, answer["outcome"]) == (200, "help")
    assert "STOP" in world.sms.sent[-1].body
    assert state(world, created["id"], "sms") == "active"


def test_a_stopped_channels_queued_delivery_is_cancelled_at_send_time(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    create(client, keys, {**ADVISER, "channels": ADVISER["channels"][:2]})
    confirm_email(client, world, "adviser@example.gov")
    confirm_phone(client, world, "+18605550100")
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    from tests.unit.test_pipeline import route_all  # noqa: PLC0415  # the pipeline's own helper

    route_all(world)
    call(client, "POST", "/dev/sms/inbound", None, {"from": "+18605550100", "body": "STOP"})
    texts_before = len(world.sms.sent)
    for body in world.send_queue.take():
        deliver(world, body)
    assert len(world.sms.sent) == texts_before
    cancelled = [d for d in world.deliveries.deliveries.values() if str(d.status) == "cancelled"]
    assert [(str(d.channel_type), d.last_error) for d in cancelled] == [
        ("sms", "channel opted-out before sending")
    ]


# ---------------------------------------------------------------- webhooks


def test_webhook_to_a_name_resolving_to_loopback_is_refused_at_creation(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    # The real guard with the system resolver: "localhost" resolves to 127.0.0.1 on every machine.
    bootstrap.use(
        replace(world.deps(), webhook_guard=functools.partial(webhook_refusal, allow_private=False))
    )
    body = {**ADVISER, "channels": [{"type": "webhook", "url": "https://localhost/hooks"}]}
    status, answer = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)
    assert status == 400
    assert answer["details"][0]["field"] == "channels[0].url"
    assert "127.0.0.1" in answer["details"][0]["message"]
    assert world.subscribers.subscribers == {}


@pytest.mark.parametrize(
    "url", ["https://169.254.169.254/latest/meta-data", "https://[::ffff:169.254.169.254]/"]
)
def test_webhook_to_the_cloud_metadata_service_is_refused_even_where_local_receivers_are_allowed(
    client: Client, keys: Keys, world: FakeWorld, url: str
) -> None:
    bootstrap.use(replace(world.deps(), webhook_guard=functools.partial(webhook_refusal, allow_private=True)))
    status, answer = call(
        client,
        "POST",
        "/subscribers",
        keys[ApiRole.ADMIN],
        {**ADVISER, "channels": [{"type": "webhook", "url": url}]},
    )
    assert status == 400
    assert "metadata" in answer["details"][0]["message"]


def test_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, {**ADVISER, "channels": ADVISER["channels"][2:]})
    hook = channel(created, "webhook")
    status, rotated = call(
        client,
        "POST",
        f"/subscribers/{created['id']}/channels/{hook['id']}/rotate-secret",
        keys[ApiRole.ADMIN],
        {},
    )
    assert status == 200
    assert rotated["secret"] != hook["secret"]
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    run(world)
    message, secrets = world.webhooks.sent[-1]
    assert secrets == (rotated["secret"], hook["secret"])
    body = '{"a":1}'
    headers = signed_headers(message, body, secrets=secrets, now=datetime.now(UTC))
    for secret in secrets:  # a receiver holding either secret verifies the message
        Webhook(secret).verify(body, headers)
    stored = world.subscribers.get(created["id"]).channel(hook["id"])
    assert stored is not None
    overlap_end = datetime.fromisoformat(rotated["previous_secret_valid_until"])
    assert stored.signing_secrets(overlap_end + timedelta(seconds=1)) == (rotated["secret"],)


def test_rotating_the_secret_of_an_email_channel_is_400(client: Client, keys: Keys) -> None:
    created = create(client, keys)
    status, body = call(
        client,
        "POST",
        f"/subscribers/{created['id']}/channels/{channel(created, 'email')['id']}/rotate-secret",
        keys[ApiRole.ADMIN],
        {},
    )
    assert status == 400
    assert body["details"][0]["field"] == "channel_id"


def test_endpoint_failing_every_attempt_of_a_schedule_is_disabled_admins_told_and_can_be_re_enabled(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, {**ADVISER, "channels": ADVISER["channels"][2:]})
    hook_id = channel(created, "webhook")["id"]

    def refuse(*_: Any, **__: Any) -> str:
        raise SendFailed("webhook: HTTP 503", retryable=True)

    world.webhooks.send = refuse  # type: ignore[method-assign]  # the receiver is down
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    from tests.unit.test_pipeline import route_all  # noqa: PLC0415  # the pipeline's own helper

    route_all(world)
    [message] = world.send_queue.take()
    at = timedelta(0)
    for wait in RETRY_SCHEDULES[ChannelType.WEBHOOK]:  # each attempt when the schedule brings it back
        assert state(world, created["id"], "webhook") == "active"
        at += timedelta(seconds=wait)
        deliver(world, message, after=at)
    assert state(world, created["id"], "webhook") == "disabled"
    assert world.email.sent[-1].subject.endswith("disabled after 8 failed attempts in a row")
    status, changed = call(
        client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"enable_channels": [hook_id]}
    )
    assert status == 200
    assert channel(changed, "webhook")["state"] == "active"
    enabled = world.subscribers.get(created["id"]).channel(hook_id)
    assert enabled is not None
    assert (enabled.failing_since, enabled.consecutive_failures) == (None, 0)  # a whole schedule anew


def test_a_failure_recorded_by_a_send_keeps_an_admins_change_made_while_it_was_sending(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, {**ADVISER, "channels": ADVISER["channels"][2:]})
    hook_id = channel(created, "webhook")["id"]

    def renamed_meanwhile(*_: Any, **__: Any) -> str:
        # The batch's subscribers were read when it was claimed; the admin edits before it finishes.
        status, _ = call(
            client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"name": "Policy Adviser"}
        )
        assert status == 200
        raise SendFailed("webhook: HTTP 503", retryable=True)

    world.webhooks.send = renamed_meanwhile  # type: ignore[method-assign]  # an admin edits mid-send
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    from tests.unit.test_pipeline import route_all  # noqa: PLC0415  # the pipeline's own helper

    route_all(world)
    [message] = world.send_queue.take()
    deliver(world, message, after=timedelta(0))
    stored = world.subscribers.get(created["id"])
    hook = stored.channel(hook_id)
    assert hook is not None
    assert (stored.name, hook.consecutive_failures) == ("Policy Adviser", 1)


def test_a_change_to_a_subscriber_that_keeps_changing_gives_up_and_writes_nothing(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.subscribers.add(subscriber("sub_busy", Role.ADVOCATE, "us-ct"))
    writes: list[str] = []
    stored = world.subscribers.replace

    def another_writer_first(changed: Subscriber) -> None:
        current = world.subscribers.get(changed.id)
        stored(replace(current, tags=(*current.tags, "x")))  # someone else's write lands first
        writes.append(changed.name)
        stored(changed)  # refused: based on the read before

    monkeypatch.setattr(world.subscribers, "replace", another_writer_first)  # a record always busy
    with pytest.raises(ChangedMeanwhile):
        change("sub_busy", lambda s: replace(s, name="Mine"), subscribers=world.subscribers)
    assert writes == ["Mine"] * CHANGE_ATTEMPTS
    assert world.subscribers.get("sub_busy").name != "Mine"


def test_a_change_is_applied_again_to_what_another_writer_stored(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.subscribers.add(subscriber("sub_2", Role.ADVOCATE, "us-ct"))
    stored = world.subscribers.replace
    raced: list[bool] = []

    def once_raced(changed: Subscriber) -> None:
        if not raced:
            raced.append(True)
            current = world.subscribers.get(changed.id)
            stored(replace(current, organization="Changed by an admin"))
        stored(changed)

    monkeypatch.setattr(world.subscribers, "replace", once_raced)  # one write lands in between
    done = change("sub_2", lambda s: replace(s, name="Renamed"), subscribers=world.subscribers)
    assert done is not None
    after = world.subscribers.get("sub_2")
    assert (after.name, after.organization, after.revision) == ("Renamed", "Changed by an admin", 2)
    assert done.after.revision == after.revision


# ---------------------------------------------------------------- keys and audit


def test_new_key_is_shown_once_works_and_is_listed_without_its_secret(client: Client, keys: Keys) -> None:
    status, created = call(
        client, "POST", "/keys", keys[ApiRole.ADMIN], {"name": "ICE email relay", "role": "source"}
    )
    assert status == 201
    assert created["key"].startswith(f"vk_{created['id']}_")
    assert call(client, "POST", "/events", created["key"], rollout_body())[0] == 202
    _, listed = call(client, "GET", "/keys", keys[ApiRole.ADMIN])
    mine = next(k for k in listed["items"] if k["id"] == created["id"])
    assert mine == {k: created[k] for k in ("id", "name", "role", "created_at", "revoked_at")}
    assert all("key" not in k and "secret_hash" not in k for k in listed["items"])


def test_revoked_key_is_refused_at_once(client: Client, keys: Keys) -> None:
    _, created = call(client, "POST", "/keys", keys[ApiRole.ADMIN], {"name": "temp", "role": "viewer"})
    assert call(client, "DELETE", f"/keys/{created['id']}", keys[ApiRole.ADMIN])[0] == 204
    assert call(client, "GET", "/policies/rollout", created["key"])[0] == 401


def test_the_last_active_admin_key_cannot_be_revoked(client: Client, keys: Keys) -> None:
    admin_id = keys[ApiRole.ADMIN].split("_")[1]
    status, body = call(client, "DELETE", f"/keys/{admin_id}", keys[ApiRole.ADMIN])
    assert status == 409
    assert "last active admin key" in body["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "x", "role": "root"}, "role"), ({"role": "viewer"}, "name"), ({"x": 1}, "x")],
)
def test_invalid_key_request_is_400(client: Client, keys: Keys, body: dict[str, Any], field: str) -> None:
    status, answer = call(client, "POST", "/keys", keys[ApiRole.ADMIN], body)
    assert status == 400
    assert field in {d["field"] for d in answer["details"]}


def test_revoking_an_unknown_key_is_404(client: Client, keys: Keys) -> None:
    assert call(client, "DELETE", "/keys/nokey", keys[ApiRole.ADMIN])[0] == 404


def test_admin_actions_are_audited_with_before_and_after_and_the_trail_verifies(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    call(client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"name": "Renamed"})
    call(client, "POST", "/keys", keys[ApiRole.ADMIN], {"name": "k", "role": "viewer"})
    status, trail = call(client, "GET", "/audit", keys[ApiRole.ADMIN])
    assert status == 200
    assert trail["verified"] is True
    actions = [e["data"]["action"] for e in trail["items"]]
    assert actions == ["key.created", "subscriber.updated", "subscriber.created"]
    updated = trail["items"][1]
    assert updated["actor"] == keys[ApiRole.ADMIN].split("_")[1]
    assert (updated["data"]["before"]["name"], updated["data"]["after"]["name"]) == (
        ADVISER["name"],
        "Renamed",
    )
    assert "whsec_" not in str(trail)
