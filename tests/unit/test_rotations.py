"""Who is on duty at an instant: shifts on New York's wall clock across both changes of the clocks,
overrides, and who a notice goes to first when a rotation applies (domain/rotations.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.rotations import (
    ZONE,
    Duty,
    Override,
    Roster,
    Rotation,
    rostered,
    rotation_id_for,
    watch,
)
from chalicelib.domain.routing import Recipient
from chalicelib.domain.subscribers import Channel, ChannelType, Role, Subscriber
from tests.builders import subscriber

# 2026: the clocks go forward on Sunday 8 March (02:00 EST → 03:00 EDT) and back on Sunday
# 1 November (02:00 EDT → 01:00 EST).
MARCH_CHANGE = date(2026, 3, 8)
NOVEMBER_CHANGE = date(2026, 11, 1)


def rotation(
    *members: str,
    shift: timedelta = timedelta(days=1),
    handoff: time = time(8, 0),
    start: date = date(2026, 3, 1),
    overrides: tuple[Override, ...] = (),
) -> Rotation:
    return Rotation(
        id=rotation_id_for("us-ct/facility/new-haven-correctional-center", Role.CORRECTIONS),
        jurisdiction_id="us-ct/facility/new-haven-correctional-center",
        role=Role.CORRECTIONS,
        members=members or ("ana", "ben", "cy"),
        shift=shift,
        handoff=handoff,
        start=start,
        overrides=overrides,
    )


def local(day: date, hour: int, minute: int = 0, *, fold: int = 0) -> datetime:
    """An instant given by New York's wall clock (fold=1: the second of a time shown twice), in UTC:
    an aware time in an hour shown twice never equals one of another zone (PEP 495)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE, fold=fold).astimezone(UTC)


def wall(instant: datetime) -> str:
    return instant.astimezone(ZONE).strftime("%Y-%m-%d %H:%M %Z")


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


# --- hand-offs across the changes of the clocks ---------------------------------------------------


def test_a_daily_0800_hand_off_stays_at_0800_across_the_march_change() -> None:
    daily = rotation(start=date(2026, 3, 5))
    handoffs = [wall(daily.handoff_at(turn)) for turn in range(6)]
    assert handoffs == [
        "2026-03-05 08:00 EST",
        "2026-03-06 08:00 EST",
        "2026-03-07 08:00 EST",
        "2026-03-08 08:00 EDT",
        "2026-03-09 08:00 EDT",
        "2026-03-10 08:00 EDT",
    ]


def test_the_daily_shift_that_spans_the_march_change_lasts_23_hours_and_hands_off_at_0800_edt() -> None:
    daily = rotation("ana", "ben", start=date(2026, 3, 7))
    saturday = daily.on_duty(local(date(2026, 3, 7), 9))
    assert saturday == Duty("ana", local(date(2026, 3, 7), 8), local(MARCH_CHANGE, 8))
    assert hours(saturday.end - saturday.start) == 23
    assert daily.on_duty(local(MARCH_CHANGE, 7, 59)) == saturday
    sunday = daily.on_duty(local(MARCH_CHANGE, 8))
    assert sunday is not None
    assert (sunday.subscriber_id, wall(sunday.start)) == ("ben", "2026-03-08 08:00 EDT")


def test_a_daily_0800_hand_off_stays_at_0800_across_the_november_change_and_that_shift_lasts_25_hours() -> (
    None
):
    daily = rotation("ana", "ben", start=date(2026, 10, 30))
    handoffs = [wall(daily.handoff_at(turn)) for turn in range(4)]
    assert handoffs == [
        "2026-10-30 08:00 EDT",
        "2026-10-31 08:00 EDT",
        "2026-11-01 08:00 EST",
        "2026-11-02 08:00 EST",
    ]
    saturday = daily.on_duty(local(date(2026, 10, 31), 12))
    assert saturday is not None
    assert saturday.subscriber_id == "ben"
    assert hours(saturday.end - saturday.start) == 25
    # In the hour the clock shows twice, the same person is on duty both times.
    assert daily.on_duty(local(NOVEMBER_CHANGE, 1, 30)) == saturday
    assert daily.on_duty(local(NOVEMBER_CHANGE, 1, 30, fold=1)) == saturday


