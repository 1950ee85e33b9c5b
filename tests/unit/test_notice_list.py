"""GET /notices without a type: rollouts and detainers merged newest first, page by page, each
notice once; a cursor the service did not issue is refused naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from chalice.test import Client

from app import app
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.notices import Notice, NoticeStatus
from chalicelib.domain.subscribers import EventType
from tests.builders import NOW
from tests.fakes import FakeWorld
from tests.unit.test_api import call

Keys = dict[ApiRole, str]


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


def a_notice(n: int, kind: EventType) -> Notice:
    return Notice(
        id=f"ntc_{n:03d}",
        type=kind,
        status=NoticeStatus.OPEN,
        idempotency_key=f"k-{n}",
        fingerprint="f" * 64,
        jurisdiction_id="us-ct/town/new-haven",
        title=f"notice {n}",
        received_at=NOW + timedelta(minutes=n),
        event={},
        submitted_by="key-1",
    )


def seed(world: FakeWorld, count: int) -> list[str]:
    """``count`` notices alternating irregularly between the kinds; their ids newest first."""
    kinds = [EventType.DETAINER if n % 3 == 0 else EventType.ROLLOUT for n in range(count)]
    for n, kind in enumerate(kinds):
        world.notices.add(a_notice(n, kind))
    return [f"ntc_{n:03d}" for n in reversed(range(count))]


def test_without_a_type_both_kinds_come_newest_first_each_once(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    expected = seed(world, 23)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        status, body = call(
            client, "GET", "/notices?limit=5" + (f"&cursor={cursor}" if cursor else ""), keys[ApiRole.VIEWER]
        )
        assert status == 200
        assert len(body["items"]) <= 5
        seen += [item["id"] for item in body["items"]]
        cursor = body["cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert {item["type"] for item in call(client, "GET", "/notices", keys[ApiRole.VIEWER])[1]["items"]} == {
        "rollout",
        "detainer",
    }


def test_with_a_type_only_that_kind(client: Client, keys: Keys, world: FakeWorld) -> None:
    seed(world, 9)
    _, body = call(client, "GET", "/notices?type=detainer", keys[ApiRole.VIEWER])
    assert {item["type"] for item in body["items"]} == {"detainer"}


def test_a_cursor_the_service_did_not_issue_is_refused_naming_it(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    seed(world, 3)
    for forged in ("eyJ4IjogInkifQ==", "not-base64!", "bnVsbA=="):
        status, body = call(client, "GET", f"/notices?cursor={forged}", keys[ApiRole.VIEWER])
        assert status == 400
        assert body["details"][0]["field"] == "cursor"


@pytest.mark.parametrize("query", ["?cursor=", "?type=rollout&cursor=", "?limit=2&cursor="])
def test_an_empty_cursor_is_the_first_page(client: Client, keys: Keys, world: FakeWorld, query: str) -> None:
    """As on GET /subscribers and /inbound/triage: without a type it was a 400."""
    seed(world, 3)
    _, first = call(
        client, "GET", "/notices" + query.replace("cursor=", "").rstrip("&?"), keys[ApiRole.VIEWER]
    )
    status, body = call(client, "GET", f"/notices{query}", keys[ApiRole.VIEWER])
    assert status == 200
    assert body == first


def test_the_status_filter_applies_to_both_kinds(client: Client, keys: Keys, world: FakeWorld) -> None:
    seed(world, 6)
    world.notices.notices["ntc_000"] = replace(world.notices.notices["ntc_000"], status=NoticeStatus.CLOSED)
    _, body = call(client, "GET", "/notices?status=closed", keys[ApiRole.VIEWER])
    assert [item["id"] for item in body["items"]] == ["ntc_000"]
