"""Acknowledging through the API: the link (GET shows, POST records), webhook ack_url, SMS reply codes,
the log with its verification, policies, and the sweep route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.subscribers import Channel, ChannelType, Role
from tests.builders import rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call

Keys = dict[ApiRole, str]


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    channels = (Channel(ChannelType.EMAIL, "adviser@example.gov"), Channel(ChannelType.SMS, "+18605550100"))
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=channels))
    world.subscribers.add(subscriber("mayor", Role.LOCAL_OFFICIAL, "us-ct/town/new-haven"))
    with Client(app) as test_client:
        yield test_client


def post_and_deliver(client: Client, keys: Keys, world: FakeWorld) -> str:
    from tests.unit.test_pipeline import run  # noqa: PLC0415  # the pipeline's own helper

    _, accepted = call(
        client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(jurisdiction="New Haven")
    )
    run(world)
    return str(accepted["notice_id"])


def link_path(world: FakeWorld, to: str) -> str:
    email = next(m for m in world.email.sent if m.to == to)
    return "/ack/" + email.text.split("/ack/")[1].split()[0]


def page(client: Client, method: str, path: str) -> tuple[int, str]:
    # As a browser sends them: a form post has a content type, a link click has none.
    headers = {"Accept": "text/html"}
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = getattr(client.http, method.lower())(path, headers=headers, body="")
    return response.status_code, response.body.decode() if isinstance(response.body, bytes) else response.body


def test_ack_link_get_changes_nothing_because_mail_scanners_follow_links(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    log_before = world.ack_log.entries(notice_id)
    status, html = page(client, "GET", link_path(world, "adviser@example.gov"))
    assert status == 200
    assert "<form method='post'" in html
    assert "I have seen this notice" in html
    assert world.deliveries.acknowledgments(notice_id) == []
    assert world.ack_log.entries(notice_id) == log_before
    assert world.notices.get(notice_id).status is NoticeStatus.OPEN


def test_ack_link_post_acknowledges_and_a_repeat_says_so(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    path = link_path(world, "adviser@example.gov")
    status, html = page(client, "POST", path)
    assert status == 200
    assert "your acknowledgment is recorded" in html
    assert world.notices.get(notice_id).status is NoticeStatus.ACKNOWLEDGED
    status, html = page(client, "POST", path)
    assert status == 200
    assert "already acknowledged" in html
    acks = [e for e in world.ack_log.entries(notice_id) if e.kind is EntryKind.ACKNOWLEDGED]
    assert [(e.actor, e.data["via"], e.data["notice_acknowledged"]) for e in acks] == [
        ("adviser", "link", True)
    ]


def test_ack_page_shows_the_notice_and_escapes_what_the_source_wrote(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    body = rollout_body(jurisdiction="New Haven", summary="<script>alert(1)</script> goes statewide")
    call(client, "POST", "/events", keys[ApiRole.SOURCE], body)
    from tests.unit.test_pipeline import run  # noqa: PLC0415  # the pipeline's own helper

    run(world)
    status, html = page(client, "GET", link_path(world, "adviser@example.gov"))
    assert status == 200
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; goes statewide" in html


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_or_mangled_token_is_404_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld, method: str
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    real = link_path(world, "adviser@example.gov")
    payload, mac = real.removeprefix("/ack/").split(".")
    forged = f"/ack/{payload}.{'A' * len(mac)}"
    for path in (forged, "/ack/not-a-token", "/ack/" + payload):
        status, html = page(client, method, path)
        assert status == 404
        assert "not valid" in html
    assert world.deliveries.acknowledgments(notice_id) == []


def test_token_of_a_deleted_delivery_is_404(client: Client, keys: Keys, world: FakeWorld) -> None:
    post_and_deliver(client, keys, world)
    path = link_path(world, "adviser@example.gov")
    world.deliveries.deliveries.clear()
    assert page(client, "POST", path)[0] == 404


def test_mayors_acknowledgment_leaves_the_rollout_open_for_the_state_executive(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    page(client, "POST", link_path(world, "mayor@example.gov"))
    assert world.notices.get(notice_id).status is NoticeStatus.OPEN
    status, detail = call(client, "GET", f"/notices/{notice_id}", keys[ApiRole.VIEWER])
    assert status == 200
    assert detail["required_roles"] == [{"role": "state-executive", "acknowledged": False}]
    mayor = next(r for r in detail["recipients_detail"] if r["subscriber_id"] == "mayor")
    assert mayor["acknowledged_via"] == "link"
    assert detail["next_step"]["notify"] == "unacknowledged"
    assert detail["next_step"]["index"] == 1


def test_webhook_ack_url_acknowledges_with_a_json_answer_recorded_as_the_webhooks(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    hook = Channel(
        ChannelType.WEBHOOK, "https://cases.example.org/hooks/vigil", secret="whsec_dGVzdHNlY3JldA=="
    )
    world.subscribers.add(subscriber("system", Role.STATE_EXECUTIVE, "us-ct", channels=(hook,)))
    notice_id = post_and_deliver(client, keys, world)
    [(message, _)] = world.webhooks.sent
    ack_url = str(message.payload["data"]["ack_url"])
    assert ack_url.endswith("?via=webhook")
    response = client.http.post(
        "/ack/" + ack_url.split("/ack/")[1], headers={"Content-Type": "application/json"}, body="{}"
    )
    assert response.status_code == 200
    answer = json.loads(response.body)
    assert answer["outcome"] == "acknowledged"
    assert answer["notice_acknowledged"] is True
    [ack] = world.deliveries.acknowledgments(notice_id)
    assert (ack.subscriber_id, ack.via.value) == ("system", "webhook")


def test_a_json_post_to_an_emailed_link_is_recorded_as_such_not_as_a_webhook(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    response = client.http.post(
        link_path(world, "adviser@example.gov"), headers={"Content-Type": "application/json"}, body="{}"
    )
    assert response.status_code == 200
    assert world.deliveries.acknowledgments(notice_id)[0].via.value == "link-json"
    detail = call(client, "GET", f"/notices/{notice_id}", keys[ApiRole.VIEWER])[1]
    adviser = next(r for r in detail["recipients_detail"] if r["subscriber_id"] == "adviser")
    assert adviser["acknowledged_via"] == "link-json"


def test_acknowledgment_after_the_notice_closed_is_recorded_as_late(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    world.notices.notices[notice_id] = replace(world.notices.get(notice_id), status=NoticeStatus.CLOSED)
    status, html = page(client, "POST", link_path(world, "adviser@example.gov"))
    assert status == 200
    assert "kept as late" in html
    [ack] = world.deliveries.acknowledgments(notice_id)
    assert ack.late is True
    assert world.notices.get(notice_id).status is NoticeStatus.CLOSED


def sms_reply(client: Client, phone: str, body: str) -> tuple[int, Any]:
    return call(client, "POST", "/dev/sms/inbound", None, {"from": phone, "body": body})


@pytest.fixture
def local_client(world: FakeWorld, client: Client) -> Client:
    from chalicelib import bootstrap  # noqa: PLC0415  # re-installs the fakes with local settings
    from chalicelib.config import Settings  # noqa: PLC0415

    bootstrap.use(world.deps(Settings.from_env({"VIGIL_STAGE": "local"})))
    return client


def test_sms_reply_code_acknowledges_and_answers(local_client: Client, keys: Keys, world: FakeWorld) -> None:
    notice_id = post_and_deliver(local_client, keys, world)
    [text] = world.sms.sent
    code = text.body.split("Reply ")[1].split()[0]
    status, answer = sms_reply(local_client, "+18605550100", f"ack {code}")
    assert status == 200
    assert answer["outcome"] == "acknowledged"
    assert world.notices.get(notice_id).status is NoticeStatus.ACKNOWLEDGED
    assert world.sms.sent[-1].to == "+18605550100"
    assert world.sms.sent[-1].body.startswith("Vigil: acknowledged")


@pytest.mark.parametrize(
    ("phone", "body"), [("+18605550100", "999999"), ("+18605550100", "maybe"), ("+12035550199", "")]
)
def test_wrong_or_foreign_reply_code_is_answered_helpfully_and_acknowledges_nothing(
    local_client: Client, keys: Keys, world: FakeWorld, phone: str, body: str
) -> None:
    notice_id = post_and_deliver(local_client, keys, world)
    if not body:  # the right code, from another phone
        body = world.sms.sent[0].body.split("Reply ")[1].split()[0]
    status, answer = sms_reply(local_client, phone, body)
    assert status == 200
    assert answer["outcome"] == "unrecognised"
    assert "not recognised" in world.sms.sent[-1].body
    assert world.deliveries.acknowledgments(notice_id) == []


def test_sms_inbound_route_does_not_exist_outside_the_local_stage(client: Client) -> None:
    status, body = sms_reply(client, "+18605550100", "123456")
    assert status == 404
    assert_error(body, "not_found")


def test_log_of_a_notice_verifies(client: Client, keys: Keys, world: FakeWorld) -> None:
    notice_id = post_and_deliver(client, keys, world)
    status, body = call(client, "GET", f"/notices/{notice_id}/log", keys[ApiRole.VIEWER])
    assert status == 200
    assert body["verified"] is True
    assert [e["kind"] for e in body["entries"]][:2] == ["created", "routed"]
    assert body["entries"][1]["prev_hash"] == body["entries"][0]["hash"]


def test_tampered_log_reports_unverified_and_where_it_breaks(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    entries = world.ack_log.entries_by_notice[notice_id]
    entries[1] = replace(entries[1], data={**entries[1].data, "recipients": 0})
    status, body = call(client, "GET", f"/notices/{notice_id}/log", keys[ApiRole.VIEWER])
    assert status == 200
    assert body["verified"] is False
    assert body["broken_at"] == 1
    assert body["reason"]


def test_log_of_an_unknown_notice_is_404(client: Client, keys: Keys) -> None:
    status, body = call(client, "GET", "/notices/ntc_missing/log", keys[ApiRole.VIEWER])
    assert status == 404
    assert_error(body, "not_found")


def test_default_policy_is_readable_by_viewers(client: Client, keys: Keys) -> None:
    status, body = call(client, "GET", "/policies/rollout", keys[ApiRole.VIEWER])
    assert status == 200
    assert body["required_roles"] == ["state-executive"]
    assert body["steps"][0] == {
        "after": "PT0S",
        "notify": "recipients",
        "channels": ["email", "sms", "webhook", "slack", "teams"],
    }


POLICY = {
    "required_roles": ["state-executive", "local-official"],
    "steps": [
        {"after": "PT0S", "notify": "recipients"},
        {"after": "PT1M", "notify": "unacknowledged", "channels": ["email", "sms"]},
        {"after": "PT5M", "notify": "admins"},
    ],
}


def test_admin_replaces_a_policy_and_it_reads_back(client: Client, keys: Keys, world: FakeWorld) -> None:
    status, body = call(client, "PUT", "/policies/rollout", keys[ApiRole.ADMIN], POLICY)
    assert status == 200
    assert body["steps"][1] == {"after": "PT1M", "notify": "unacknowledged", "channels": ["email", "sms"]}
    assert call(client, "GET", "/policies/rollout", keys[ApiRole.VIEWER])[1] == body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"required_roles": []}, "required_roles"),
        ({"required_roles": ["king"]}, "required_roles"),
        ({"steps": []}, "steps"),
        ({"steps": [{"after": "PT5M", "notify": "recipients"}]}, "steps[0]"),
        (
            {"steps": [{"after": "PT0S", "notify": "recipients"}, {"after": "soon", "notify": "admins"}]},
            "steps[1].after",
        ),
        ({"steps": [{"after": "PT0S", "notify": "recipients"}, {"notify": "admins"}]}, "steps[1]"),
        # Accepted before, as a step with no timing at all, which never falls due.
        (
            {"steps": [{"after": "PT0S", "notify": "recipients"}, {"after": None, "notify": "admins"}]},
            "steps[1].after",
        ),
        (
            {"steps": [{"after": "PT0S", "notify": "recipients"}, {"after": "PT1M", "notify": "the press"}]},
            "steps[1].notify",
        ),
        (
            {
                "steps": [
                    {"after": "PT0S", "notify": "recipients"},
                    {"before_deadline": "PT1H", "notify": "admins"},
                ]
            },
            "steps[1].before_deadline",
        ),
        (
            {
                "steps": [
                    {"after": "PT0S", "notify": "recipients"},
                    {"after": "PT2H", "notify": "unacknowledged"},
                    {"after": "PT1H", "notify": "admins"},
                ]
            },
            "steps[2].after",
        ),
        ({"steps": [{"after": "PT0S", "notify": "recipients", "channels": ["pigeon"]}]}, "steps[0].channels"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_policy_is_400_naming_the_field_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld, change: dict[str, Any], field: str
) -> None:
    status, body = call(client, "PUT", "/policies/rollout", keys[ApiRole.ADMIN], {**POLICY, **change})
    assert status == 400
    assert field in {d["field"] for d in body["details"]}
    assert world.policies.policies == {}


def test_unknown_event_type_policy_is_400(client: Client, keys: Keys) -> None:
    status, body = call(client, "GET", "/policies/gossip", keys[ApiRole.VIEWER])
    assert status == 400
    assert body["details"][0]["field"] == "event_type"


@pytest.mark.parametrize("role", [ApiRole.SOURCE, ApiRole.VIEWER, ApiRole.REVIEWER])
def test_only_admins_replace_policies_or_run_the_sweep(
    client: Client, keys: Keys, world: FakeWorld, role: ApiRole
) -> None:
    assert call(client, "PUT", "/policies/rollout", keys[role], POLICY)[0] == 403
    assert call(client, "POST", "/admin/sweep", keys[role], {})[0] == 403
    assert world.policies.policies == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/policies/rollout"),
        ("PUT", "/policies/rollout"),
        ("POST", "/admin/sweep"),
        ("GET", "/notices/x/log"),
    ],
)
def test_policy_log_and_sweep_routes_refuse_a_missing_key(client: Client, method: str, path: str) -> None:
    status, body = call(client, method, path, None, {} if method != "GET" else None)
    assert status == 401
    assert_error(body, "unauthorized")


def test_admin_sweep_runs_due_steps_now(client: Client, keys: Keys, world: FakeWorld) -> None:
    call(
        client,
        "PUT",
        "/policies/rollout",
        keys[ApiRole.ADMIN],
        {
            **POLICY,
            "steps": [
                {"after": "PT0S", "notify": "recipients"},
                {"after": "PT0S", "notify": "unacknowledged"},
            ],
        },
    )
    notice_id = post_and_deliver(client, keys, world)
    status, body = call(client, "POST", "/admin/sweep", keys[ApiRole.ADMIN], {})
    assert status == 200
    assert body["escalated"] == [
        {"notice_id": notice_id, "step": 1, "notify": "unacknowledged", "recipients": 2}
    ]
