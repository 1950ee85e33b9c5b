"""The sweep, with an injected clock: each due step once, stopping when the notice is acknowledged."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.data import load_registry
from chalicelib.domain.acklog import EntryKind, verify_chain
from chalicelib.domain.acknowledgments import AckVia
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.policies import DEFAULT_POLICIES, Audience, EscalationPolicy, Step
from chalicelib.domain.subscribers import Channel, ChannelType, EventType, Role, Scope
from chalicelib.domain.tokens import AckTarget
from chalicelib.services import escalation
from chalicelib.services.acknowledgment import acknowledge
from tests.builders import NOW, detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_pipeline import run, submit

ADMIN = Channel(ChannelType.EMAIL, "admins@vigil.example.gov")
SHORT = EscalationPolicy(
    EventType.ROLLOUT,
    (Role.STATE_EXECUTIVE,),
    (
        Step(Audience.RECIPIENTS, after=timedelta(0)),
        Step(Audience.UNACKNOWLEDGED, after=timedelta(minutes=5)),
        Step(Audience.ESCALATION_CONTACTS, after=timedelta(minutes=10), channels=(ChannelType.EMAIL,)),
        Step(Audience.ADMINS, after=timedelta(minutes=20)),
    ),
)


def sweep(world: FakeWorld, at: datetime) -> escalation.SweepReport:
    return escalation.escalate_overdue(
        notices=world.notices,
        policies=world.policies,
        index=world.subscribers,
        deliveries=world.deliveries,
        send_queue=world.send_queue,
        registry=load_registry(),
        admins=[ADMIN],
        ack_log=world.ack_log,
        rotations=world.rotations,
        subscribers=world.subscribers,
        now=at,
    )


def deliver_queued(world: FakeWorld, at: datetime) -> None:
    from tests.unit.test_pipeline import deliver  # noqa: PLC0415  # the pipeline's own helper, reused

    for body in world.send_queue.take():
        deliver(world, body, after=at - NOW)


def ack(world: FakeWorld, notice_id: str, subscriber_id: str, at: datetime) -> Any:
    delivery = next(d for d in world.deliveries.for_notice(notice_id) if d.subscriber_id == subscriber_id)
    return acknowledge(
        AckTarget(notice_id, delivery.delivery_id),
        via=AckVia.LINK,
        notices=world.notices,
        deliveries=world.deliveries,
        policies=world.policies,
        ack_log=world.ack_log,
        now=at,
    )


@pytest.fixture
def town(world: FakeWorld) -> FakeWorld:
    """New Haven's officials, a statewide executive, and a county escalation contact."""
    world.policies.put(SHORT)
    channels = (Channel(ChannelType.EMAIL, "adviser@example.gov"), Channel(ChannelType.SMS, "+18605550100"))
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=channels))
    world.subscribers.add(subscriber("mayor", Role.LOCAL_OFFICIAL, "us-ct/town/new-haven"))
    world.subscribers.add(subscriber("press", Role.MEDIA, "us-ct", ack_required=False))
    # Takes detainers routinely, but is who to climb to when a rollout goes unacknowledged.
    contact = subscriber(
        "county-contact", Role.LAW_ENFORCEMENT, "us-ct/county/new-haven", event_types=(EventType.DETAINER,)
    )
    world.subscribers.add(replace(contact, escalation_contact=True))
    return world


def sent_to(world: FakeWorld) -> list[str]:
    return sorted([m.to for m in world.email.sent] + [m.to for m in world.sms.sent])


def test_nothing_is_due_before_the_first_step_time(town: FakeWorld) -> None:
    submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    assert sweep(town, NOW + timedelta(minutes=4)).escalated == []


