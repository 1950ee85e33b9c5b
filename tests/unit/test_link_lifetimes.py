"""Links in messages work for as long as they are meant to: an acknowledgment link until its notice
has been closed a while, a confirmation link a week, any link only while its subscriber and channel
exist. An expired link changes nothing and answers a page that says what to do instead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.link_lifetimes import ACK_GRACE_AFTER_CLOSING, ACK_LINK_LIFETIME, VERIFY_LINK_LIFETIME
from chalicelib.domain.subscribers import Role
from tests.builders import subscriber
from tests.fakes import FakeWorld
from tests.unit.test_acknowledgment_api import link_path, page, post_and_deliver
from tests.unit.test_api import SUBSCRIBER, call
from tests.unit.test_detainers import a_detainer
from tests.unit.test_pipeline import run

Keys = dict[ApiRole, str]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(world: FakeWorld) -> Clock:
    moved = Clock()
    bootstrap.use(world.deps(), clock=moved)
    return moved


@pytest.fixture
def client(world: FakeWorld, clock: Clock) -> Iterator[Client]:
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct"))
    with Client(app) as test_client:
        yield test_client


def test_a_rollouts_link_expires_after_its_lifetime_and_says_so(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    path = link_path(world, "adviser@example.gov")
    clock.now += ACK_LINK_LIFETIME - timedelta(days=1)
    assert page(client, "GET", path)[0] == 200
    clock.now += timedelta(days=2)
    status, html = page(client, "GET", path)
    assert status == 410
    assert "has expired" in html
    assert page(client, "POST", path)[0] == 410
    assert world.deliveries.acknowledgments(notice_id) == []
    assert world.limits.hits == {}  # an expired link was valid: not a guess


def test_a_closed_notices_link_records_a_late_acknowledgment_then_expires(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock
) -> None:
    world.subscribers.add(subscriber("reviewer", Role.CORRECTIONS, "us-ct"))
    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], a_detainer())
    run(world)
    notice_id = accepted["notice_id"]
    decided = call(
        client,
        "POST",
        f"/detainers/{notice_id}/decision",
        keys[ApiRole.REVIEWER],
        {"decision": "decline", "reasons": "No statutory criterion is met."},
    )
    assert decided[0] == 201
    path = link_path(world, "reviewer@example.gov")
    clock.now += ACK_GRACE_AFTER_CLOSING - timedelta(days=1)
    status, html = page(client, "POST", path)
    assert (status, "kept as late" in html) == (200, True)
    clock.now += timedelta(days=2)
    status, html = page(client, "GET", path)
    assert status == 410
    assert "was closed on" in html


def test_a_deleted_subscribers_links_show_nothing_and_acknowledge_nothing(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = post_and_deliver(client, keys, world)
    path = link_path(world, "adviser@example.gov")
    assert call(client, "DELETE", "/subscribers/adviser", keys[ApiRole.ADMIN])[0] == 204
    status, html = page(client, "GET", path)
    assert status == 410
    assert "no longer receives" in html
    assert "Secure Communities" not in html  # the notice is not shown
    assert page(client, "POST", path)[0] == 410
    answer = client.http.post(path, headers={"Content-Type": "application/json"}, body="{}")
    assert answer.status_code == 410
    assert world.deliveries.acknowledgments(notice_id) == []


def test_a_confirmation_link_works_for_a_week(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock
) -> None:
    status, created = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], SUBSCRIBER)
    assert status == 201
    email = next(m for m in world.email.sent if "Confirm this address" in m.subject)
    path = "/verify/" + email.text.split("/verify/")[1].split()[0]
    clock.now += VERIFY_LINK_LIFETIME + timedelta(minutes=1)
    status, html = page(client, "POST", path)
    assert status == 410
    assert "ask the administrator" in html.lower()
    channel = next(
        c for c in world.subscribers.get(created["id"]).channels if c.address == "adviser@example.gov"
    )
    assert channel.verified is False
    clock.now -= timedelta(days=2)
    assert page(client, "POST", path)[0] == 200


def test_an_unsubscribe_link_works_while_its_channel_exists(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    post_and_deliver(client, keys, world)
    email = next(m for m in world.email.sent if m.to == "adviser@example.gov")
    path = "/unsubscribe/" + email.headers["List-Unsubscribe"].split("/unsubscribe/")[1].rstrip(">")
    assert page(client, "GET", path)[0] == 200
    call(client, "DELETE", "/subscribers/adviser", keys[ApiRole.ADMIN])
    assert page(client, "GET", path)[0] == 410
    assert page(client, "POST", path)[0] == 410
