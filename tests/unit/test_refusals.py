"""Requests that once answered 5xx, or were read the wrong way, answered with a refusal that names
the field and changes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole
from tests.fakes import FakeWorld
from tests.unit.test_api import call

Keys = dict[ApiRole, str]


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


def send(
    client: Client, method: str, path: str, raw: str, key: str | None, content_type: str
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    response = getattr(client.http, method.lower())(path, headers=headers, body=raw)
    return response.status_code, json.loads(response.body)


def test_a_name_given_twice_is_refused_not_the_last_one_winning(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    before = set(world.keys.keys)
    status, body = send(
        client,
        "POST",
        "/keys",
        '{"name": "x", "role": "viewer", "role": "admin"}',
        keys[ApiRole.ADMIN],
        "application/json",
    )
    assert status == 400
    assert body["details"] == [{"field": "role", "message": "is given twice in one object; give it once"}]
    assert set(world.keys.keys) == before


def test_an_event_naming_two_jurisdictions_is_refused(client: Client, keys: Keys, world: FakeWorld) -> None:
    raw = (
        '{"type": "rollout", "external_id": "x-1", "program": "secure-communities",'
        ' "jurisdiction": "Hartford", "jurisdiction": "statewide",'
        ' "effective_at": "2012-02-22T00:00:00-05:00", "summary": "s"}'
    )
    status, body = send(client, "POST", "/events", raw, keys[ApiRole.SOURCE], "application/json")
    assert (status, body["details"][0]["field"]) == (400, "jurisdiction")
    assert world.notices.notices == {}


def test_the_key_is_checked_before_the_content_type(client: Client, keys: Keys) -> None:
    status, body = send(client, "POST", "/keys", "<key/>", None, "application/xml")
    assert (status, body["error"]) == (401, "unauthorized")
    status, body = send(client, "POST", "/keys", "<key/>", keys[ApiRole.ADMIN], "application/xml")
    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert body["details"][0]["field"] == "Content-Type"


def test_parser_errors_are_told_in_vigils_own_words(client: Client, keys: Keys) -> None:
    status, body = send(client, "POST", "/keys", "[" * 3000, keys[ApiRole.ADMIN], "application/json")
    assert status == 400
    assert "recursion" not in json.dumps(body)
    status, body = send(client, "POST", "/keys", '{"name": }', keys[ApiRole.ADMIN], "application/json")
    assert body["details"] == [{"field": "body", "message": "is not JSON at line 1, column 10"}]


def test_a_duration_too_long_for_any_clock_is_refused_naming_it(client: Client, keys: Keys) -> None:
    policy = {
        "required_roles": ["state-executive"],
        "steps": [
            {"after": "PT0S", "notify": "recipients"},
            {"after": "PT10570913369201H", "notify": "admins"},
        ],
    }
    status, body = call(client, "PUT", "/policies/rollout", keys[ApiRole.ADMIN], policy)
    assert status == 400
    assert body["details"][0]["field"] == "steps[1].after"


def test_a_cursor_the_service_did_not_issue_is_a_400_not_a_503(client: Client, keys: Keys) -> None:
    forged = base64.b64encode(b'{"x": "y"}').decode()
    status, body = call(client, "GET", f"/notices?type=rollout&cursor={forged}", keys[ApiRole.VIEWER])
    assert (status, body["details"][0]["field"]) == (400, "cursor")


@pytest.mark.parametrize(
    ("text", "field"), [({"from": "", "body": ""}, "from"), ({"from": "+18605550100", "body": 7}, "body")]
)
def test_an_unreadable_inbound_text_is_refused_naming_the_field(
    client: Client, world: FakeWorld, text: dict[str, object], field: str
) -> None:
    bootstrap.use(world.deps(Settings.from_env({"VIGIL_STAGE": "local"})))
    status, body = call(client, "POST", "/dev/sms/inbound", None, text)
    assert status == 400
    assert field in [d["field"] for d in body["details"]]
    assert world.sms.sent == []
