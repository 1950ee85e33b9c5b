"""On the local stack: acknowledge through the emailed link, and escalate what nobody acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.e2e.conftest import RunningStack, wait_for
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, emails_for, rollout, submit

pytestmark = pytest.mark.e2e

ADVISER = "cj.adviser@governor.example.gov"
HARTFORD_MAYOR = "mayor@hartford.example.gov"


def ack_path(email: dict[str, Any]) -> str:
    return "/ack/" + str(email["text"]).split("/ack/")[1].split()[0]


def emails_to(stack: RunningStack, notice_id: str, address: str) -> list[dict[str, Any]]:
    return [e for e in emails_for(stack, notice_id) if address in e["to"]]


def test_rollout_is_acknowledged_through_the_emailed_links_and_the_log_verifies(
    local_stack: RunningStack,
) -> None:
    """The demo's rollout policy asks for the governor's office and the town's own officials: the
    adviser's click leaves the notice open, the mayor's then closes it."""
    notice_id = submit(local_stack, rollout("Hartford"))
    [email] = wait_for(
        lambda: emails_to(local_stack, notice_id, ADVISER),
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the adviser's email",
    )
    path = ack_path(email)
    # The link is the public URL's, base path included (the shared stack serves under /api).
    link = f"{local_stack.api_url}{path}"
    assert link in str(email["text"])

    shown = local_stack.call("GET", link, key=None, headers={"Accept": "text/html"}, base="")
    assert shown.status == 200
    assert "I have seen this notice" in shown.body
    # The button posts to the page's own address, whatever the base path.
    assert "<form method='post'>" in shown.body
    assert local_stack.call("GET", f"/notices/{notice_id}").body["status"] == "open"

    clicked = local_stack.call(
        "POST",
        link,
        key=None,
        headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
        base="",
    )
    assert clicked.status == 200
    assert "your acknowledgment is recorded" in clicked.body

    detail = local_stack.call("GET", f"/notices/{notice_id}").body
    assert detail["status"] == "open"
    assert detail["required_roles"] == [
        {"role": "state-executive", "acknowledged": True},
        {"role": "local-official", "acknowledged": False},
    ]

    [mayors] = wait_for(
        lambda: emails_to(local_stack, notice_id, HARTFORD_MAYOR),
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the mayor's email",
    )
    form = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}
    assert local_stack.call("POST", ack_path(mayors), key=None, headers=form).status == 200

    detail = local_stack.call("GET", f"/notices/{notice_id}").body
    assert detail["status"] == "acknowledged"
    assert detail["required_roles"] == [
        {"role": "state-executive", "acknowledged": True},
        {"role": "local-official", "acknowledged": True},
    ]
    log = local_stack.call("GET", f"/notices/{notice_id}/log").body
    assert log["verified"] is True
    acknowledged = [e for e in log["entries"] if e["kind"] == "acknowledged"]
    assert [e["data"]["notice_acknowledged"] for e in acknowledged] == [False, True]


@pytest.fixture
def short_rollout_policy(local_stack: RunningStack) -> Iterator[None]:
    original = local_stack.call("GET", "/policies/rollout").body
    short = {
        "required_roles": ["state-executive"],
        "steps": [
            {"after": "PT0S", "notify": "recipients"},
            {"after": "PT0S", "notify": "unacknowledged", "channels": ["email"]},
        ],
    }
    assert local_stack.call("PUT", "/policies/rollout", short).status == 200
    yield
    restored = {"required_roles": original["required_roles"], "steps": original["steps"]}
    assert local_stack.call("PUT", "/policies/rollout", restored).status == 200


@pytest.mark.usefixtures("short_rollout_policy")
def test_unacknowledged_rollout_is_sent_again_after_the_sweep(local_stack: RunningStack) -> None:
    notice_id = submit(local_stack, rollout("Stamford"))
    wait_for(
        lambda: emails_to(local_stack, notice_id, ADVISER),
        lambda found: len(found) == 1,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the first email",
    )

    swept = local_stack.call("POST", "/admin/sweep", {})
    assert swept.status == 200
    assert {"notice_id": notice_id, "step": 1, "notify": "unacknowledged"}.items() <= next(
        e for e in swept.body["escalated"] if e["notice_id"] == notice_id
    ).items()

    again = wait_for(
        lambda: emails_to(local_stack, notice_id, ADVISER),
        lambda found: len(found) == 2,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the re-sent email",
    )
    assert ack_path(again[0]) != ack_path(again[1])  # each step's message has its own link
    log = local_stack.call("GET", f"/notices/{notice_id}/log").body
    assert log["verified"] is True
    assert [e["kind"] for e in log["entries"]].count("escalated") == 1


def test_the_stack_serves_under_its_base_path_and_nothing_outside_it(local_stack: RunningStack) -> None:
    """As API Gateway serves a stage under /api: the shared stack's public URL has that path."""
    assert local_stack.api_url.endswith("/api")
    root = local_stack.api_url.removesuffix("/api")
    outside = local_stack.call("GET", "/health", key=None, base=root)
    assert outside.status == 404
    assert outside.body["error"] == "not_found"
    assert local_stack.call("GET", "/health", key=None).status == 200


def test_a_created_subscribers_location_resolves_under_the_base_path(local_stack: RunningStack) -> None:
    created = local_stack.call(
        "POST",
        "/subscribers",
        {
            "name": "Base path check",
            "role": "other",
            "channels": [{"type": "webhook", "url": f"{local_stack.receiver_url}/hooks/base-path"}],
            "subscriptions": [{"jurisdiction": "Hartford", "event_types": ["rollout"]}],
        },
    )
    assert created.status == 201
    headers = {k.lower(): v for k, v in created.headers.items()}
    location = urljoin(f"{local_stack.api_url}/subscribers", headers["location"])
    assert location == f"{local_stack.api_url}/subscribers/{created.body['id']}"
    assert local_stack.call("GET", location, base="").body["id"] == created.body["id"]
    assert local_stack.call("DELETE", f"/subscribers/{created.body['id']}").status == 204
