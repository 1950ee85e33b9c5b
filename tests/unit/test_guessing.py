"""Guessing links and reply codes is refused after a few failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.subscribers import Role
from chalicelib.services.guessing import CODE_FAILURES, TOKEN_FAILURES
from tests.builders import subscriber
from tests.fakes import FakeWorld
from tests.unit.test_acknowledgment_api import link_path, post_and_deliver
from tests.unit.test_api import call

Keys = dict[ApiRole, str]


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    bootstrap.use(world.deps(Settings.from_env({"VIGIL_STAGE": "local"})))
    with Client(app) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/ack/", "/verify/", "/unsubscribe/"])
def test_an_address_guessing_links_is_refused_with_429(client: Client, path: str) -> None:
    for n in range(TOKEN_FAILURES):
        assert client.http.get(f"{path}guess{n}.AAAA").status_code == 404
    response = client.http.get(f"{path}guess-more.AAAA")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "600"
    assert b"rate_limited" in response.body


def test_a_valid_link_is_honoured_even_from_an_address_over_the_guessing_limit(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    """Many recipients share one address (an office network, a mail scanner, a webhook platform):
    someone there guessing must not lock the others out of their own links."""
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct"))
    notice_id = post_and_deliver(client, keys, world)
    for n in range(TOKEN_FAILURES + 5):
        client.http.post(f"/ack/guess{n}.AAAA", headers={"Content-Type": "application/json"}, body="{}")
    assert client.http.get("/ack/guess-more.AAAA").status_code == 429
    path = link_path(world, "adviser@example.gov")
    assert client.http.get(path).status_code == 200
    clicked = client.http.post(
        path, headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}, body=""
    )
    assert clicked.status_code == 200
    assert [a.subscriber_id for a in world.deliveries.acknowledgments(notice_id)] == ["adviser"]


def test_valid_links_are_not_counted_as_guesses(client: Client, keys: Keys, world: FakeWorld) -> None:

    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct"))
    post_and_deliver(client, keys, world)
    path = link_path(world, "adviser@example.gov")
    for _ in range(TOKEN_FAILURES + 5):
        assert client.http.get(path).status_code == 200
    assert world.limits.hits == {}


def test_a_phone_sending_wrong_codes_is_told_to_use_the_link(client: Client, world: FakeWorld) -> None:
    for _ in range(CODE_FAILURES):
        _, answer = call(client, "POST", "/dev/sms/inbound", None, {"from": "+18605550100", "body": "000000"})
        assert answer["outcome"] == "unrecognised"
    _, answer = call(client, "POST", "/dev/sms/inbound", None, {"from": "+18605550100", "body": "000001"})
    assert answer["outcome"] == "too-many-attempts"
    _, other = call(client, "POST", "/dev/sms/inbound", None, {"from": "+12035550100", "body": "000000"})
    assert other["outcome"] == "unrecognised"  # another phone is not affected