def test_a_24_hour_shift_is_a_day_on_the_wall_clock_like_p1d() -> None:
    """The decision (docs/decisions.md): PT24H hands off at the same wall time as P1D, so across a
    change of the clocks its shift is 23 or 25 hours, not 24."""
    by_hours = rotation(shift=timedelta(hours=24), start=date(2026, 3, 6))
    by_days = rotation(shift=timedelta(days=1), start=date(2026, 3, 6))
    for turn in range(5):
        assert by_hours.handoff_at(turn) == by_days.handoff_at(turn)
    across = by_hours.on_duty(local(date(2026, 3, 7), 20))
    assert across is not None
    assert (wall(across.start), wall(across.end)) == ("2026-03-07 08:00 EST", "2026-03-08 08:00 EDT")
    assert hours(across.end - across.start) == 23
    autumn = rotation(shift=timedelta(hours=24), start=date(2026, 10, 31)).on_duty(local(NOVEMBER_CHANGE, 0))
    assert autumn is not None
    assert hours(autumn.end - autumn.start) == 25


def test_twelve_hour_shifts_hand_off_at_0800_and_2000_and_the_night_shift_of_the_change_is_shorter() -> None:
    halves = rotation("day", "night", shift=timedelta(hours=12), start=date(2026, 3, 7))
    assert [wall(halves.handoff_at(turn)) for turn in range(5)] == [
        "2026-03-07 08:00 EST",
        "2026-03-07 20:00 EST",
        "2026-03-08 08:00 EDT",
        "2026-03-08 20:00 EDT",
        "2026-03-09 08:00 EDT",
    ]
    night = halves.on_duty(local(MARCH_CHANGE, 1))
    assert night is not None
    assert night.subscriber_id == "night"
    assert hours(night.end - night.start) == 11


def test_a_weekly_monday_0900_hand_off_keeps_its_wall_time_across_both_changes() -> None:
    weekly = rotation("ana", "ben", shift=timedelta(days=7), handoff=time(9, 0), start=date(2026, 3, 2))
    assert wall(weekly.handoff_at(1)) == "2026-03-09 09:00 EDT"
    assert hours(weekly.handoff_at(1) - weekly.handoff_at(0)) == 7 * 24 - 1
    autumn = rotation("ana", "ben", shift=timedelta(days=7), handoff=time(9, 0), start=date(2026, 10, 26))
    assert wall(autumn.handoff_at(1)) == "2026-11-02 09:00 EST"
    assert hours(autumn.handoff_at(1) - autumn.handoff_at(0)) == 7 * 24 + 1


def test_a_hand_off_at_a_time_the_clock_skips_happens_an_hour_later_by_the_new_clock() -> None:
    nightly = rotation("ana", "ben", handoff=time(2, 30), start=date(2026, 3, 7))
    assert wall(nightly.handoff_at(0)) == "2026-03-07 02:30 EST"
    assert wall(nightly.handoff_at(1)) == "2026-03-08 03:30 EDT"
    assert wall(nightly.handoff_at(2)) == "2026-03-09 02:30 EDT"


def test_a_hand_off_at_a_time_the_clock_shows_twice_happens_the_first_time() -> None:
    nightly = rotation("ana", "ben", handoff=time(1, 30), start=date(2026, 10, 31))
    first = nightly.handoff_at(1)
    assert first == local(NOVEMBER_CHANGE, 1, 30, fold=0)
    assert first.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    on_duty = nightly.on_duty(local(NOVEMBER_CHANGE, 1, 45, fold=1))
    assert on_duty is not None
    assert on_duty.subscriber_id == "ben"


def test_hourly_shifts_never_hand_off_backwards_and_the_skipped_hours_shift_has_no_length() -> None:
    hourly = rotation("a", "b", "c", shift=timedelta(hours=1), handoff=time(0, 0), start=MARCH_CHANGE)
    handoffs = [hourly.handoff_at(turn) for turn in range(6)]
    assert handoffs == sorted(handoffs)
    # 00:00, 01:00, then 02:00 (which the clock skips) and 03:00 are one instant.
    assert handoffs[2] == handoffs[3] == local(MARCH_CHANGE, 3)
    assert hourly.on_duty(local(MARCH_CHANGE, 1, 59)) == Duty("b", handoffs[1], handoffs[2])
    # Turn 2 ("c") has no length: at 03:00 EDT it is turn 3's member, "a".
    assert hourly.on_duty(local(MARCH_CHANGE, 3)) == Duty("a", handoffs[3], handoffs[4])


