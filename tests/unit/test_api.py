"""app.py through Chalice's test client, with fakes: each route's success and each refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.domain.auth import ApiRole
from tests.builders import detainer_body, rollout_body
from tests.fakes import FakeWorld

Keys = dict[ApiRole, str]

SUBSCRIBER = {
    "name": "Criminal Justice Policy Adviser",
    "role": "state-executive",
    "organization": "Office of the Governor",
    "channels": [
        {"type": "email", "address": "adviser@example.gov"},
        {"type": "sms", "phone": "(860) 555-0100"},
        {"type": "webhook", "url": "https://cases.example.org/hooks/vigil"},
    ],
    "subscriptions": [{"jurisdiction": "statewide", "event_types": ["rollout", "detainer"]}],
}


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


def call(
    client: Client, method: str, path: str, key: str | None = None, body: Any = None, **headers: str
) -> tuple[int, Any]:
    sent = {"Content-Type": "application/json", **headers}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    response = getattr(client.http, method.lower())(path, headers=sent, body=raw)
    return response.status_code, json.loads(response.body) if response.body else None


def assert_error(body: Any, code: str) -> None:
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], list)


def test_health_answers_ok_without_a_key(client: Client) -> None:
    assert call(client, "GET", "/health") == (200, {"status": "ok"})


def test_event_is_accepted_with_notice_id_recipients_and_gaps(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, body = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    assert status == 202
    assert body["notice_id"].startswith("ntc_")
    assert body["duplicate"] is False
    assert body["recipients"] == 0
    assert body["coverage_gaps"] == ["state-executive"]
    assert world.route_queue.sent == [{"notice_id": body["notice_id"]}]


def test_same_event_twice_is_a_duplicate_with_the_same_notice(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, first = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    notice = world.notices.get(first["notice_id"])
    world.notices.save_routing(notice.routed(recipients=0, coverage_gaps=(), now=notice.received_at))
    status, second = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    assert status == 202
    assert second["notice_id"] == first["notice_id"]
    assert second["duplicate"] is True
    assert len(world.route_queue.sent) == 1


def test_idempotency_key_header_deduplicates_events_without_external_id(client: Client, keys: Keys) -> None:
    body = rollout_body()
    del body["external_id"]
    _, first = call(client, "POST", "/events", keys[ApiRole.SOURCE], body, **{"Idempotency-Key": "abc-123"})
    _, second = call(client, "POST", "/events", keys[ApiRole.SOURCE], body, **{"Idempotency-Key": "abc-123"})
    assert first["notice_id"] == second["notice_id"]
    assert second["duplicate"] is True


def test_reused_key_with_a_different_event_is_409_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    stored = dict(world.notices.notices)
    status, body = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(summary="changed"))
    assert status == 409
    assert_error(body, "conflict")
    assert world.notices.notices == stored


def test_event_without_a_key_is_401_and_changes_nothing(client: Client, world: FakeWorld) -> None:
    status, body = call(client, "POST", "/events", None, rollout_body())
    assert status == 401
    assert_error(body, "unauthorized")
    assert world.notices.notices == {}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer vk_nokey_abcdefghijklmnopqrstuvwxyz", "Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer "],
)
def test_event_with_a_bad_key_is_401(client: Client, world: FakeWorld, authorization: str) -> None:
    status, body = call(client, "POST", "/events", None, rollout_body(), Authorization=authorization)
    assert status == 401
    assert_error(body, "unauthorized")
    assert world.notices.notices == {}


def test_event_with_a_wrong_secret_for_a_real_key_id_is_401(client: Client, keys: Keys) -> None:
    key_id = keys[ApiRole.SOURCE].split("_")[1]
    status, _ = call(client, "POST", "/events", f"vk_{key_id}_{'x' * 43}", rollout_body())
    assert status == 401


def test_revoked_key_is_401(client: Client, keys: Keys, world: FakeWorld) -> None:
    key_id = keys[ApiRole.SOURCE].split("_")[1]
    world.keys.revoke(key_id, now=world.keys.keys[key_id].created_at)
    status, _ = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    assert status == 401


@pytest.mark.parametrize("role", [ApiRole.VIEWER, ApiRole.REVIEWER])
def test_event_from_a_reading_role_is_403_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld, role: ApiRole
) -> None:
    status, body = call(client, "POST", "/events", keys[role], rollout_body())
    assert status == 403
    assert_error(body, "forbidden")
    assert world.notices.notices == {}


def test_invalid_event_is_400_naming_every_field_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, body = call(
        client,
        "POST",
        "/events",
        keys[ApiRole.SOURCE],
        rollout_body(jurisdiction="Gotham", effective_at="soon"),
    )
    assert status == 400
    assert_error(body, "invalid_input")
    assert {d["field"] for d in body["details"]} == {"jurisdiction", "effective_at"}
    assert world.notices.notices == {}
    assert world.route_queue.sent == []


def test_malformed_json_is_400(client: Client, keys: Keys) -> None:
    status, body = call(client, "POST", "/events", keys[ApiRole.SOURCE], '{"type": ')
    assert status == 400
    assert body["details"][0]["field"] == "body"


def test_empty_body_is_400(client: Client, keys: Keys) -> None:
    status, body = call(client, "POST", "/events", keys[ApiRole.SOURCE], "")
    assert status == 400
    assert_error(body, "invalid_input")


def test_body_over_the_limit_is_413_and_changes_nothing(client: Client, keys: Keys, world: FakeWorld) -> None:
    status, body = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(summary="x" * 300_000))
    assert status == 413
    assert_error(body, "too_large")
    assert world.notices.notices == {}


def test_wrong_content_type_is_415_in_the_json_error_shape(client: Client, keys: Keys) -> None:
    status, body = call(
        client,
        "POST",
        "/events",
        keys[ApiRole.SOURCE],
        json.dumps(rollout_body()),
        **{"Content-Type": "text/plain"},
    )
    assert status == 415
    assert_error(body, "unsupported_media_type")


def test_unknown_notice_is_404(client: Client, keys: Keys) -> None:
    status, body = call(client, "GET", "/notices/ntc_missing", keys[ApiRole.VIEWER])
    assert status == 404
    assert_error(body, "not_found")


def test_notice_detail_never_shows_the_detainer_subject(client: Client, keys: Keys) -> None:
    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], detainer_body())
    status, body = call(client, "GET", f"/notices/{accepted['notice_id']}", keys[ApiRole.VIEWER])
    assert status == 200
    assert "subject" not in body["event"]
    assert "Test Person" not in json.dumps(body)


def test_admin_creates_a_subscriber_and_sees_the_webhook_secret_once(client: Client, keys: Keys) -> None:
    status, created = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], SUBSCRIBER)
    assert status == 201
    assert created["ack_required"] is True
    phones = [c["phone"] for c in created["channels"] if c["type"] == "sms"]
    assert phones == ["+18605550100"]
    hook = next(c for c in created["channels"] if c["type"] == "webhook")
    assert hook["secret"].startswith("whsec_")
    status, fetched = call(client, "GET", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN])
    assert status == 200
    assert all("secret" not in c for c in fetched["channels"])


def test_created_subscriber_receives_the_next_matching_event(client: Client, keys: Keys) -> None:
    call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], SUBSCRIBER)
    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    assert accepted["recipients"] == 1
    assert accepted["coverage_gaps"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": "king"}, "role"),
        ({"channels": [{"type": "email", "address": "not-an-address"}]}, "channels[0].address"),
        ({"channels": [{"type": "sms", "phone": "555"}]}, "channels[0].phone"),
        ({"channels": [{"type": "webhook", "url": "http://cases.example.org/hook"}]}, "channels[0].url"),
        ({"channels": [{"type": "pigeon"}]}, "channels[0].type"),
        ({"channels": []}, "channels"),
        ({"subscriptions": [{"jurisdiction": "Atlantis"}]}, "subscriptions[0].jurisdiction"),
        (
            {"subscriptions": [{"jurisdiction": "statewide", "event_types": ["gossip"]}]},
            "subscriptions[0].event_types",
        ),
        ({"nickname": "x"}, "nickname"),
        ({"subscriptions": [{"jurisdiction": "statewide", "scope": "everywhere"}]}, "subscriptions[0].scope"),
        ({"subscriptions": [{"jurisdiction": "statewide", "scope": None}]}, "subscriptions[0].scope"),
        (
            {
                "subscriptions": [
                    {"jurisdiction": "New Haven", "event_types": ["rollout"], "scope": "exact"},
                    {"jurisdiction": "us-ct/town/new-haven", "event_types": ["detainer"]},
                ]
            },
            "subscriptions[1].scope",
        ),
    ],
)
def test_invalid_subscriber_is_400_naming_the_field_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld, change: dict[str, Any], field: str
) -> None:
    status, body = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], {**SUBSCRIBER, **change})
    assert status == 400
    assert field in {d["field"] for d in body["details"]}
    assert world.subscribers.subscribers == {}


MAYOR = {
    "name": "Mayor of New Haven",
    "role": "local-official",
    "organization": "City of New Haven",
    # A webhook is active at once, so the subscriber counts in coverage without a confirmation.
    "channels": [{"type": "webhook", "url": "https://city.example.gov/hooks/vigil"}],
    "subscriptions": [{"jurisdiction": "New Haven", "event_types": ["rollout"]}],
}


def scopes(subscriber: dict[str, Any]) -> dict[str, tuple[list[str], str]]:
    return {s["jurisdiction"]: (s["event_types"], s["scope"]) for s in subscriber["subscriptions"]}


def test_subscription_scope_round_trips_through_create_show_and_change(client: Client, keys: Keys) -> None:
    body = {
        **MAYOR,
        "subscriptions": [
            {"jurisdiction": "New Haven", "event_types": ["rollout"], "scope": "exact"},
            {"jurisdiction": "New Haven County", "event_types": ["rollout"]},
        ],
    }
    status, created = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)
    assert status == 201
    expected = {
        "us-ct/town/new-haven": (["rollout"], "exact"),
        "us-ct/county/new-haven": (["rollout"], "contained"),
    }
    assert scopes(created) == expected
    path = f"/subscribers/{created['id']}"
    assert scopes(call(client, "GET", path, keys[ApiRole.ADMIN])[1]) == expected

    added = {"add_subscriptions": [{"jurisdiction": "New Haven", "event_types": ["detainer"]}]}
    _, kept = call(client, "PATCH", path, keys[ApiRole.ADMIN], added)
    assert scopes(kept)["us-ct/town/new-haven"] == (["detainer", "rollout"], "exact")

    widened = {
        "add_subscriptions": [{"jurisdiction": "New Haven", "event_types": ["rollout"], "scope": "contained"}]
    }
    _, changed = call(client, "PATCH", path, keys[ApiRole.ADMIN], widened)
    assert scopes(changed)["us-ct/town/new-haven"] == (["detainer", "rollout"], "contained")

    replaced = {
        "subscriptions": [{"jurisdiction": "statewide", "event_types": ["rollout"], "scope": "exact"}]
    }
    _, narrowed = call(client, "PATCH", path, keys[ApiRole.ADMIN], replaced)
    assert scopes(narrowed) == {"us-ct": (["rollout"], "exact")}


def test_a_bad_scope_in_a_change_is_400_naming_the_field(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, created = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], MAYOR)
    change = {"add_subscriptions": [{"jurisdiction": "Hamden", "scope": "nearby"}]}
    status, body = call(client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], change)
    assert status == 400
    assert [d["field"] for d in body["details"]] == ["add_subscriptions[0].scope"]
    assert "contained, exact" in body["details"][0]["message"]
    assert [s.jurisdiction_id for s in world.subscribers.get(created["id"]).subscriptions] == [
        "us-ct/town/new-haven"
    ]


@pytest.mark.parametrize(("scope", "recipients"), [("contained", 1), ("exact", 0)])
def test_statewide_rollout_reaches_a_town_subscriber_unless_its_scope_is_exact(
    client: Client, keys: Keys, scope: str, recipients: int
) -> None:
    body = {
        **MAYOR,
        "subscriptions": [{"jurisdiction": "New Haven", "event_types": ["rollout"], "scope": scope}],
    }
    call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)
    _, accepted = call(
        client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(jurisdiction="statewide")
    )
    assert accepted["recipients"] == recipients


def test_coverage_counts_a_town_subscriber_at_the_state_and_its_county_for_rollouts(
    client: Client, keys: Keys
) -> None:
    call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], MAYOR)
    status, body = call(client, "GET", "/coverage", keys[ApiRole.VIEWER])
    assert status == 200
    places = {p["id"]: p["reachable"] for p in body["jurisdictions"]}
    for where in (
        "us-ct",
        "us-ct/county/new-haven",
        "us-ct/region/south-central-connecticut",
        "us-ct/town/new-haven",
    ):
        assert places[where]["rollout"] == {"local-official": 1}, where
    assert places["us-ct/county/fairfield"]["rollout"] == {}
    assert places["us-ct/town/new-haven"]["detainer"] == {}


@pytest.mark.parametrize("role", [ApiRole.SOURCE, ApiRole.VIEWER, ApiRole.REVIEWER])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/subscribers"),
        ("GET", "/subscribers"),
        ("GET", "/subscribers/sub_x"),
        ("DELETE", "/subscribers/sub_x"),
    ],
)
def test_subscriber_routes_refuse_non_admin_keys_with_403(
    client: Client, keys: Keys, world: FakeWorld, role: ApiRole, method: str, path: str
) -> None:
    status, body = call(client, method, path, keys[role], SUBSCRIBER if method == "POST" else None)
    assert status == 403
    assert_error(body, "forbidden")
    assert world.subscribers.subscribers == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/events"),
        ("GET", "/notices/ntc_x"),
        ("POST", "/subscribers"),
        ("GET", "/subscribers"),
        ("GET", "/subscribers/sub_x"),
        ("DELETE", "/subscribers/sub_x"),
        ("GET", "/jurisdictions?q=New%20Haven"),
    ],
)
def test_every_protected_route_refuses_a_missing_key_with_401(client: Client, method: str, path: str) -> None:
    status, body = call(client, method, path, None, {} if method == "POST" else None)
    assert status == 401
    assert_error(body, "unauthorized")


def test_subscriber_list_is_paginated(client: Client, keys: Keys) -> None:
    for n in range(3):
        body = {
            **SUBSCRIBER,
            "name": f"Office {n}",
            "channels": [{"type": "email", "address": f"o{n}@example.gov"}],
        }
        assert call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)[0] == 201
    status, first = call(client, "GET", "/subscribers?limit=2", keys[ApiRole.ADMIN])
    assert status == 200
    assert len(first["items"]) == 2
    _, rest = call(client, "GET", f"/subscribers?limit=2&cursor={first['cursor']}", keys[ApiRole.ADMIN])
    assert len(rest["items"]) == 1
    assert rest["cursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_subscriber_list_refuses_a_bad_limit(client: Client, keys: Keys, limit: str) -> None:
    status, body = call(client, "GET", f"/subscribers?limit={limit}", keys[ApiRole.ADMIN])
    assert status == 400
    assert body["details"][0]["field"] == "limit"


def test_deleted_subscriber_is_gone_and_receives_nothing(client: Client, keys: Keys) -> None:
    _, created = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], SUBSCRIBER)
    assert call(client, "DELETE", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN])[0] == 204
    assert call(client, "GET", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN])[0] == 404
    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    assert accepted["recipients"] == 0


def test_deleting_an_unknown_subscriber_is_404(client: Client, keys: Keys) -> None:
    status, body = call(client, "DELETE", "/subscribers/sub_nobody", keys[ApiRole.ADMIN])
    assert status == 404
    assert_error(body, "not_found")


def test_jurisdiction_lookup_by_fips_returns_its_ancestors(client: Client, keys: Keys) -> None:
    status, body = call(client, "GET", "/jurisdictions?q=09001", keys[ApiRole.VIEWER])
    assert status == 200
    assert body["jurisdiction"]["id"] == "us-ct/county/fairfield"
    assert body["ancestors"] == ["us-ct/county/fairfield", "us-ct"]


def test_unknown_jurisdiction_lookup_is_404_with_suggestions(client: Client, keys: Keys) -> None:
    status, body = call(client, "GET", "/jurisdictions?q=Hartferd", keys[ApiRole.VIEWER])
    assert status == 404
    assert "Hartford" in body["message"]


def test_dev_outbox_does_not_exist_outside_the_local_stage(client: Client) -> None:
    status, body = call(client, "GET", "/dev/outbox")
    assert status == 404
    assert_error(body, "not_found")


def test_a_name_shared_by_a_town_and_a_county_says_which_was_chosen_and_how_to_name_the_other(
    client: Client, keys: Keys
) -> None:
    status, body = call(client, "GET", "/jurisdictions?q=Tolland", keys[ApiRole.VIEWER])
    assert status == 200
    assert body["jurisdiction"]["id"] == "us-ct/town/tolland"
    assert body["also_named"] == [
        {"id": "us-ct/county/tolland", "name": "Tolland County", "kind": "county", "say": "Tolland County"}
    ]
    status, accepted = call(
        client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(jurisdiction="Windham")
    )
    assert status == 202
    assert accepted["jurisdiction_id"] == "us-ct/town/windham"
    assert [p["say"] for p in accepted["also_named"]] == ["Windham County", "Windham County, VT"]
    _, county = call(client, "GET", "/jurisdictions?q=Tolland County", keys[ApiRole.VIEWER])
    assert county["also_named"] == []


# --- places of every state ---------------------------------------------------------------------


def county_official(name: str, jurisdiction: str, url: str) -> dict[str, Any]:
    return {
        "name": name,
        "role": "local-official",
        "organization": name,
        "channels": [{"type": "webhook", "url": url}],
        "subscriptions": [{"jurisdiction": jurisdiction, "event_types": ["rollout"]}],
    }


def test_a_county_named_with_its_state_is_found_with_its_fips_code(client: Client, keys: Keys) -> None:
    status, body = call(client, "GET", "/jurisdictions?q=Harris County, Texas", keys[ApiRole.VIEWER])
    assert status == 200
    assert body["jurisdiction"]["id"] == "us-tx/county/harris"
    assert body["jurisdiction"]["fips"] == "48201"
    assert body["ancestors"] == ["us-tx/county/harris", "us-tx"]


def test_a_name_several_states_have_is_a_400_naming_each_place_with_its_id(
    client: Client, keys: Keys
) -> None:
    status, body = call(client, "GET", "/jurisdictions?q=Washington County", keys[ApiRole.VIEWER])
    assert status == 400
    assert_error(body, "invalid_input")
    assert "Washington County, TX (us-tx/county/washington)" in body["details"][0]["message"]
    status, refused = call(
        client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(jurisdiction="Washington County")
    )
    assert status == 400
    [detail] = refused["details"]
    assert detail["field"] == "jurisdiction"
    assert detail["message"].startswith("ambiguous jurisdiction 'Washington County'; could mean: ")
    assert "(us-al/county/washington)" in detail["message"]


def test_a_harris_county_rollout_reaches_its_own_and_texas_statewide_subscribers_not_connecticut_s(
    client: Client, keys: Keys
) -> None:
    for body in (
        county_official("Harris County Judge", "Harris County, TX", "https://harris.example.gov/hook"),
        county_official("Governor of Texas", "Texas", "https://texas.example.gov/hook"),
        county_official("Dallas County Judge", "48113", "https://dallas.example.gov/hook"),
        MAYOR,
    ):
        assert call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)[0] == 201
    _, county = call(
        client,
        "POST",
        "/events",
        keys[ApiRole.SOURCE],
        rollout_body(jurisdiction="48201", external_id="harris"),
    )
    assert (county["jurisdiction_id"], county["recipients"]) == ("us-tx/county/harris", 2)
    _, state = call(
        client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(jurisdiction="TX", external_id="texas")
    )
    assert (state["jurisdiction_id"], state["recipients"]) == ("us-tx", 3)


def test_coverage_is_connecticut_s_unless_another_state_is_asked_for(client: Client, keys: Keys) -> None:
    call(
        client,
        "POST",
        "/subscribers",
        keys[ApiRole.ADMIN],
        county_official("Harris County Judge", "Harris County, TX", "https://harris.example.gov/hook"),
    )
    _, connecticut = call(client, "GET", "/coverage", keys[ApiRole.VIEWER])
    assert connecticut["state"] == {"id": "us-ct", "name": "Connecticut"}
    assert {p["id"] for p in connecticut["jurisdictions"]} >= {"us-ct", "us-ct/town/new-haven"}
    assert all(p["id"].startswith("us-ct") for p in connecticut["jurisdictions"])
    assert {"id": "us-tx", "name": "Texas"} in connecticut["states"]
    for asked in ("us-tx", "Texas", "TX", "48"):
        status, texas = call(client, "GET", f"/coverage?state={asked}", keys[ApiRole.VIEWER])
        assert status == 200
        assert texas["state"] == {"id": "us-tx", "name": "Texas"}
        places = {p["id"]: p for p in texas["jurisdictions"]}
        assert len(places) == 1 + 254
        assert places["us-tx"]["reachable"]["rollout"] == {"local-official": 1}
        assert places["us-tx/county/harris"]["reachable"]["rollout"] == {"local-official": 1}
        assert places["us-tx/county/dallas"]["reachable"]["rollout"] == {}


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("Harris County, Texas", "must name a state"),
        ("Atlantis", "unknown jurisdiction 'Atlantis'"),
    ],
)
def test_coverage_of_something_that_is_not_a_state_is_a_400_naming_the_field(
    client: Client, keys: Keys, asked: str, message: str
) -> None:
    status, body = call(client, "GET", f"/coverage?state={asked}", keys[ApiRole.VIEWER])
    assert status == 400
    [detail] = body["details"]
    assert detail["field"] == "state"
    assert message in detail["message"]