def test_unacknowledged_step_resends_every_channel_to_required_recipients_who_have_not_acknowledged(
    town: FakeWorld,
) -> None:
    accepted = submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    ack(town, accepted.notice.id, "mayor", NOW + timedelta(minutes=1))
    town.email.sent.clear()
    town.sms.sent.clear()
    report = sweep(town, NOW + timedelta(minutes=5))
    deliver_queued(town, NOW + timedelta(minutes=5))
    assert [(e.step, e.audience) for e in report.escalated] == [(1, Audience.UNACKNOWLEDGED)]
    # The press need not acknowledge; the mayor has; the county contact was not a recipient.
    assert sent_to(town) == ["+18605550100", "adviser@example.gov"]


def test_each_step_is_performed_once_even_if_two_sweeps_overlap(town: FakeWorld) -> None:
    submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    at = NOW + timedelta(minutes=6)
    due = town.notices.due(at, limit=10)
    first, second = sweep(town, at), sweep(town, at)
    deliver_queued(town, at)
    assert len(due) == 1
    assert len(first.escalated) == 1
    assert second.escalated == []
    escalated = [e for e in town.ack_log.entries(due[0].id) if e.kind is EntryKind.ESCALATED]
    assert [e.data["step"] for e in escalated] == [1]


def test_interleaved_sweeps_send_nothing_twice(town: FakeWorld) -> None:
    """Both sweeps read the notice as due before either advances it (the real race)."""
    accepted = submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    at = NOW + timedelta(minutes=6)
    stale = town.notices.due(at, limit=10)
    town.notices.due = lambda now, *, limit: list(stale)  # type: ignore[method-assign]  # both see the stale read
    reports = [sweep(town, at), sweep(town, at)]
    deliver_queued(town, at)
    assert sum(len(r.escalated) for r in reports) == 1
    assert sum(r.skipped for r in reports) == 1
    steps = [d.step for d in town.deliveries.for_notice(accepted.notice.id)]
    assert steps.count(1) == 3  # the adviser's email and text, the mayor's email
    assert len(town.email.sent) + len(town.sms.sent) == len(steps)  # every delivery sent once


def test_escalation_contacts_of_the_parent_jurisdictions_are_told_on_the_steps_channels(
    town: FakeWorld,
) -> None:
    submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    sweep(town, NOW + timedelta(minutes=5))
    deliver_queued(town, NOW + timedelta(minutes=5))
    town.email.sent.clear()
    town.sms.sent.clear()
    report = sweep(town, NOW + timedelta(minutes=10))
    deliver_queued(town, NOW + timedelta(minutes=10))
    assert [(e.step, e.audience, e.recipients) for e in report.escalated] == [
        (2, Audience.ESCALATION_CONTACTS, 1)
    ]
    assert sent_to(town) == ["county-contact@example.gov"]


def escalation_contacts_told(world: FakeWorld, jurisdiction: str) -> list[str]:
    """Who the escalation-contacts step of a rollout for this place tells."""
    submit(world, rollout_body(jurisdiction=jurisdiction))
    run(world)
    sweep(world, NOW + timedelta(minutes=5))
    deliver_queued(world, NOW + timedelta(minutes=5))
    world.email.sent.clear()
    world.sms.sent.clear()
    sweep(world, NOW + timedelta(minutes=10))
    deliver_queued(world, NOW + timedelta(minutes=10))
    return sent_to(world)


def test_escalation_climbs_above_the_notices_place_never_down_into_it(town: FakeWorld) -> None:
    # The county's contact lies inside the state: a statewide rollout has no place above it to climb to.
    assert escalation_contacts_told(town, "statewide") == []


def test_an_exact_escalation_contact_is_not_climbed_to_from_the_places_under_it(world: FakeWorld) -> None:
    world.policies.put(SHORT)
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct"))
    exact = subscriber("county-only", Role.LAW_ENFORCEMENT, "us-ct/county/new-haven", scope=Scope.EXACT)
    contained = subscriber("region", Role.LOCAL_OFFICIAL, "us-ct/region/south-central-connecticut")
    world.subscribers.add(replace(exact, escalation_contact=True))
    world.subscribers.add(replace(contained, escalation_contact=True))
    assert escalation_contacts_told(world, "New Haven") == ["region@example.gov"]


