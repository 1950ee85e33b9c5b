"""Notices and duty rotations, through the services with fakes: a detainer goes first to the reviewer
on duty, policy steps reach the next on duty and the whole rotation, the log names the one on duty,
and a rotation that cannot tell its duty person steps aside."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.policies import Audience, EscalationPolicy, Step
from chalicelib.domain.rotations import Override, Rotation, rotation_id_for
from chalicelib.domain.subscribers import Channel, ChannelType, EventType, Role
from tests.builders import NOW, detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_escalation import ack, deliver_queued, sweep
from tests.unit.test_pipeline import run, submit

FACILITY = "us-ct/facility/new-haven-correctional-center"
# NOW is Friday 17 February 2012, 16:05 in New York. A daily 08:00 rotation of Ana and Ben from
# Monday 13 February: Ana's shift from Friday 08:00 to Saturday 08:00, then Ben's.
FRIDAY_0800 = datetime.fromisoformat("2012-02-17T13:00:00+00:00")
SATURDAY_0800 = datetime.fromisoformat("2012-02-18T13:00:00+00:00")
SUNDAY_0800 = datetime.fromisoformat("2012-02-19T13:00:00+00:00")
POLICY = EscalationPolicy(
    EventType.DETAINER,
    (Role.CORRECTIONS,),
    (
        Step(Audience.RECIPIENTS, after=timedelta(0)),
        Step(Audience.NEXT_ON_DUTY, after=timedelta(minutes=30)),
        Step(Audience.ROTATION, after=timedelta(hours=1)),
        Step(Audience.ON_DUTY, after=timedelta(hours=20)),
    ),
)


def reviewers_rotation(place: str = FACILITY, *, overrides: tuple[Override, ...] = ()) -> Rotation:
    return Rotation(
        id=rotation_id_for(place, Role.CORRECTIONS),
        jurisdiction_id=place,
        role=Role.CORRECTIONS,
        members=("ana", "ben"),
        shift=timedelta(days=1),
        handoff=time(8, 0),
        start=date(2012, 2, 13),
        overrides=overrides,
    )


@pytest.fixture
def jail(world: FakeWorld) -> FakeWorld:
    """Two reviewers of New Haven Correctional Center in a rotation, a reviewer of another jail who
    covers for them at times, the statewide commissioner (in no rotation) and the advocates."""
    for sid in ("ana", "ben"):
        world.subscribers.add(subscriber(sid, Role.CORRECTIONS, FACILITY, event_types=(EventType.DETAINER,)))
    world.subscribers.add(
        subscriber("dee", Role.CORRECTIONS, "us-ct/facility/bridgeport-correctional-center")
    )
    world.subscribers.add(subscriber("commissioner", Role.CORRECTIONS, "us-ct"))
    world.subscribers.add(subscriber("advocates", Role.ADVOCATE, "us-ct", ack_required=False))
    world.rotations.add(reviewers_rotation())
    world.policies.put(POLICY)
    return world


def emailed(world: FakeWorld) -> list[str]:
    return sorted(m.to.split("@")[0] for m in world.email.sent)


def entry(world: FakeWorld, notice_id: str, kind: EntryKind, index: int = -1) -> dict[str, Any]:
    return [e for e in world.ack_log.entries(notice_id) if e.kind is kind][index].data


def test_a_detainer_goes_first_to_the_reviewer_on_duty_and_to_those_in_no_rotation(jail: FakeWorld) -> None:
    accepted = submit(jail, detainer_body())
    run(jail)

    assert emailed(jail) == ["advocates", "ana", "commissioner"]
    assert jail.notices.get(accepted.notice.id).recipients == 3
    assert jail.rotations.reads == [tuple(_places())]


def _places() -> list[str]:
    return [
        FACILITY,
        "us-ct/town/new-haven",
        "us-ct/county/new-haven",
        "us-ct/region/south-central-connecticut",
        "us-ct",
    ]


def test_the_routed_log_entry_names_who_was_on_duty_and_their_shift(jail: FakeWorld) -> None:
    accepted = submit(jail, detainer_body())
    run(jail)

    assert entry(jail, accepted.notice.id, EntryKind.ROUTED)["on_duty"] == [
        {
            "rotation_id": rotation_id_for(FACILITY, Role.CORRECTIONS),
            "jurisdiction_id": FACILITY,
            "role": "corrections",
            "on_duty": "ana",
            "covering_for": None,
            "shift_start": FRIDAY_0800.isoformat(),
            "shift_end": SATURDAY_0800.isoformat(),
            "reachable": True,
            "in_force": True,
        }
    ]


def test_the_next_on_duty_step_reaches_whoever_takes_over_and_the_log_says_so(jail: FakeWorld) -> None:
    accepted = submit(jail, detainer_body())
    run(jail)
    jail.email.sent.clear()

    report = sweep(jail, NOW + timedelta(minutes=30))
    deliver_queued(jail, NOW + timedelta(minutes=30))

    assert [(e.step, e.audience, e.recipients) for e in report.escalated] == [(1, Audience.NEXT_ON_DUTY, 1)]
    assert emailed(jail) == ["ben"]
    escalated = entry(jail, accepted.notice.id, EntryKind.ESCALATED)
    assert escalated["notify"] == "next-on-duty"
    assert escalated["recipients"] == ["ben"]
    assert [w["on_duty"] for w in escalated["on_duty"]] == ["ana"]


def test_the_rotation_step_reaches_everyone_in_it(jail: FakeWorld) -> None:
    submit(jail, detainer_body())
    run(jail)
    sweep(jail, NOW + timedelta(minutes=30))
    jail.send_queue.take()
    jail.email.sent.clear()

    report = sweep(jail, NOW + timedelta(hours=1))
    deliver_queued(jail, NOW + timedelta(hours=1))

    assert [(e.audience, e.recipients) for e in report.escalated] == [(Audience.ROTATION, 2)]
    assert emailed(jail) == ["ana", "ben"]


def test_an_on_duty_step_after_the_hand_off_reaches_the_one_on_duty_then() -> None:
    world = FakeWorld()
    for sid in ("ana", "ben"):
        world.subscribers.add(subscriber(sid, Role.CORRECTIONS, FACILITY))
    world.rotations.add(reviewers_rotation())
    world.policies.put(
        replace(POLICY, steps=(POLICY.steps[0], Step(Audience.ON_DUTY, after=timedelta(hours=20))))
    )
    accepted = submit(world, detainer_body(release_due_at="2026-11-30T17:00:00-05:00"))
    run(world)
    world.email.sent.clear()

    sweep(world, NOW + timedelta(hours=20))  # Saturday 12:05 in New York: Ben's shift
    deliver_queued(world, NOW + timedelta(hours=20))

    assert emailed(world) == ["ben"]
    [watch] = entry(world, accepted.notice.id, EntryKind.ESCALATED)["on_duty"]
    assert (watch["on_duty"], watch["shift_start"]) == ("ben", SATURDAY_0800.isoformat())


def test_an_unacknowledged_step_re_sends_to_the_one_on_duty_not_to_the_members_held_back(
    jail: FakeWorld,
) -> None:
    jail.policies.put(
        replace(POLICY, steps=(POLICY.steps[0], Step(Audience.UNACKNOWLEDGED, after=timedelta(minutes=5))))
    )
    submit(jail, detainer_body())
    run(jail)
    jail.email.sent.clear()

    sweep(jail, NOW + timedelta(minutes=5))
    deliver_queued(jail, NOW + timedelta(minutes=5))

    assert emailed(jail) == ["ana", "commissioner"]


def test_the_reviewer_on_duty_acknowledging_ends_the_escalation(jail: FakeWorld) -> None:
    accepted = submit(jail, detainer_body())
    run(jail)
    ack(jail, accepted.notice.id, "ana", NOW + timedelta(minutes=10))
    jail.email.sent.clear()

    assert sweep(jail, NOW + timedelta(minutes=30)).escalated == []
    assert emailed(jail) == []


def test_someone_covering_by_an_override_is_told_and_the_log_says_for_whom(jail: FakeWorld) -> None:
    cover = Override(
        FRIDAY_0800 + timedelta(hours=6), FRIDAY_0800 + timedelta(hours=12), "dee", "Ana at a hearing"
    )
    jail.rotations.replace(reviewers_rotation(overrides=(cover,)))
    accepted = submit(jail, detainer_body())
    run(jail)

    assert emailed(jail) == ["advocates", "commissioner", "dee"]
    [watch] = entry(jail, accepted.notice.id, EntryKind.ROUTED)["on_duty"]
    assert (watch["on_duty"], watch["covering_for"]) == ("dee", "ana")


def test_a_rotation_whose_one_on_duty_cannot_be_reached_steps_aside(jail: FakeWorld) -> None:
    unconfirmed = Channel(ChannelType.EMAIL, "ana@example.gov", verified=False)
    jail.subscribers.replace(
        subscriber(
            "ana", Role.CORRECTIONS, FACILITY, event_types=(EventType.DETAINER,), channels=(unconfirmed,)
        )
    )
    accepted = submit(jail, detainer_body())
    run(jail)

    # Ben is not on duty, but the rotation cannot tell Ana: he is told as he subscribed.
    assert emailed(jail) == ["advocates", "ben", "commissioner"]
    [watch] = entry(jail, accepted.notice.id, EntryKind.ROUTED)["on_duty"]
    assert (watch["on_duty"], watch["reachable"], watch["in_force"]) == ("ana", False, False)


def test_a_rotation_at_the_state_applies_to_a_facility_s_detainers_and_one_elsewhere_does_not(
    world: FakeWorld,
) -> None:
    for sid in ("ana", "ben"):
        world.subscribers.add(subscriber(sid, Role.CORRECTIONS, "us-ct"))
    world.rotations.add(reviewers_rotation("us-ct"))
    world.rotations.add(
        replace(
            reviewers_rotation("us-ct/facility/bridgeport-correctional-center"),
            members=("ben",),
        )
    )
    submit(world, detainer_body())
    run(world)

    assert emailed(world) == ["ana"]


def test_the_one_on_duty_is_told_even_when_their_subscriptions_do_not_reach_the_place(
    world: FakeWorld,
) -> None:
    world.subscribers.add(
        subscriber("ana", Role.CORRECTIONS, "us-ct/facility/bridgeport-correctional-center")
    )
    world.subscribers.add(subscriber("ben", Role.CORRECTIONS, FACILITY))
    world.rotations.add(reviewers_rotation())
    accepted = submit(world, detainer_body())
    run(world)

    assert emailed(world) == ["ana"]
    assert world.notices.get(accepted.notice.id).coverage_gaps == ()


def test_a_rollout_at_a_place_without_a_rotation_logs_no_one_on_duty(jail: FakeWorld) -> None:
    jail.subscribers.add(subscriber("mayor", Role.LOCAL_OFFICIAL, "us-ct/town/hartford"))
    accepted = submit(jail, rollout_body(jurisdiction="Hartford"))
    run(jail)

    assert "on_duty" not in entry(jail, accepted.notice.id, EntryKind.ROUTED)
    assert "mayor" in emailed(jail)


def test_steps_that_name_nobody_of_a_rotation_do_not_read_the_rotations(jail: FakeWorld) -> None:
    jail.policies.put(
        replace(POLICY, steps=(POLICY.steps[0], Step(Audience.ADMINS, after=timedelta(minutes=5))))
    )
    submit(jail, detainer_body())
    run(jail)
    reads = len(jail.rotations.reads)

    assert len(sweep(jail, NOW + timedelta(minutes=5)).escalated) == 1
    assert len(jail.rotations.reads) == reads
