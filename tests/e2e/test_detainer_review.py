"""On the local stack: a detainer at New Haven Correctional Center reaches the reviewers in
full and the advocates redacted; a reviewer decides; the report counts it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack, wait_for
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, emails_for, submit, webhooks_for

pytestmark = pytest.mark.e2e

REVIEW_UNIT = "detainer.review@doc.example.gov"
ADVOCATES = "alerts@immigrant-rights.example.org"


def detainer() -> dict[str, Any]:
    return {
        "type": "detainer",
        "external_id": f"I247A-e2e-{uuid.uuid4().hex[:8]}",
        "form": "I-247A",
        "issued_at": "2026-11-27T09:30:00-05:00",
        "facility": "New Haven Correctional Center",
        "subject": {"name": "Demo Person", "date_of_birth": "1990-01-01", "a_number": "A099999999"},
        "release_due_at": "2026-11-28T17:00:00-05:00",
        "judicial_warrant": False,
        "convictions": [
            {"statute": "53a-125b", "class": "A misdemeanor", "date": "2020-05-01", "final": True}
        ],
        "criminal_history_entered": True,
    }


def test_detainer_review_on_the_local_stack(local_stack: RunningStack) -> None:
    notice_id = submit(local_stack, detainer())
    emails = wait_for(
        lambda: emails_for(local_stack, notice_id),
        lambda found: {REVIEW_UNIT, ADVOCATES} <= {a for e in found for a in e["to"]},
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the reviewers' and the advocates' emails",
    )
    reviewers = next(e for e in emails if REVIEW_UNIT in e["to"])
    advocates = next(e for e in emails if ADVOCATES in e["to"])
    assert "Demo Person" in reviewers["text"]
    assert "may-not-cooperate" in reviewers["text"]
    for particular in ("Demo Person", "1990-01-01", "A099999999", "53a-125b"):
        assert particular not in advocates["text"] + advocates["html"]
    hooks = wait_for(
        lambda: webhooks_for(local_stack, notice_id),
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the webhook",
    )
    assert "Demo Person" not in json.dumps(hooks)

    created = local_stack.call("POST", "/keys", {"name": "e2e reviewer", "role": "reviewer"})
    assert created.status == 201
    decision = local_stack.call(
        "POST",
        f"/detainers/{notice_id}/decision",
        {
            "decision": "decline",
            "reasons": "No criterion of the law in force is met.",
            "criteria_relied_on": [],
        },
        key=created.body["key"],
    )
    assert decision.status == 201, decision.body
    assert decision.body["status"] == "closed"

    report = local_stack.call("GET", "/reports/detainers").body
    assert report["by"]["decision"].get("decline", 0) >= 1
    assert report["by"]["facility"].get("New Haven Correctional Center", 0) >= 1
    log = local_stack.call("GET", f"/notices/{notice_id}/log").body
    assert log["verified"] is True
    assert "decided" in [e["kind"] for e in log["entries"]]