def test_last_step_tells_the_admins_and_nothing_follows(town: FakeWorld) -> None:
    accepted = submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    for minutes in (5, 10):
        sweep(town, NOW + timedelta(minutes=minutes))
    town.send_queue.take()
    report = sweep(town, NOW + timedelta(minutes=20))
    deliver_queued(town, NOW + timedelta(minutes=20))
    assert [(e.step, e.audience) for e in report.escalated] == [(3, Audience.ADMINS)]
    assert report.past_last_step == 1  # what the unacknowledged-after-last-step alarm counts
    assert town.email.sent[-1].to == "admins@vigil.example.gov"
    assert town.notices.get(accepted.notice.id).next_step_at is None
    assert sweep(town, NOW + timedelta(days=1)).escalated == []


def test_escalation_stops_when_the_notice_is_acknowledged(town: FakeWorld) -> None:
    accepted = submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    result = ack(town, accepted.notice.id, "adviser", NOW + timedelta(minutes=2))
    assert result.notice_acknowledged
    assert town.notices.get(accepted.notice.id).status is NoticeStatus.ACKNOWLEDGED
    assert sweep(town, NOW + timedelta(hours=5)).escalated == []


def test_a_clerks_acknowledgment_does_not_close_what_the_executive_never_saw(town: FakeWorld) -> None:
    accepted = submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    result = ack(town, accepted.notice.id, "mayor", NOW + timedelta(minutes=1))
    assert not result.notice_acknowledged
    assert town.notices.get(accepted.notice.id).status is NoticeStatus.OPEN
    assert [e.audience for e in sweep(town, NOW + timedelta(minutes=5)).escalated] == [
        Audience.UNACKNOWLEDGED
    ]


def test_policy_changed_under_a_notice_reschedules_it(town: FakeWorld) -> None:
    accepted = submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    town.policies.put(DEFAULT_POLICIES[EventType.ROLLOUT])  # first re-send at 15 minutes, not 5
    assert sweep(town, NOW + timedelta(minutes=6)).escalated == []
    assert town.notices.get(accepted.notice.id).next_step_at == NOW + timedelta(minutes=15)


def test_every_step_is_in_the_log_and_the_log_verifies(town: FakeWorld) -> None:
    accepted = submit(town, rollout_body(jurisdiction="New Haven"))
    run(town)
    for minutes in (5, 10, 20):
        sweep(town, NOW + timedelta(minutes=minutes))
        deliver_queued(town, NOW + timedelta(minutes=minutes))
    entries = town.ack_log.entries(accepted.notice.id)
    kinds = [e.kind for e in entries]
    assert kinds[:2] == [EntryKind.CREATED, EntryKind.ROUTED]
    assert kinds.count(EntryKind.ESCALATED) == 3
    assert EntryKind.DELIVERED in kinds
    assert verify_chain(accepted.notice.id, entries).verified


def test_detainer_steps_are_timed_against_the_earlier_hold_deadline(world: FakeWorld) -> None:
    world.subscribers.add(subscriber("reviewer", Role.CORRECTIONS, "us-ct"))
    # I-247A issued in 2015 (PA 13-155): the form's plain 48 h ends before the state's business 48 h.
    body = detainer_body(
        form="I-247A",
        issued_at="2015-11-25T09:00:00-05:00",
        release_due_at="2015-11-25T17:00:00-05:00",  # the day before Thanksgiving
        convictions=[],
    )
    accepted = submit(world, body)
    notice = world.notices.get(accepted.notice.id)
    assert notice.deadline is not None
    assert notice.deadline.isoformat() == "2015-11-27T17:00:00-05:00"
    hold = notice.event["hold"]
    assert hold["state_deadline"] > hold["form_deadline"]
    run(world)
    policy = DEFAULT_POLICIES[EventType.DETAINER]
    escalation_contacts_due = notice.deadline - policy.steps[2].before_deadline  # type: ignore[operator]  # set
    assert policy.next_step(after_step=1, received_at=notice.received_at, deadline=notice.deadline) == (
        2,
        escalation_contacts_due,
    )
