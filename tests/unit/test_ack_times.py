"""Acknowledgment times week by week: weeks from Monday in New York, each notice in the week it was
received, the share that reached the last escalation step (for all, by place, and by the required role
that had not acknowledged), and GET /stats/acknowledgments reading a bounded number of notices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.domain.ack_times import (
    Acknowledged,
    Times,
    last_step,
    last_weeks,
    week_begins,
    week_of,
    weekly_series,
)
from chalicelib.domain.acknowledgments import Acknowledgment, AckVia
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.notices import Notice, NoticeStatus
from chalicelib.domain.policies import DEFAULT_POLICIES
from chalicelib.domain.subscribers import EventType, Role
from chalicelib.services import dashboard
from tests.builders import NOW
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call

Keys = dict[ApiRole, str]
ROLLOUTS = DEFAULT_POLICIES[EventType.ROLLOUT]
DETAINERS = DEFAULT_POLICIES[EventType.DETAINER]
NEW_HAVEN = "us-ct/town/new-haven"
HARTFORD = "us-ct/town/hartford"
# NOW (Friday 17 February 2012, 4:05 p.m. in New York) is in the week of Monday 13 February.
THIS_WEEK = date(2012, 2, 13)


def notice(
    n: int,
    received_at: datetime,
    *,
    step: int = 0,
    place: str = NEW_HAVEN,
    kind: EventType = EventType.ROLLOUT,
    routed: bool = True,
    deadline: datetime | None = None,
    low_key: bool = False,
) -> Notice:
    return Notice(
        id=f"ntc_{n:04d}",
        type=kind,
        status=NoticeStatus.OPEN,
        idempotency_key=f"k-{n}",
        fingerprint="f" * 64,
        jurisdiction_id=place,
        title=f"notice {n}",
        received_at=received_at,
        event={},
        submitted_by="key-1",
        routed_at=received_at if routed else None,
        step=step,
        deadline=deadline,
        extra={"low_key": True} if low_key else {},
    )


def ack(of: Notice, role: Role, minutes: float, *, who: str = "", late: bool = False) -> Acknowledgment:
    return Acknowledgment(
        notice_id=of.id,
        subscriber_id=who or f"sub-{role}",
        role=role,
        delivery_id=f"dlv-{role}",
        via=AckVia.LINK,
        at=of.received_at + timedelta(minutes=minutes),
        late=late,
    )


# ---------------------------------------------------------------------------------------------- weeks


def test_a_week_starts_at_midnight_on_monday_in_new_york_not_in_utc() -> None:
    monday = datetime(2012, 2, 13, 5, 0, tzinfo=UTC)  # 00:00 EST
    assert week_of(monday) == date(2012, 2, 13)
    assert week_of(monday - timedelta(seconds=1)) == date(2012, 2, 6)  # Sunday 23:59:59 in New York
    assert week_begins(date(2012, 2, 13)) == monday


def test_weeks_after_the_clocks_change_begin_an_hour_earlier_in_utc() -> None:
    assert week_begins(date(2012, 3, 12)) == datetime(2012, 3, 12, 4, 0, tzinfo=UTC)  # 00:00 EDT
    assert week_of(datetime(2012, 3, 12, 3, 59, tzinfo=UTC)) == date(2012, 3, 5)


def test_the_last_twelve_weeks_end_with_this_one() -> None:
    weeks = last_weeks(NOW)
    assert len(weeks) == 12
    assert weeks[-1] == THIS_WEEK
    assert weeks[0] == date(2011, 11, 28)
    assert all(w.weekday() == 0 for w in weeks)
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(weeks))


# ---------------------------------------------------------------------------------------------- last step


def test_the_last_step_of_a_rollout_is_the_admins_two_hours_after_receipt() -> None:
    assert last_step(ROLLOUTS, notice(1, NOW)) == (3, NOW + timedelta(hours=2))


def test_a_low_key_notice_reaches_its_last_step_three_times_sooner() -> None:
    assert last_step(ROLLOUTS, notice(1, NOW, low_key=True)) == (3, NOW + timedelta(minutes=40))


def test_a_detainer_without_a_deadline_can_climb_only_to_its_second_step() -> None:
    assert last_step(DETAINERS, notice(1, NOW, kind=EventType.DETAINER)) == (1, NOW + timedelta(minutes=30))
    deadline = NOW + timedelta(hours=48)
    with_deadline = notice(2, NOW, kind=EventType.DETAINER, deadline=deadline)
    assert last_step(DETAINERS, with_deadline) == (3, deadline - timedelta(hours=4))


# ---------------------------------------------------------------------------------------------- series


def test_each_week_has_its_times_and_the_share_that_reached_the_last_step() -> None:
    early = notice(1, NOW - timedelta(weeks=3), step=3)
    later = notice(2, NOW - timedelta(weeks=3, hours=1), step=1)
    this = notice(3, NOW - timedelta(hours=1))
    read = [
        Acknowledged(early, (ack(early, Role.STATE_EXECUTIVE, 150), ack(early, Role.LOCAL_OFFICIAL, 10))),
        Acknowledged(later, (ack(later, Role.STATE_EXECUTIVE, 20),)),
        Acknowledged(this, (ack(this, Role.STATE_EXECUTIVE, 4),)),
    ]

    series = weekly_series(read, policy=ROLLOUTS, weeks=last_weeks(NOW))

    assert [w.start for w in series.overall] == list(last_weeks(NOW))
    three_weeks_ago = series.overall[8]
    assert three_weeks_ago.start == date(2012, 1, 23)
    assert (three_weeks_ago.notices, three_weeks_ago.reached_last_step) == (2, 1)
    assert three_weeks_ago.share_reached_last_step == 0.5
    assert three_weeks_ago.times == Times(3, 20.0, 150.0)
    assert series.overall[11].times == Times(1, 4.0, 4.0)
    assert series.overall[11].share_reached_last_step == 0.0
    empty = series.overall[0]
    assert (empty.notices, empty.times, empty.share_reached_last_step) == (0, Times(0, None, None), None)


def test_a_required_roles_share_counts_the_notices_that_climbed_before_it_acknowledged() -> None:
    # Both reached the admins (due two hours after receipt); the governor's office acknowledged one
    # at 100 minutes (before) and the other at 150 (after): it let one of the two climb.
    before = notice(1, NOW - timedelta(days=1), step=3)
    after = notice(2, NOW - timedelta(days=1, hours=1), step=3)
    read = [
        Acknowledged(before, (ack(before, Role.STATE_EXECUTIVE, 100),)),
        Acknowledged(after, (ack(after, Role.STATE_EXECUTIVE, 150), ack(after, Role.LOCAL_OFFICIAL, 5))),
    ]

    series = weekly_series(read, policy=ROLLOUTS, weeks=last_weeks(NOW))

    (executive,) = series.by_role["state-executive"]
    assert (executive.notices, executive.reached_last_step, executive.share_reached_last_step) == (2, 1, 0.5)
    assert executive.times == Times(2, 125.0, 150.0)
    (official,) = series.by_role["local-official"]  # not required: its times, and no share
    assert (official.notices, official.share_reached_last_step, official.times.count) == (0, None, 1)
    assert series.overall[-1].reached_last_step == 2


def test_places_roles_and_weeks_without_anything_to_count_are_left_out() -> None:
    hartford = notice(1, NOW - timedelta(weeks=5), place=HARTFORD)
    new_haven = notice(2, NOW - timedelta(days=1))
    read = [Acknowledged(hartford, (ack(hartford, Role.LOCAL_OFFICIAL, 12),)), Acknowledged(new_haven, ())]

    series = weekly_series(read, policy=ROLLOUTS, weeks=last_weeks(NOW))

    assert [w.start for w in series.by_place[HARTFORD]] == [week_of(hartford.received_at)]
    assert [w.start for w in series.by_place[NEW_HAVEN]] == [THIS_WEEK]
    assert [w.start for w in series.by_role["local-official"]] == [week_of(hartford.received_at)]
    assert [w.start for w in series.by_role["state-executive"]] == [week_of(hartford.received_at), THIS_WEEK]
    assert set(series.by_role) == {"local-official", "state-executive"}


def test_held_messages_late_acknowledgments_and_older_notices_count_nowhere() -> None:
    held = notice(1, NOW - timedelta(days=1), routed=False, step=3)
    counted = notice(2, NOW - timedelta(days=1))
    too_old = notice(3, NOW - timedelta(weeks=13))
    read = [
        Acknowledged(held, (ack(held, Role.STATE_EXECUTIVE, 3),)),
        Acknowledged(counted, (ack(counted, Role.STATE_EXECUTIVE, 30, late=True),)),
        Acknowledged(too_old, (ack(too_old, Role.STATE_EXECUTIVE, 3),)),
    ]

    series = weekly_series(read, policy=ROLLOUTS, weeks=last_weeks(NOW))

    assert [w.notices for w in series.overall] == [0] * 11 + [1]
    assert all(w.times.count == 0 for w in series.overall)
    assert series.overall[-1].reached_last_step == 0


# ---------------------------------------------------------------------------------------------- the route


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    bootstrap.use(world.deps(), clock=lambda: NOW)
    with Client(app) as test_client:
        yield test_client


def seed(world: FakeWorld, found: Notice, *acks: Acknowledgment) -> None:
    world.notices.add(found)
    for a in acks:
        world.deliveries.record_ack(a)


def test_the_answer_holds_twelve_weeks_by_role_and_by_place(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    climbed = notice(1, NOW - timedelta(weeks=2), step=3)
    quick = notice(2, NOW - timedelta(hours=3), place=HARTFORD)
    seed(world, climbed, ack(climbed, Role.STATE_EXECUTIVE, 130), ack(climbed, Role.ADVOCATE, 9, who="adv"))
    seed(world, quick, ack(quick, Role.STATE_EXECUTIVE, 6))

    status, body = call(client, "GET", "/stats/acknowledgments?type=rollout", keys[ApiRole.VIEWER])

    assert status == 200
    weekly = body["weekly"]
    assert weekly["time_zone"] == "America/New_York"
    assert weekly["weeks"][-1] == "2012-02-13"
    assert (weekly["notices_read"], weekly["complete"], weekly["required_roles"]) == (
        2,
        True,
        ["state-executive"],
    )
    assert weekly["all"][9] == {
        "week": "2012-01-30",
        "notices": 1,
        "reached_last_step": 1,
        "share_reached_last_step": 1.0,
        "count": 2,
        "median_minutes": 69.5,
        "p90_minutes": 130.0,
    }
    assert weekly["all"][11]["median_minutes"] == 6.0
    roles = {r["role"]: r["weeks"] for r in weekly["by_role"]}
    assert [w["week"] for w in roles["state-executive"]] == ["2012-01-30", "2012-02-13"]
    assert [w["share_reached_last_step"] for w in roles["state-executive"]] == [1.0, 0.0]
    assert roles["advocate"][0]["notices"] == 0
    places = {p["name"]: p["weeks"] for p in weekly["by_jurisdiction"]}
    assert [w["week"] for w in places["Hartford"]] == ["2012-02-13"]
    assert places["New Haven"][0]["reached_last_step"] == 1
    # The most recent notices' figures, as before.
    assert body["notices_considered"] == 2
    assert {r["role"]: r["count"] for r in body["by_role"]} == {"advocate": 1, "state-executive": 2}


def test_detainers_are_their_own_series(client: Client, keys: Keys, world: FakeWorld) -> None:
    seed(world, notice(1, NOW - timedelta(days=2)))
    detainer = notice(2, NOW - timedelta(days=2), kind=EventType.DETAINER, step=1)
    seed(world, detainer, ack(detainer, Role.CORRECTIONS, 45))

    _, body = call(client, "GET", "/stats/acknowledgments?type=detainer", keys[ApiRole.VIEWER])

    assert body["type"] == "detainer"
    assert body["weekly"]["required_roles"] == ["corrections"]
    assert body["weekly"]["all"][-1]["notices"] == 1
    # Without a deadline its second step is its last: it reached it.
    assert body["weekly"]["all"][-1]["share_reached_last_step"] == 1.0


def test_reads_stop_at_the_bound_keeping_the_newest_weeks(
    client: Client, keys: Keys, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "MAX_WEEKLY_NOTICES", 5)
    for n in range(8):
        seed(world, notice(n, NOW - timedelta(weeks=n)))
    asked: list[str] = []
    original = world.deliveries.acknowledgments

    def counted(notice_id: str) -> list[Acknowledgment]:
        asked.append(notice_id)
        return original(notice_id)

    monkeypatch.setattr(world.deliveries, "acknowledgments", counted)

    _, body = call(client, "GET", "/stats/acknowledgments?limit=3", keys[ApiRole.VIEWER])

    assert (body["weekly"]["notices_read"], body["weekly"]["complete"]) == (5, False)
    assert [w["notices"] for w in body["weekly"]["all"]] == [0] * 7 + [1] * 5
    assert sorted(asked) == [f"ntc_{n:04d}" for n in range(5)]  # once each, the newest five
    assert body["notices_considered"] == 3


def test_the_most_recent_notices_reach_back_beyond_the_weeks_when_these_hold_fewer(
    client: Client, keys: Keys, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = notice(1, NOW - timedelta(weeks=20))
    seed(world, old, ack(old, Role.STATE_EXECUTIVE, 33))
    seed(world, notice(2, NOW - timedelta(days=1)))
    asked: list[str] = []
    original = world.deliveries.acknowledgments

    def counted(notice_id: str) -> list[Acknowledgment]:
        asked.append(notice_id)
        return original(notice_id)

    monkeypatch.setattr(world.deliveries, "acknowledgments", counted)

    _, body = call(client, "GET", "/stats/acknowledgments", keys[ApiRole.VIEWER])

    assert sorted(asked) == ["ntc_0001", "ntc_0002"]  # each notice's acknowledgments read once
    assert body["notices_considered"] == 2
    assert body["by_role"] == [
        {"role": "state-executive", "count": 1, "median_minutes": 33.0, "p90_minutes": 33.0}
    ]
    assert body["weekly"]["notices_read"] == 1
    assert all(w["count"] == 0 for w in body["weekly"]["all"])


def test_a_notice_received_at_this_very_moment_counts(client: Client, keys: Keys, world: FakeWorld) -> None:
    seed(world, notice(1, NOW))
    _, body = call(client, "GET", "/stats/acknowledgments", keys[ApiRole.VIEWER])
    assert body["weekly"]["all"][-1]["notices"] == 1


@pytest.mark.parametrize(
    ("query", "field"), [("type=rolout", "type"), ("limit=0", "limit"), ("limit=101", "limit")]
)
def test_bad_query_values_are_refused_naming_the_field(
    client: Client, keys: Keys, world: FakeWorld, query: str, field: str
) -> None:
    status, body = call(client, "GET", f"/stats/acknowledgments?{query}", keys[ApiRole.VIEWER])
    assert status == 400
    assert_error(body, "invalid_input")
    assert [d["field"] for d in body["details"]] == [field]


def test_without_a_key_nothing_is_read(client: Client, world: FakeWorld) -> None:
    seed(world, replace(notice(1, NOW), title="secret"))
    status, body = call(client, "GET", "/stats/acknowledgments")
    assert status == 401
    assert "secret" not in str(body)
