"""Duty rotations: which of a role's people at a place is on duty at an instant.

A rotation names its members in order, the length of a shift, the hand-off time on New York's
clock and the date of the first hand-off. Shift ``k`` starts at the first hand-off plus ``k`` shift
lengths **on the wall clock** and belongs to ``members[k % len(members)]``: a daily 08:00 hand-off
is at 08:00 in winter and in summer, and so is a 24-hour shift (``PT24H`` and ``P1D`` are the same
rotation). The people on duty live by the clock on the wall, so the shift that spans a change of
the clocks is an hour shorter (the second Sunday of March) or an hour longer (the first Sunday of
November). A hand-off at a time the clock skips (02:00-02:59 on the March day) happens when the
clock would have shown it before the change, an hour later by the new one; one at a time the clock
shows twice (01:00-01:59 on the November day) happens the first time. Shifts are at least an hour
long, so hand-offs never go backwards: at most a one-hour shift in the skipped hour has no length,
and its member's turn passes.

An override puts someone else on duty from one instant to another (someone covering for someone);
overrides never overlap. Who is on duty is the override in force, else the member whose shift it
is; nobody is before the first hand-off.

A rotation applies to notices for its place and for every place inside it (a rotation of a
facility's reviewers to that facility's detainers; one at the state to every notice in it). The
clock is always passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.policies import format_duration
from chalicelib.domain.routing import Recipient
from chalicelib.domain.subscribers import Role, Subscriber

ZONE_NAME = "America/New_York"
ZONE = ZoneInfo(ZONE_NAME)
# Shorter shifts than an hour would let two hand-offs fall on one instant, or reorder them, at
# the spring change; longer than four weeks is not a rotation anyone keeps.
SHORTEST_SHIFT = timedelta(hours=1)
LONGEST_SHIFT = timedelta(days=28)
MAX_MEMBERS = 50
MAX_OVERRIDES = 100
# A stretch of one person is found by stepping over the periods around it; only overrides join
# periods, so no stretch has more steps than this.
_MAX_STEPS = 2 * MAX_OVERRIDES + 2


def rotation_id_for(jurisdiction_id: str, role: Role) -> str:
    """One rotation per role and place: its id is theirs, so a second one is a conflict."""
    return "rot_" + hashlib.sha256(f"{jurisdiction_id}#{role}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Override:
    """``subscriber_id`` is on duty from ``start`` until ``end`` (aware instants) instead."""

    start: datetime
    end: datetime
    subscriber_id: str
    note: str = ""

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.astimezone(UTC).isoformat(),
            "end": self.end.astimezone(UTC).isoformat(),
            "subscriber_id": self.subscriber_id,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Duty:
    """``subscriber_id`` is on duty from ``start`` until ``end``; ``covering_for`` names the member
    whose shift it is when an override put someone else on duty."""

    subscriber_id: str
    start: datetime
    end: datetime
    covering_for: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "subscriber_id": self.subscriber_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "covering_for": self.covering_for,
        }


@dataclass(frozen=True, slots=True)
class Rotation:
    id: str
    jurisdiction_id: str
    role: Role
    members: tuple[str, ...]
    shift: timedelta
    handoff: time  # on New York's wall clock
    start: date  # the day of the first hand-off
    overrides: tuple[Override, ...] = ()
    name: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def handoff_at(self, turn: int) -> datetime:
        """When shift ``turn`` starts (UTC): the first hand-off plus ``turn`` shifts on the wall clock."""
        wall = datetime.combine(self.start, self.handoff) + turn * self.shift
        # fold=0: the first of a time shown twice; a skipped time read with the offset before the jump.
        return wall.replace(tzinfo=ZONE).astimezone(UTC)

    def turn_at(self, at: datetime) -> int | None:
        """The shift ``at`` falls in; None before the first hand-off."""
        at = at.astimezone(UTC)
        if at < self.handoff_at(0):
            return None
        # The wall clock's reading gives the turn to within one; the instants of the hand-offs decide.
        wall = at.astimezone(ZONE).replace(tzinfo=None)
        turn = max(0, (wall - datetime.combine(self.start, self.handoff)) // self.shift)
        while self.handoff_at(turn + 1) <= at:
            turn += 1
        while turn > 0 and self.handoff_at(turn) > at:
            turn -= 1
        return turn

    def member_of_turn(self, turn: int) -> str:
        return self.members[turn % len(self.members)]

    def scheduled(self, at: datetime) -> Duty | None:
        """The member whose shift it is at ``at``, with the shift's bounds, overrides aside."""
        turn = self.turn_at(at)
        if turn is None:
            return None
        return Duty(self.member_of_turn(turn), self.handoff_at(turn), self.handoff_at(turn + 1))

    def on_duty(self, at: datetime) -> Duty | None:
        """Who is on duty at ``at``, from when until when; None when nobody is (before the first
        hand-off). The bounds are the shift's, cut by overrides; where an override joins a person's
        time to their own shift (or to another override of theirs), the stretch is one."""
        found = self._period(at)
        if found is None:
            return None
        period, by_override = found
        end, last = period.end, by_override
        for _ in range(_MAX_STEPS):
            following = self._period(end)
            if following is None or not _joins(period.subscriber_id, last, following):
                break
            end, last = following[0].end, following[1]
        start, first = period.start, by_override
        for _ in range(_MAX_STEPS):
            before = self._period(start - timedelta(microseconds=1))
            if before is None or not _joins(period.subscriber_id, first, before):
                break
            start, first = before[0].start, before[1]
        return replace(period, start=start, end=end)

    def next_on_duty(self, at: datetime) -> Duty | None:
        """Who takes over from whoever is on duty at ``at`` (or, before the rotation starts, who is on
        duty first), with their stretch. In a rotation of one, that is the same member's next shift."""
        current = self.on_duty(at)
        if current is not None:
            return self.on_duty(current.end)
        starts = [self.handoff_at(0), *(o.start for o in self.overrides if o.start > at)]
        return self.on_duty(min(starts))

    def _period(self, at: datetime) -> tuple[Duty, bool] | None:
        """The person on duty at ``at`` between the nearest hand-offs and override bounds around it,
        and whether an override puts them there."""
        at = at.astimezone(UTC)
        shift = self.scheduled(at)
        override = next((o for o in self.overrides if o.holds(at)), None)
        if override is not None:
            scheduled_member = shift.subscriber_id if shift else None
            covering = scheduled_member if scheduled_member != override.subscriber_id else None
            start, end = override.start.astimezone(UTC), override.end.astimezone(UTC)
            return Duty(override.subscriber_id, start, end, covering), True
        if shift is None:
            return None
        ended = [o.end.astimezone(UTC) for o in self.overrides if shift.start < o.end <= at]
        starting = [o.start.astimezone(UTC) for o in self.overrides if at < o.start < shift.end]
        return replace(shift, start=max([shift.start, *ended]), end=min([shift.end, *starting])), False

    def involved(self) -> tuple[str, ...]:
        """Everyone the rotation names: its members, then whoever its overrides put on duty."""
        return tuple(dict.fromkeys((*self.members, *(o.subscriber_id for o in self.overrides))))

    def as_json(self) -> dict[str, Any]:
        """The rotation as the API and the audit trail show it (on duty aside: that depends on when)."""
        return {
            "id": self.id,
            "name": self.name,
            "jurisdiction_id": self.jurisdiction_id,
            "role": str(self.role),
            "members": list(self.members),
            "shift": format_duration(self.shift),
            "handoff": self.handoff.strftime("%H:%M"),
            "time_zone": ZONE_NAME,
            "start": self.start.isoformat(),
            "overrides": [o.as_json() for o in self.overrides],
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def _joins(subscriber_id: str, by_override: bool, neighbour: tuple[Duty, bool]) -> bool:
    """Whether a neighbouring period continues a person's stretch: the same person, and an override
    on one side (two shifts of one member follow each other only in a rotation of one, and stay two
    shifts)."""
    return neighbour[0].subscriber_id == subscriber_id and (by_override or neighbour[1])


def overlapping(overrides: Sequence[Override]) -> list[tuple[int, int]]:
    """Pairs of positions of overrides whose times overlap (each pair once, in list order)."""
    return [
        (i, j)
        for i, a in enumerate(overrides)
        for j, b in enumerate(overrides)
        if i < j and a.start < b.end and b.start < a.end
    ]


def applies(rotation: Rotation, places_of_notice: Iterable[str]) -> bool:
    """Whether the rotation is the duty roster for a notice: its place is the notice's place or one
    of the places above it (``places_of_notice``: the notice's place and its ancestors)."""
    return rotation.jurisdiction_id in set(places_of_notice)


def reachable(subscriber: Subscriber | None) -> bool:
    """Whether anything sent to the subscriber reaches them: a confirmed, active channel."""
    return subscriber is not None and any(c.active for c in subscriber.channels)


@dataclass(frozen=True, slots=True)
class Watch:
    """One rotation at one instant: who is on duty, who comes next, and whether the one on duty
    can be reached (a rotation that cannot tell its duty person steps aside: see ``in_force``)."""

    rotation: Rotation
    duty: Duty | None
    following: Duty | None
    duty_reachable: bool

    @property
    def in_force(self) -> bool:
        """Whether it narrows who hears of a notice: somebody is on duty and can be reached."""
        return self.duty is not None and self.duty_reachable

    def log_json(self) -> dict[str, Any]:
        """What the acknowledgment log keeps of it: who is on duty then, never anyone's channels."""
        return {
            "rotation_id": self.rotation.id,
            "jurisdiction_id": self.rotation.jurisdiction_id,
            "role": str(self.rotation.role),
            "on_duty": self.duty.subscriber_id if self.duty else None,
            "covering_for": self.duty.covering_for if self.duty else None,
            "shift_start": self.duty.start.isoformat() if self.duty else None,
            "shift_end": self.duty.end.isoformat() if self.duty else None,
            "reachable": self.duty_reachable,
            "in_force": self.in_force,
        }


def watch(rotation: Rotation, subscribers: Mapping[str, Subscriber], *, at: datetime) -> Watch:
    duty = rotation.on_duty(at)
    return Watch(
        rotation,
        duty,
        rotation.next_on_duty(at),
        duty is not None and reachable(subscribers.get(duty.subscriber_id)),
    )


@dataclass(frozen=True, slots=True)
class Roster:
    """The rotations that apply to a notice, as they stand at one instant, and the subscribers they
    name (``people``: those the store still has)."""

    watches: tuple[Watch, ...] = ()
    people: Mapping[str, Subscriber] = field(default_factory=dict)

    @classmethod
    def of(cls, rotations: Iterable[Rotation], people: Mapping[str, Subscriber], *, at: datetime) -> Roster:
        return cls(tuple(watch(r, people, at=at) for r in rotations), people)

    def held_back(self) -> frozenset[str]:
        """Members of rotations in force who are not on duty in any of them: they hear of the notice
        when a step names them (``next-on-duty``, ``rotation``), not at first."""
        in_force = [w for w in self.watches if w.in_force]
        return frozenset(m for w in in_force for m in w.rotation.members) - set(self.in_force())

    def in_force(self) -> tuple[str, ...]:
        """Whoever is on duty, and reachable, in some rotation, once each."""
        return tuple(dict.fromkeys(w.duty.subscriber_id for w in self.watches if w.in_force and w.duty))

    def on_duty(self) -> tuple[str, ...]:
        """Who an ``on-duty`` step reaches: the one on duty in each rotation in force, and every member
        of a rotation that cannot tell its duty person (nobody on duty, or unreachable)."""
        return tuple(
            dict.fromkeys(
                s
                for w in self.watches
                for s in ((w.duty.subscriber_id,) if w.in_force and w.duty else w.rotation.members)
            )
        )

    def next_on_duty(self) -> tuple[str, ...]:
        """Who takes over next in each rotation."""
        return tuple(dict.fromkeys(w.following.subscriber_id for w in self.watches if w.following))

    def everyone(self) -> tuple[str, ...]:
        """Every member of every rotation, and whoever an override puts on duty."""
        return tuple(
            dict.fromkeys(
                s
                for w in self.watches
                for s in (*w.rotation.members, *((w.duty.subscriber_id,) if w.duty else ()))
            )
        )

    def log_json(self) -> list[dict[str, Any]]:
        return [w.log_json() for w in self.watches]


def recipient_of(subscriber: Subscriber, via: tuple[str, ...]) -> Recipient:
    return Recipient(
        subscriber_id=subscriber.id,
        name=subscriber.name,
        role=subscriber.role,
        organization=subscriber.organization,
        ack_required=subscriber.ack_required,
        channels=subscriber.channels,
        via=via,
    )


def rostered(recipients: Sequence[Recipient], roster: Roster) -> list[Recipient]:
    """Who a notice goes to first: its recipients, less the members of rotations in force who are
    not on duty, plus whoever is on duty that its subscriptions do not reach (the admin put them
    on duty there). A rotation not in force changes nothing: its members hear as they subscribed."""
    held = roster.held_back()
    kept = [r for r in recipients if r.subscriber_id not in held]
    present = {r.subscriber_id for r in kept}
    vias = {w.duty.subscriber_id: (w.rotation.jurisdiction_id,) for w in roster.watches if w.duty}
    added = [
        recipient_of(roster.people[s], vias.get(s, ()))
        for s in roster.in_force()
        if s not in present and s in roster.people
    ]
    return sorted([*kept, *added], key=lambda r: r.subscriber_id)


def audience(ids: Iterable[str], roster: Roster) -> list[Recipient]:
    """The named people as recipients (those the store still has), each reached via their rotation's place."""
    places: dict[str, tuple[str, ...]] = {}
    for w in roster.watches:
        for s in (*w.rotation.involved(), *((w.following.subscriber_id,) if w.following else ())):
            places.setdefault(s, (w.rotation.jurisdiction_id,))
    return sorted(
        (recipient_of(roster.people[s], places.get(s, ())) for s in dict.fromkeys(ids) if s in roster.people),
        key=lambda r: r.subscriber_id,
    )
