"""The local stack over real HTTP: the API, the queue pump, moto's SES and SNS, and signed webhooks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_KEY, RunningStack, wait_for

pytestmark = pytest.mark.e2e

DELIVERY_TIMEOUT_SECONDS = 15.0

# The demo subscribers a rollout for the town of New Haven must reach: the town itself, New Haven
# County, the South Central Connecticut Planning Region, and everyone subscribed statewide to rollouts.
NEW_HAVEN_ROLLOUT_EMAILS = {
    "mayor@newhaven.example.gov",  # Mayor of New Haven (town)
    "chief@police.newhaven.example.gov",  # New Haven Police Chief (town)
    "public.defender@newhavencounty.example.gov",  # New Haven County Public Defender (county)
    "director@southcentral-cog.example.gov",  # South Central Regional Council of Governments (region)
    "cj.adviser@governor.example.gov",  # Governor's Criminal Justice Policy Adviser (statewide)
    "commissioner@doc.example.gov",  # Corrections Commissioner (statewide)
    "alerts@immigrant-rights.example.org",  # Immigrant Rights Advocacy Coalition (statewide)
}
NEW_HAVEN_ROLLOUT_SMS = {"+12035550110", "+18605550100", "+18605550101"}
ADVOCATE_WEBHOOK_PATH = "/hooks/immigrant-rights"
TOWNS = ("newhaven", "hartford", "bridgeport", "stamford", "norwalk", "danbury")


def rollout(jurisdiction: str, *, external_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "rollout",
        "external_id": external_id or f"e2e-{uuid.uuid4().hex}",
        "program": "secure-communities",
        "jurisdiction": jurisdiction,
        "effective_at": "2026-12-02T00:00:00-05:00",
        "summary": f"Secure Communities activates in {jurisdiction}",
        "source": {"agency": "ICE", "channel": "email", "original_recipients": ["desk@example.gov"]},
    }


def submit(stack: RunningStack, event: dict[str, Any]) -> str:
    answer = stack.call("POST", "/events", event)
    assert answer.status == 202, answer
    notice_id = answer.body["notice_id"]
    assert isinstance(notice_id, str)
    return notice_id


def emails_for(stack: RunningStack, notice_id: str) -> list[dict[str, Any]]:
    return [e for e in stack.outbox()["emails"] if notice_id in e["text"] or notice_id in e["html"]]


def texts_for(stack: RunningStack, notice_id: str) -> list[dict[str, Any]]:
    return [s for s in stack.outbox()["sms"] if f"Ref {notice_id[-8:]}" in s["body"]]


def webhooks_for(stack: RunningStack, notice_id: str) -> list[dict[str, Any]]:
    return [w for w in stack.outbox()["webhooks"] if w["body"]["data"]["notice_id"] == notice_id]


def sent_counts(stack: RunningStack, notice_id: str) -> tuple[int, int, int]:
    """How many emails, texts and webhooks went out for the notice."""
    return (
        len(emails_for(stack, notice_id)),
        len(texts_for(stack, notice_id)),
        len(webhooks_for(stack, notice_id)),
    )


def recipients(emails: list[dict[str, Any]]) -> list[str]:
    return sorted(address for email in emails for address in email["to"])


def test_health_answers_ok(local_stack: RunningStack) -> None:
    answer = local_stack.call("GET", "/health", key=None)

    assert answer.status == 200
    assert answer.body == {"status": "ok"}


def test_new_haven_rollout_reaches_exactly_the_town_county_region_and_state_subscribers(
    local_stack: RunningStack,
) -> None:
    accepted = local_stack.call("POST", "/events", rollout("New Haven"))
    assert accepted.status == 202, accepted
    notice_id = accepted.body["notice_id"]
    assert accepted.body["recipients"] == 7
    assert accepted.body["coverage_gaps"] == []

    emails = wait_for(
        lambda: emails_for(local_stack, notice_id),
        lambda found: len(found) >= len(NEW_HAVEN_ROLLOUT_EMAILS),
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the New Haven rollout's emails",
    )
    texts = wait_for(
        lambda: texts_for(local_stack, notice_id),
        lambda found: len(found) >= len(NEW_HAVEN_ROLLOUT_SMS),
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the New Haven rollout's texts",
    )

    assert recipients(emails) == sorted(NEW_HAVEN_ROLLOUT_EMAILS)  # each once, nobody else
    assert {t["to"] for t in texts} == NEW_HAVEN_ROLLOUT_SMS
    assert len(texts) == len(NEW_HAVEN_ROLLOUT_SMS)
    for outsider in (
        "mayor@hartford.example.gov",
        "chief@police.hartford.example.gov",
        "mayor@bridgeport.example.gov",
        "public.safety@fairfieldcounty.example.gov",
        "detainer.review@doc.example.gov",
    ):
        assert outsider not in recipients(emails)
    email = emails[0]
    assert email["subject"].startswith("[Vigil] Rollout notice:")
    assert f"{local_stack.api_url}/ack/" in email["text"]
    assert email["sent_at"]


def test_same_external_id_twice_gives_same_notice_and_no_new_messages(local_stack: RunningStack) -> None:
    event = rollout("New Haven")
    first = local_stack.call("POST", "/events", event)
    assert first.status == 202, first
    notice_id = first.body["notice_id"]
    everything = (len(NEW_HAVEN_ROLLOUT_EMAILS), len(NEW_HAVEN_ROLLOUT_SMS), 1)
    before = wait_for(
        lambda: sent_counts(local_stack, notice_id),
        lambda counts: all(n >= want for n, want in zip(counts, everything, strict=True)),
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the first submission's emails, texts and webhook",
    )

    again = local_stack.call("POST", "/events", event)
    # Long enough for the pump to route and send anything the repeat had enqueued (it polls every second).
    time.sleep(4)

    assert again.status == 202, again
    assert again.body["notice_id"] == notice_id
    assert again.body["duplicate"] is True
    assert first.body["duplicate"] is False
    assert sent_counts(local_stack, notice_id) == before == everything


# Every demo subscriber who takes rollouts, wherever in Connecticut they subscribed: the mayors and
# police chiefs of six towns, two county offices, the planning region's council and the three statewide.
STATEWIDE_ROLLOUT_EMAILS = {
    *(f"mayor@{town}.example.gov" for town in TOWNS),
    *(f"chief@police.{town}.example.gov" for town in TOWNS),
    "public.safety@fairfieldcounty.example.gov",  # Fairfield County Public Safety Coordinator (county)
    "public.defender@newhavencounty.example.gov",  # New Haven County Public Defender (county)
    "director@southcentral-cog.example.gov",  # South Central Regional Council of Governments (region)
    "cj.adviser@governor.example.gov",  # Governor's Criminal Justice Policy Adviser (statewide)
    "commissioner@doc.example.gov",  # Corrections Commissioner (statewide)
    "alerts@immigrant-rights.example.org",  # Immigrant Rights Advocacy Coalition (statewide)
}


def test_statewide_rollout_reaches_every_town_county_region_and_state_subscriber_once(
    local_stack: RunningStack,
) -> None:
    accepted = local_stack.call("POST", "/events", rollout("statewide"))
    assert accepted.status == 202, accepted
    notice_id = accepted.body["notice_id"]
    assert accepted.body["recipients"] == len(STATEWIDE_ROLLOUT_EMAILS)

    emails = wait_for(
        lambda: emails_for(local_stack, notice_id),
        lambda found: len(found) >= len(STATEWIDE_ROLLOUT_EMAILS),
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the statewide rollout's emails",
    )
    time.sleep(2)  # the pump polls every second: room for a second copy to show, were one sent
    emails = emails_for(local_stack, notice_id)

    addresses = recipients(emails)
    assert addresses == sorted(STATEWIDE_ROLLOUT_EMAILS)  # each once, nobody else
    for one in (
        "mayor@newhaven.example.gov",  # a town mayor
        "public.safety@fairfieldcounty.example.gov",  # a county coordinator
        "director@southcentral-cog.example.gov",  # a planning region's council
        "cj.adviser@governor.example.gov",  # the governor's office
    ):
        assert addresses.count(one) == 1, one
    assert "detainer.review@doc.example.gov" not in addresses  # detainers only


def test_webhook_arrives_signed_at_the_receiver(local_stack: RunningStack) -> None:
    notice_id = submit(local_stack, rollout("statewide"))

    hooks = wait_for(
        lambda: webhooks_for(local_stack, notice_id),
        lambda found: len(found) >= 1,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the advocacy group's webhook",
    )

    assert len(hooks) == 1
    hook = hooks[0]
    assert hook["status"] == 204  # the receiver verified the Standard Webhooks signature
    assert hook["url"] == f"{local_stack.receiver_url}{ADVOCATE_WEBHOOK_PATH}"
    assert hook["body"]["type"] == "notice.rollout"
    assert hook["body"]["data"]["ack_url"].startswith(f"{local_stack.api_url}/ack/")
    received = local_stack.call("GET", "/", key=None, base=local_stack.receiver_url).body["received"]
    mine = [r for r in received if r["body"]["data"]["notice_id"] == notice_id]
    assert [(r["path"], r["verified"], r["status"]) for r in mine] == [(ADVOCATE_WEBHOOK_PATH, True, 204)]


def test_receiver_refuses_a_webhook_with_a_bad_signature(local_stack: RunningStack) -> None:
    forged = {
        "webhook-id": "msg_forged",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    }

    answer = local_stack.call(
        "POST",
        ADVOCATE_WEBHOOK_PATH,
        {"type": "notice.rollout"},
        key=None,
        headers=forged,
        base=local_stack.receiver_url,
    )

    assert answer.status == 401


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer vk_nosuchkey_0123456789abcdefghij", f"Basic {ADMIN_KEY}"],
    ids=["no-key", "unknown-key", "wrong-scheme"],
)
def test_unauthenticated_event_is_refused_with_401_json(
    local_stack: RunningStack, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    event = rollout("New Haven")

    answer = local_stack.call("POST", "/events", event, key=None, headers=headers)

    assert answer.status == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.body["error"] == "unauthorized"
    assert isinstance(answer.body["message"], str)
    assert answer.body["message"]
    assert answer.body["details"] == []
    # Nothing was accepted: the same key from an admin makes a new notice, not a duplicate.
    assert local_stack.call("POST", "/events", event).body["duplicate"] is False


@pytest.mark.parametrize("key", [None, ADMIN_KEY], ids=["no-key", "admin-key"])
@pytest.mark.parametrize(("method", "path"), [("GET", "/no/such/route"), ("POST", "/notices/x/y/z")])
def test_an_unknown_route_is_a_404_in_the_error_shape_and_never_echoes_the_key(
    local_stack: RunningStack, key: str | None, method: str, path: str
) -> None:
    answer = local_stack.call(method, path, None, key=key)

    assert answer.status == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.body == {"error": "not_found", "message": "no such route", "details": []}
    assert ADMIN_KEY not in json.dumps(answer.body)


def test_startup_text_shows_the_admin_key_and_where_to_look(local_stack: RunningStack) -> None:
    text = local_stack.output()

    assert f"Admin key       {ADMIN_KEY}" in text
    assert f"Dashboard       {local_stack.api_url}/dashboard#key={ADMIN_KEY}" in text
    assert "  Data            " in text
    assert f"export VIGIL_URL={local_stack.api_url} VIGIL_KEY={ADMIN_KEY}" in text
    assert f"{local_stack.api_url}/dev/outbox" in text
    assert f"curl -s {local_stack.api_url}/health" in text
    assert '"jurisdiction": "New Haven"' in text
