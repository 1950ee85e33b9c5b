"""On the local stack: a rotation of two corrections reviewers at Osborn Correctional Institution. A
detainer there goes to the reviewer on duty, and, when the policy's next-on-duty step falls due, to
the one who takes over; the log names the one on duty."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import RunningStack, wait_for
from tests.e2e.test_detainer_review import detainer
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, submit
from tests.e2e.test_restart import confirm, outbox_to

pytestmark = pytest.mark.e2e

FACILITY = "Osborn Correctional Institution"
# The next-on-duty step falls due seconds after receipt; the test runs the sweep until it has.
POLICY = {
    "required_roles": ["corrections"],
    "steps": [{"after": "PT0S", "notify": "recipients"}, {"after": "PT2S", "notify": "next-on-duty"}],
}


def reviewer(stack: RunningStack, name: str, address: str) -> str:
    created = stack.call(
        "POST",
        "/subscribers",
        {
            "name": f"Osborn reviewer {name}",
            "role": "corrections",
            "organization": "Department of Correction",
            "channels": [{"type": "email", "address": address}],
            "subscriptions": [{"jurisdiction": FACILITY, "event_types": ["detainer"]}],
        },
    )
    assert created.status == 201, created
    confirm(stack, address)
    return str(created.body["id"])


def emails_about(stack: RunningStack, address: str, notice_id: str) -> list[dict[str, Any]]:
    return [e for e in outbox_to(stack, address)["emails"] if notice_id in e["text"]]


@pytest.fixture
def rotation(local_stack: RunningStack) -> Iterator[dict[str, Any]]:
    """Two reviewers, Ana first, in weekly shifts: the current one began three days ago at midnight
    in New York and the next begins in four, so no hand-off falls inside the test. The detainer
    policy is put back afterwards (the stack is shared)."""
    tag = uuid.uuid4().hex[:8]
    addresses = {name: f"osborn.{name}.{tag}@doc.example.gov" for name in ("ana", "ben")}
    ids = {name: reviewer(local_stack, name, address) for name, address in addresses.items()}
    today = datetime.now(ZoneInfo("America/New_York")).date()
    made = local_stack.call(
        "POST",
        "/rotations",
        {
            "jurisdiction": FACILITY,
            "role": "corrections",
            "name": f"Osborn reviewers {tag}",
            "members": [ids["ana"], ids["ben"]],
            "shift": "P7D",
            "handoff": "00:00",
            "start": (today - timedelta(days=3)).isoformat(),
        },
    )
    assert made.status == 201, made
    before = local_stack.call("GET", "/policies/detainer").body
    assert local_stack.call("PUT", "/policies/detainer", POLICY).status == 200
    try:
        yield {"rotation": made.body, "ids": ids, "addresses": addresses}
    finally:
        restored = {"required_roles": before["required_roles"], "steps": before["steps"]}
        assert local_stack.call("PUT", "/policies/detainer", restored).status == 200
        assert local_stack.call("DELETE", f"/rotations/{made.body['id']}").status == 204
        for subscriber_id in ids.values():
            assert local_stack.call("DELETE", f"/subscribers/{subscriber_id}").status == 204


def test_a_detainer_goes_to_the_reviewer_on_duty_and_after_the_policy_s_step_to_the_next(
    local_stack: RunningStack, rotation: dict[str, Any]
) -> None:
    ids, addresses = rotation["ids"], rotation["addresses"]
    shown = local_stack.call("GET", f"/rotations/{rotation['rotation']['id']}").body
    assert shown["on_duty"]["subscriber_id"] == ids["ana"]
    assert shown["next_on_duty"]["subscriber_id"] == ids["ben"]

    notice_id = submit(local_stack, {**detainer(), "facility": FACILITY})
    wait_for(
        lambda: emails_about(local_stack, addresses["ana"], notice_id),
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the detainer's email to the reviewer on duty",
    )
    log = local_stack.call("GET", f"/notices/{notice_id}/log").body
    routed = next(e for e in log["entries"] if e["kind"] == "routed")
    [on_duty] = routed["data"]["on_duty"]
    assert (on_duty["on_duty"], on_duty["in_force"]) == (ids["ana"], True)
    assert on_duty["shift_start"] == shown["on_duty"]["start"]
    first = local_stack.call("GET", f"/notices/{notice_id}").body
    first_step = {
        d["subscriber_id"] for r in first["recipients_detail"] for d in r["deliveries"] if d["step"] == 0
    }
    assert ids["ana"] in first_step
    assert ids["ben"] not in first_step

    def sweep_then_look() -> list[dict[str, Any]]:
        assert local_stack.call("POST", "/admin/sweep").status == 200
        return emails_about(local_stack, addresses["ben"], notice_id)

    wait_for(
        sweep_then_look,
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the next-on-duty step's email to the reviewer who takes over",
        interval=0.5,
    )
    log = local_stack.call("GET", f"/notices/{notice_id}/log").body
    assert log["verified"] is True
    escalated = next(e for e in log["entries"] if e["kind"] == "escalated")
    assert escalated["data"]["notify"] == "next-on-duty"
    assert escalated["data"]["recipients"] == [ids["ben"]]
    assert len(emails_about(local_stack, addresses["ana"], notice_id)) == 1
