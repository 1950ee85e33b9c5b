"""On the local stack, over real HTTP: a Slack channel and a Teams channel (the demo receiver plays both
services) are confirmed by the link posted to each, receive a rollout as a Block Kit message and as an
Adaptive Card, and each message's button opens the acknowledgment page, whose button records it."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack, wait_for
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, rollout, submit
from tests.unit.test_chat_messages import assert_block_kit, assert_valid_card, card_of

pytestmark = pytest.mark.e2e

FORM = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}
PLACE = "Bozrah"  # no other test's notice is for exactly this town


def chats_to(stack: RunningStack, url: str, needle: str) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]]:
        answer = stack.call("GET", "/dev/outbox?" + urllib.parse.urlencode({"to": url}), key=None)
        assert answer.status == 200, answer
        return [c for c in answer.body["chats"] if needle in str(c["body"])]

    chats: list[dict[str, Any]] = wait_for(
        found, bool, timeout=DELIVERY_TIMEOUT_SECONDS, what=f"a chat message to {url} saying {needle!r}"
    )
    return chats


def button_of(payload: dict[str, Any]) -> str:
    """The link of a message's button: Slack's actions block, or the card's Action.OpenUrl."""
    if "blocks" in payload:
        url: str = payload["blocks"][-1]["elements"][0]["url"]
    else:
        url = card_of(payload)["actions"][0]["url"]
    return url


@pytest.fixture
def chat_office(local_stack: RunningStack) -> Iterator[tuple[str, str, str]]:
    """A town office with a Slack and a Teams channel at the demo receiver, deleted afterwards."""
    suffix = uuid.uuid4().hex[:12]
    slack = f"{local_stack.receiver_url}/chat/slack/services/T0BOZRAH/B0{suffix}/{suffix}"
    teams = (
        f"{local_stack.receiver_url}/chat/teams/workflows/{suffix}/triggers/manual/paths/invoke?sig={suffix}"
    )
    created = local_stack.call(
        "POST",
        "/subscribers",
        {
            "name": "Bozrah First Selectman",
            "role": "local-official",
            "channels": [{"type": "slack", "url": slack}, {"type": "teams", "url": teams}],
            "subscriptions": [{"jurisdiction": PLACE, "event_types": ["rollout"], "scope": "exact"}],
        },
    )
    assert created.status == 201, created
    assert [c["state"] for c in created.body["channels"]] == ["unverified", "unverified"]
    assert suffix not in str(created.body)  # the URLs are credentials: answers name their endpoints
    yield str(created.body["id"]), slack, teams
    assert local_stack.call("DELETE", f"/subscribers/{created.body['id']}").status == 204


def test_slack_and_teams_channels_confirm_receive_a_rollout_and_acknowledge_it(
    local_stack: RunningStack, chat_office: tuple[str, str, str]
) -> None:
    subscriber_id, slack, teams = chat_office
    for url in (slack, teams):
        [confirmation] = chats_to(local_stack, url, "/verify/")
        assert confirmation["status"] == 200
        link = button_of(confirmation["body"])
        shown = local_stack.call("GET", link, key=None, headers={"Accept": "text/html"}, base="")
        assert shown.status == 200
        assert local_stack.call("POST", link, key=None, headers=FORM, base="").status == 200
    channels = local_stack.call("GET", f"/subscribers/{subscriber_id}").body["channels"]
    assert [c["state"] for c in channels] == ["active", "active"]

    notice_id = submit(local_stack, rollout(PLACE))
    [block_kit] = chats_to(local_stack, slack, notice_id)
    [card] = chats_to(local_stack, teams, notice_id)
    assert (block_kit["status"], card["status"]) == (200, 200)
    assert_block_kit(block_kit["body"])
    assert block_kit["body"]["blocks"][0]["text"]["text"].startswith(
        "secure-communities takes effect in Bozrah"
    )
    assert_valid_card(card["body"])
    received = local_stack.call("GET", "/", key=None, base=local_stack.receiver_url).body["chats"]
    paths = {urllib.parse.urlsplit(slack).path, urllib.parse.urlsplit(teams).path}
    assert sum(1 for r in received if r["path"] in paths and notice_id in str(r["body"])) == 2

    # Each message's own button opens the acknowledgment page; the card's records it.
    slack_link, teams_link = button_of(block_kit["body"]), button_of(card["body"])
    assert slack_link != teams_link
    for link in (slack_link, teams_link):
        page = local_stack.call("GET", link, key=None, headers={"Accept": "text/html"}, base="")
        assert page.status == 200
        assert "<form" in page.body
    clicked = local_stack.call("POST", teams_link, key=None, headers=FORM, base="")
    assert clicked.status == 200
    detail = local_stack.call("GET", f"/notices/{notice_id}").body
    assert [
        r["acknowledged_via"] for r in detail["recipients_detail"] if r["subscriber_id"] == subscriber_id
    ] == ["link"]
