"""Case-by-case review: decisions before the deadline, the duties that follow, who sees what, the report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.messages import render_email, render_sms, render_webhook
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.subscribers import Channel, ChannelType, Role
from chalicelib.entrypoints.pages import ack_page
from chalicelib.services import escalation
from chalicelib.services.reports import summarize
from tests.builders import NOW, detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call
from tests.unit.test_pipeline import run

Keys = dict[ApiRole, str]

PERSON = {"name": "Test Person", "date_of_birth": "1990-01-01", "a_number": "A012345678"}
CONFIDENTIAL = {"public_assistance": "receives SNAP benefits", "crime_witness": True}
# Nothing of these may reach anyone but the reviewers and the state executive.
PARTICULARS = ("Test Person", "1990-01-01", "A012345678", "53a-134")
NEVER = ("SNAP benefits", "crime_witness", "public_assistance")


def a_detainer(**overrides: Any) -> dict[str, Any]:
    # A 2016 I-247D under PA 13-155: convictions entered, none a felony -> may-not-cooperate.
    body = detainer_body(
        form="I-247D",
        external_id="I247D-2016-001",
        issued_at="2016-03-01T09:00:00-05:00",
        release_due_at="2016-03-02T17:00:00-05:00",
        subject=PERSON,
        convictions=[{"statute": "53a-134", "class": "A misdemeanor", "date": "2015-01-01", "final": True}],
        criminal_history_entered=True,
        confidential=CONFIDENTIAL,
        counsel_subscriber_ids=["counsel"],
    )
    body.update(overrides)
    return body


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    facility = "us-ct/facility/new-haven-correctional-center"
    world.subscribers.add(subscriber("reviewers", Role.CORRECTIONS, facility))
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct"))
    webhook = Channel(ChannelType.WEBHOOK, "https://hooks.example.org/x", secret="whsec_dGVzdHNlY3JldA==")
    world.subscribers.add(
        subscriber("advocates", Role.ADVOCATE, "us-ct", channels=(webhook,), ack_required=False)
    )
    world.subscribers.add(subscriber("counsel", Role.LEGAL, "us-ct", ack_required=False))
    world.subscribers.add(subscriber("other-lawyer", Role.LEGAL, "us-ct", ack_required=False))
    world.subscribers.add(subscriber("press", Role.MEDIA, "us-ct", ack_required=False))
    with Client(app) as test_client:
        yield test_client


def submit(client: Client, keys: Keys, world: FakeWorld, body: dict[str, Any] | None = None) -> str:
    status, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], body or a_detainer())
    assert status == 202, accepted
    run(world)
    return str(accepted["notice_id"])


def decide(client: Client, key: str, notice_id: str, **body: Any) -> tuple[int, Any]:
    request = {"decision": "decline", "reasons": "No statutory criterion is met.", **body}
    return call(client, "POST", f"/detainers/{notice_id}/decision", key, request)


def test_detainer_is_classified_under_the_law_in_force_on_its_date(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice = world.notices.get(submit(client, keys, world))
    classification = notice.event["classification"]
    assert classification["regime_id"] == "pa-13-155"
    assert classification["suggestion"] == "may-not-cooperate"
    assert {c["outcome"] for c in classification["criteria"]} == {"not-met"}
    reviewer_email = next(m for m in world.email.sent if m.to == "reviewers@example.gov")
    assert "may-not-cooperate under PA 13-155" in reviewer_email.text
    assert "a suggestion for the reviewer, never a decision" in reviewer_email.text


def test_reviewer_records_a_decision_that_closes_the_notice_and_stops_escalation(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = submit(client, keys, world)
    status, decided = decide(
        client, keys[ApiRole.REVIEWER], notice_id, criteria_relied_on=["felony-conviction"]
    )
    assert status == 201
    assert decided["status"] == "closed"
    assert decided["decision"]["decision"] == "decline"
    assert decided["decision"]["suggestion"] == "may-not-cooperate"
    assert [d["id"] for d in decided["duties"]]
    report = escalation.escalate_overdue(
        notices=world.notices,
        policies=world.policies,
        index=world.subscribers,
        deliveries=world.deliveries,
        send_queue=world.send_queue,
        registry=world.deps().registry,
        admins=[],
        ack_log=world.ack_log,
        rotations=world.rotations,
        subscribers=world.subscribers,
        now=NOW + timedelta(days=3650),
    )
    assert report.escalated == []
    decided_entries = [e for e in world.ack_log.entries(notice_id) if e.kind is EntryKind.DECIDED]
    assert decided_entries[0].data["decision"] == "decline"
    assert "Test Person" not in json.dumps([e.data for e in world.ack_log.entries(notice_id)])


def test_holding_someone_no_criterion_allows_needs_an_override_reason(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = submit(client, keys, world)
    status, body = decide(client, keys[ApiRole.REVIEWER], notice_id, decision="honor")
    assert status == 400
    assert body["details"][0]["field"] == "override_reason"
    assert world.notices.get(notice_id).decision is None
    status, decided = decide(
        client,
        keys[ApiRole.REVIEWER],
        notice_id,
        decision="honor",
        override_reason="Court order received by fax.",
    )
    assert status == 201
    assert decided["decision"]["override_reason"] == "Court order received by fax."


def test_a_second_decision_is_409_and_changes_nothing(client: Client, keys: Keys, world: FakeWorld) -> None:
    notice_id = submit(client, keys, world)
    decide(client, keys[ApiRole.REVIEWER], notice_id)
    status, body = decide(client, keys[ApiRole.ADMIN], notice_id, decision="notify-only", override_reason="x")
    assert status == 409
    assert_error(body, "conflict")
    assert world.notices.get(notice_id).decision["decision"] == "decline"  # type: ignore[index]  # decided above


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe"}, "decision"),
        ({"reasons": ""}, "reasons"),
        ({"criteria_relied_on": ["made-up"]}, "criteria_relied_on"),
        ({"criteria_relied_on": "all"}, "criteria_relied_on"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_decision_is_400_naming_the_field(
    client: Client, keys: Keys, world: FakeWorld, body: dict[str, Any], field: str
) -> None:
    notice_id = submit(client, keys, world)
    status, answer = decide(client, keys[ApiRole.REVIEWER], notice_id, **body)
    assert status == 400
    assert field in {d["field"] for d in answer["details"]}
    assert world.notices.get(notice_id).status is NoticeStatus.OPEN


def test_a_rollout_has_no_decision_route(client: Client, keys: Keys, world: FakeWorld) -> None:
    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    status, body = decide(client, keys[ApiRole.REVIEWER], accepted["notice_id"])
    assert status == 404
    assert_error(body, "not_found")


@pytest.mark.parametrize("role", [ApiRole.SOURCE, ApiRole.VIEWER])
def test_only_reviewers_and_admins_decide(
    client: Client, keys: Keys, world: FakeWorld, role: ApiRole
) -> None:
    notice_id = submit(client, keys, world)
    status, body = decide(client, keys[role], notice_id)
    assert status == 403
    assert_error(body, "forbidden")
    assert world.notices.get(notice_id).decision is None


def test_duties_that_follow_are_tracked_until_done(client: Client, keys: Keys, world: FakeWorld) -> None:
    notice_id = submit(client, keys, world)
    _, decided = decide(client, keys[ApiRole.REVIEWER], notice_id)
    duty = decided["duties"][0]
    assert duty["done"] is False
    path = f"/detainers/{notice_id}/duties/{duty['id']}"
    status, updated = call(
        client, "POST", path, keys[ApiRole.REVIEWER], {"done": True, "note": "ERO told by phone"}
    )
    assert status == 200
    done = next(d for d in updated["duties"] if d["id"] == duty["id"])
    assert (done["done"], done["note"]) == (True, "ERO told by phone")
    assert (
        call(
            client, "POST", f"/detainers/{notice_id}/duties/nothing", keys[ApiRole.REVIEWER], {"done": True}
        )[0]
        == 404
    )
    assert call(client, "POST", path, keys[ApiRole.REVIEWER], {"done": False})[0] == 400


def test_everyone_told_of_the_request_hears_the_decision(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = submit(client, keys, world)
    emails_before, hooks_before = len(world.email.sent), len(world.webhooks.sent)
    decide(client, keys[ApiRole.REVIEWER], notice_id)
    run(world)
    decision_emails = world.email.sent[emails_before:]
    assert {m.to for m in decision_emails} == {
        "reviewers@example.gov",
        "adviser@example.gov",
        "counsel@example.gov",
        "other-lawyer@example.gov",
        "press@example.gov",
    }
    assert all(m.subject.startswith("[Vigil] Detainer decision (decline)") for m in decision_emails)
    [(hook, _)] = world.webhooks.sent[hooks_before:]
    assert hook.payload["type"] == "notice.detainer.decided"
    assert hook.payload["data"]["decision"]["decision"] == "decline"
    assert "reasons" not in hook.payload["data"]["decision"]


def rendered_for(world: FakeWorld, notice_id: str, role: Role, subscriber_id: str) -> str:
    """Every form a message to this recipient can take, as one text."""
    notice = world.notices.get(notice_id)
    email = render_email(
        notice, to="x@example.gov", role=role, ack_url="https://v/ack/t", subscriber_id=subscriber_id
    )
    sms = render_sms(notice, to="+18605550100", reply_code="123456")
    hook = render_webhook(
        notice,
        url="https://h",
        role=role,
        delivery_id="d",
        ack_url="https://v/ack/t",
        now=NOW,
        subscriber_id=subscriber_id,
    )
    delivery = next(iter(world.deliveries.deliveries.values()))
    page = ack_page(notice, replace(delivery, role=role, subscriber_id=subscriber_id))
    return "\n".join([email.subject, email.text, email.html, sms.body, json.dumps(hook.payload), page])


@pytest.mark.parametrize("decided", [False, True])
@pytest.mark.parametrize("role", list(Role))
def test_every_message_for_every_audience_is_redacted_to_what_the_role_may_see(
    client: Client, keys: Keys, world: FakeWorld, role: Role, decided: bool
) -> None:
    notice_id = submit(client, keys, world)
    if decided:
        decide(client, keys[ApiRole.REVIEWER], notice_id, reasons="Test Person has no felony conviction.")
    everything = rendered_for(world, notice_id, role, subscriber_id=f"someone-{role}")
    for never in NEVER:
        assert never not in everything
    entitled = role in {Role.CORRECTIONS, Role.STATE_EXECUTIVE}
    for particular in PARTICULARS:
        assert (particular in everything) is entitled, particular
    assert "New Haven Correctional Center" in everything
    assert "PA 13-155" in everything
    if decided:
        assert "decline" in everything


def test_the_persons_counsel_is_told_the_name_and_nothing_more(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = submit(client, keys, world)
    counsel = rendered_for(world, notice_id, Role.LEGAL, subscriber_id="counsel")
    another_lawyer = rendered_for(world, notice_id, Role.LEGAL, subscriber_id="other-lawyer")
    assert "Test Person" in counsel
    assert "Test Person" not in another_lawyer
    for particular in ("1990-01-01", "A012345678", "53a-134", *NEVER):
        assert particular not in counsel


def test_texts_never_carry_the_persons_particulars_even_to_reviewers(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = submit(client, keys, world)
    text = render_sms(world.notices.get(notice_id), to="+18605550100").body
    for particular in PARTICULARS:
        assert particular not in text


def test_api_readers_never_see_the_person_or_the_confidential_categories(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = submit(client, keys, world)
    _, detail = call(client, "GET", f"/notices/{notice_id}", keys[ApiRole.VIEWER])
    _, page = call(client, "GET", "/notices?type=detainer", keys[ApiRole.VIEWER])
    shown = json.dumps([detail, page])
    for particular in ("Test Person", "1990-01-01", "A012345678", *NEVER):
        assert particular not in shown


def test_report_counts_decisions_and_the_share_meeting_no_criterion(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    none_met = submit(client, keys, world)
    submit(
        client,
        keys,
        world,
        a_detainer(
            external_id="I247D-2016-002",
            convictions=[{"statute": "53a-134", "class": "B felony", "date": "2015-01-01", "final": True}],
        ),
    )
    decide(client, keys[ApiRole.REVIEWER], none_met)
    notices = list(world.notices.notices.values())
    report = summarize(notices, start=NOW, end=NOW)
    assert report.total == 2
    assert report.counts["suggestion"] == {"may-not-cooperate": 1, "may-cooperate": 1}
    assert report.counts["decision"] == {"decline": 1, "pending": 1}
    assert report.counts["regime"] == {"pa-13-155": 2}
    assert report.counts["facility"] == {"New Haven Correctional Center": 2}
    assert (report.classified, report.no_criterion_met, report.share_no_criterion_met) == (2, 1, 0.5)
    assert report.decided == 1
    rows = list(csv.reader(io.StringIO(report.as_csv())))
    assert ["summary", "share_no_criterion_met", "0.5"] in rows
    assert ["decision", "decline", "1"] in rows


def test_report_route_answers_json_and_csv_and_refuses_bad_windows(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    submit(client, keys, world)
    assert (
        call(client, "GET", "/reports/detainers", keys[ApiRole.VIEWER])[1]["detainers"] == 1
    )  # the last year
    # Reports go by when Vigil received a request, in America/New_York.
    old = call(client, "GET", "/reports/detainers?from=2016-01-01&to=2016-12-31", keys[ApiRole.VIEWER])
    assert (old[0], old[1]["detainers"]) == (200, 0)
    today = datetime.now(UTC).date()
    window = f"from={today - timedelta(days=2)}&to={today + timedelta(days=1)}"
    status, body = call(client, "GET", f"/reports/detainers?{window}", keys[ApiRole.VIEWER])
    assert (status, body["detainers"]) == (200, 1)
    response = client.http.get(
        f"/reports/detainers?{window}&format=csv",
        headers={"Authorization": f"Bearer {keys[ApiRole.REVIEWER]}"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.body.decode().startswith("dimension,value,count")
    for query, field in [
        ("from=2026-13-01", "from"),
        ("format=pdf", "format"),
        ("from=2020-01-02&to=2020-01-01", "from"),
        # The day after the window's last overflowed (a 500); before 1883 New York kept local mean time.
        ("from=9999-12-31&to=9999-12-31", "from"),
        ("from=0001-01-01&to=0001-01-02", "from"),
    ]:
        status, body = call(client, "GET", f"/reports/detainers?{query}", keys[ApiRole.VIEWER])
        assert status == 400
        assert body["details"][0]["field"] == field


def test_reviewers_read_the_whole_record_through_the_api_and_other_keys_what_any_recipient_may(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = submit(client, keys, world)
    decide(client, keys[ApiRole.REVIEWER], notice_id, reasons="Test Person has no felony conviction.")
    shown = {
        role: json.dumps(call(client, "GET", f"/notices/{notice_id}", keys[role])[1])
        + json.dumps(call(client, "GET", "/notices?type=detainer", keys[role])[1])
        for role in ApiRole
    }
    for role in (ApiRole.REVIEWER, ApiRole.ADMIN):
        for particular in PARTICULARS:
            assert particular in shown[role], (role, particular)
    for role in (ApiRole.VIEWER, ApiRole.SOURCE):
        for particular in (
            *PARTICULARS,
            "no felony conviction",
            "criminal_history_entered",
            "counsel_subscriber_ids",
        ):
            assert particular not in shown[role], (role, particular)
        assert "may-not-cooperate" in shown[role]
        assert "decline" in shown[role]
    for text in shown.values():
        for never in NEVER:
            assert never not in text