def test_before_the_first_hand_off_nobody_is_on_duty_and_the_first_member_is_next() -> None:
    later = rotation("ana", "ben", start=date(2026, 4, 1))
    assert later.on_duty(local(date(2026, 3, 31), 12)) is None
    assert later.next_on_duty(local(date(2026, 3, 31), 12)) == Duty(
        "ana", local(date(2026, 4, 1), 8), local(date(2026, 4, 2), 8)
    )


def test_members_take_turns_in_order_and_start_again() -> None:
    daily = rotation("ana", "ben", "cy", start=date(2026, 6, 1))
    on_duty = [daily.on_duty(local(date(2026, 6, 1) + timedelta(days=d), 12)) for d in range(5)]
    assert [d.subscriber_id for d in on_duty if d] == ["ana", "ben", "cy", "ana", "ben"]


@settings(max_examples=200, deadline=None)
@given(
    shift_minutes=st.integers(min_value=60, max_value=28 * 24 * 60),
    handoff_minute=st.integers(min_value=0, max_value=24 * 60 - 1),
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    offset_minutes=st.integers(min_value=0, max_value=3 * 366 * 24 * 60),
)
def test_every_instant_after_the_first_hand_off_is_in_exactly_the_shift_its_turn_names(
    shift_minutes: int, handoff_minute: int, start: date, offset_minutes: int
) -> None:
    turns = rotation(
        "a",
        "b",
        "c",
        shift=timedelta(minutes=shift_minutes),
        handoff=time(handoff_minute // 60, handoff_minute % 60),
        start=start,
    )
    at = turns.handoff_at(0) + timedelta(minutes=offset_minutes)
    turn = turns.turn_at(at)
    assert turn is not None
    assert turns.handoff_at(turn) <= at < turns.handoff_at(turn + 1)
    assert turns.handoff_at(turn) <= turns.handoff_at(turn + 1)


# --- overrides -------------------------------------------------------------------------------------


def test_an_override_puts_someone_else_on_duty_for_its_hours_covering_for_the_member_whose_shift_it_is() -> (
    None
):
    cover = Override(local(date(2026, 6, 2), 12), local(date(2026, 6, 2), 18), "dee", "Ben at a hearing")
    daily = rotation("ana", "ben", start=date(2026, 6, 1), overrides=(cover,))
    assert daily.on_duty(local(date(2026, 6, 2), 13)) == Duty("dee", cover.start, cover.end, "ben")
    # Ben's shift is split around it: he hands over at noon and takes back at six.
    assert daily.on_duty(local(date(2026, 6, 2), 9)) == Duty("ben", local(date(2026, 6, 2), 8), cover.start)
    assert daily.next_on_duty(local(date(2026, 6, 2), 9)) == Duty("dee", cover.start, cover.end, "ben")
    assert daily.on_duty(local(date(2026, 6, 2), 19)) == Duty("ben", cover.end, local(date(2026, 6, 3), 8))


def test_an_override_by_the_next_member_joins_their_own_shift_into_one_stretch() -> None:
    cover = Override(local(date(2026, 6, 2), 20), local(date(2026, 6, 3), 8), "ana")
    daily = rotation("ana", "ben", start=date(2026, 6, 1), overrides=(cover,))
    # Ana covers Ben's evening and night, then her own day follows: one stretch for her.
    assert daily.on_duty(local(date(2026, 6, 2), 21)) == Duty(
        "ana", cover.start, local(date(2026, 6, 4), 8), "ben"
    )
    assert daily.next_on_duty(local(date(2026, 6, 2), 9)) == Duty(
        "ana", cover.start, local(date(2026, 6, 4), 8), "ben"
    )


def test_in_a_rotation_of_one_each_shift_keeps_its_bounds_and_the_next_is_the_member_s_next_shift() -> None:
    alone = rotation("ana", start=date(2026, 6, 1))

    assert alone.on_duty(local(date(2026, 6, 2), 12)) == Duty(
        "ana", local(date(2026, 6, 2), 8), local(date(2026, 6, 3), 8)
    )
    assert alone.next_on_duty(local(date(2026, 6, 2), 12)) == Duty(
        "ana", local(date(2026, 6, 3), 8), local(date(2026, 6, 4), 8)
    )


def test_an_override_before_the_rotation_starts_is_who_is_on_duty_then() -> None:
    early = Override(local(date(2026, 5, 31), 8), local(date(2026, 6, 1), 8), "dee")
    later = rotation("ana", "ben", start=date(2026, 6, 1), overrides=(early,))
    assert later.on_duty(local(date(2026, 5, 31), 9)) == Duty("dee", early.start, early.end)
    assert later.next_on_duty(local(date(2026, 5, 30), 9)) == Duty("dee", early.start, early.end)
    assert later.next_on_duty(local(date(2026, 5, 31), 9)) == Duty(
        "ana", local(date(2026, 6, 1), 8), local(date(2026, 6, 2), 8)
    )


# --- who a notice goes to first ---------------------------------------------------------------------


def reviewers(*ids: str, reachable: tuple[str, ...] | None = None) -> dict[str, Subscriber]:
    out = {}
    for sid in ids:
        channel = Channel(ChannelType.EMAIL, f"{sid}@doc.example.gov")
        if reachable is not None and sid not in reachable:
            channel = Channel(ChannelType.EMAIL, f"{sid}@doc.example.gov", verified=False)
        out[sid] = subscriber(
            sid, Role.CORRECTIONS, "us-ct/facility/new-haven-correctional-center", channels=(channel,)
        )
    return out


def as_recipient(s: Subscriber) -> Recipient:
    return Recipient(s.id, s.name, s.role, s.organization, s.ack_required, s.channels, (s.id,))


AT = local(date(2026, 6, 2), 12)  # Ben's day in rotation("ana", "ben", start=1 June)


def test_a_rotation_in_force_holds_back_its_members_who_are_not_on_duty() -> None:
    people = reviewers("ana", "ben", "commissioner")
    roster = Roster.of([rotation("ana", "ben", start=date(2026, 6, 1))], people, at=AT)
    first = rostered([as_recipient(p) for p in people.values()], roster)
    assert [r.subscriber_id for r in first] == ["ben", "commissioner"]
    assert roster.next_on_duty() == ("ana",)
    assert roster.everyone() == ("ana", "ben")


def test_the_one_on_duty_hears_first_even_when_their_subscriptions_do_not_reach_the_notice() -> None:
    people = reviewers("ana", "ben")
    roster = Roster.of([rotation("ana", "ben", start=date(2026, 6, 1))], people, at=AT)
    first = rostered([as_recipient(people["ana"])], roster)
    assert [(r.subscriber_id, r.via) for r in first] == [
        ("ben", ("us-ct/facility/new-haven-correctional-center",))
    ]


def test_a_rotation_whose_one_on_duty_cannot_be_reached_steps_aside() -> None:
    people = reviewers("ana", "ben", reachable=("ana",))
    duty = watch(rotation("ana", "ben", start=date(2026, 6, 1)), people, at=AT)
    assert duty.duty is not None
    assert (duty.duty.subscriber_id, duty.duty_reachable, duty.in_force) == ("ben", False, False)
    roster = Roster((duty,), people)
    assert [r.subscriber_id for r in rostered([as_recipient(p) for p in people.values()], roster)] == [
        "ana",
        "ben",
    ]
    # An on-duty step then reaches everyone in the rotation.
    assert roster.on_duty() == ("ana", "ben")
    assert duty.log_json()["on_duty"] == "ben"
    assert duty.log_json()["in_force"] is False


def test_a_rotation_that_has_not_started_changes_nobody_s_notices() -> None:
    people = reviewers("ana", "ben")
    roster = Roster.of([rotation("ana", "ben", start=date(2026, 7, 1))], people, at=AT)
    assert roster.held_back() == frozenset()
    assert roster.next_on_duty() == ("ana",)
