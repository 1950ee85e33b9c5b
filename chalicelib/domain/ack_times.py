"""Acknowledgment times: minutes from a notice's receipt to each acknowledgment, by role and by place,
over the most recent notices and week by week, and how often a notice climbed to the last step of its
escalation policy.

Weeks start on Monday at midnight in America/New_York, the service's own zone; a notice and its
acknowledgments count in the week the notice was received. Acknowledgments recorded after a notice
was closed (late ones) count for nothing.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.acknowledgments import Acknowledgment
from chalicelib.domain.notices import Notice
from chalicelib.domain.policies import EscalationPolicy, policy_for
from chalicelib.domain.subscribers import Role

NEW_YORK = ZoneInfo("America/New_York")
# The weekly series: this week (so far) and the eleven before it.
WEEKS = 12


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """One notice with the acknowledgments recorded for it."""

    notice: Notice
    acks: tuple[Acknowledgment, ...]

    def counted(self) -> list[Acknowledgment]:
        return [a for a in self.acks if not a.late]


def minutes_to(notice: Notice, ack: Acknowledgment) -> float:
    return (ack.at - notice.received_at).total_seconds() / 60


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank value at ``share`` (0.9: nine in ten are at or below it), to a tenth."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return round(ordered[index], 1)


@dataclass(frozen=True, slots=True)
class Times:
    """How many acknowledgments, and the median and 90th percentile of their minutes (None: none)."""

    count: int
    median_minutes: float | None
    p90_minutes: float | None

    @classmethod
    def of(cls, minutes: Sequence[float]) -> Times:
        if not minutes:
            return cls(0, None, None)
        return cls(len(minutes), round(statistics.median(minutes), 1), percentile(minutes, 0.9))

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "median_minutes": self.median_minutes, "p90_minutes": self.p90_minutes}


def by_role_and_place(read: Iterable[Acknowledged]) -> tuple[dict[str, Times], dict[str, Times]]:
    """Minutes to acknowledge by role and by the notice's place, over every notice given."""
    roles: dict[str, list[float]] = defaultdict(list)
    places: dict[str, list[float]] = defaultdict(list)
    for item in read:
        for ack in item.counted():
            minutes = minutes_to(item.notice, ack)
            roles[str(ack.role)].append(minutes)
            places[item.notice.jurisdiction_id].append(minutes)
    return (
        {role: Times.of(m) for role, m in sorted(roles.items())},
        {place: Times.of(m) for place, m in sorted(places.items())},
    )


# ---------------------------------------------------------------------------------------------- weeks


def week_of(moment: datetime) -> date:
    """The Monday (New York's calendar) of the week ``moment`` falls in."""
    local = moment.astimezone(NEW_YORK).date()
    return local - timedelta(days=local.weekday())


def last_weeks(now: datetime, count: int = WEEKS) -> tuple[date, ...]:
    """The Mondays of the ``count`` weeks ending with ``now``'s, oldest first."""
    this_week = week_of(now)
    return tuple(this_week - timedelta(weeks=count - 1 - i) for i in range(count))


def week_begins(monday: date) -> datetime:
    """Midnight in New York starting that day, in UTC (clocks change at 2 a.m., never at midnight)."""
    return datetime.combine(monday, time(), tzinfo=NEW_YORK).astimezone(UTC)


def last_step(policy: EscalationPolicy, notice: Notice) -> tuple[int, datetime] | None:
    """The last step of the notice's policy that can fall due for it, and when it falls due; None when
    nothing follows the first fan-out (a detainer's deadline steps without a deadline fall due never).
    A low-key notice follows its policy hastened, as the sweep does."""
    steps = policy_for(policy, low_key=notice.low_key).steps
    for index in range(len(steps) - 1, 0, -1):
        due = steps[index].due_at(received_at=notice.received_at, deadline=notice.deadline)
        if due is not None:
            return index, due
    return None


def reached_last_step(policy: EscalationPolicy, notice: Notice) -> bool:
    last = last_step(policy, notice)
    return last is not None and notice.step >= last[0]


def left_to_last_step(policy: EscalationPolicy, item: Acknowledged, role: Role) -> bool:
    """The notice reached its last step, and ``role`` had not acknowledged it when that step fell due."""
    last = last_step(policy, item.notice)
    if last is None or item.notice.step < last[0]:
        return False
    return not any(a.role == role and a.at < last[1] for a in item.counted())


@dataclass(slots=True)
class _Tally:
    minutes: list[float] = field(default_factory=list)
    notices: int = 0
    reached_last_step: int = 0


@dataclass(frozen=True, slots=True)
class Week:
    """One week's figures: acknowledgment times, and of ``notices`` how many reached the last step."""

    start: date
    times: Times
    notices: int
    reached_last_step: int

    @property
    def share_reached_last_step(self) -> float | None:
        return round(self.reached_last_step / self.notices, 4) if self.notices else None

    def as_json(self) -> dict[str, Any]:
        return {
            "week": self.start.isoformat(),
            "notices": self.notices,
            "reached_last_step": self.reached_last_step,
            "share_reached_last_step": self.share_reached_last_step,
            **self.times.as_json(),
        }


def _week(start: date, tally: _Tally | None) -> Week:
    tally = tally or _Tally()
    return Week(start, Times.of(tally.minutes), tally.notices, tally.reached_last_step)


@dataclass(frozen=True, slots=True)
class WeeklySeries:
    """The weeks, oldest first: every week for all notices together; for each role and each place, the
    weeks in which it had something to count (a notice or an acknowledgment)."""

    weeks: tuple[date, ...]
    required_roles: tuple[Role, ...]
    overall: tuple[Week, ...]
    by_role: dict[str, tuple[Week, ...]]
    by_place: dict[str, tuple[Week, ...]]

    def as_json(self, names: Mapping[str, str]) -> dict[str, Any]:
        return {
            "time_zone": str(NEW_YORK),
            "weeks": [w.isoformat() for w in self.weeks],
            "required_roles": [str(r) for r in self.required_roles],
            "all": [w.as_json() for w in self.overall],
            "by_role": [
                {"role": role, "weeks": [w.as_json() for w in weeks]} for role, weeks in self.by_role.items()
            ],
            "by_jurisdiction": [
                {
                    "jurisdiction_id": place,
                    "name": names.get(place, place),
                    "weeks": [w.as_json() for w in weeks],
                }
                for place, weeks in self.by_place.items()
            ],
        }


def weekly_series(
    read: Iterable[Acknowledged], *, policy: EscalationPolicy, weeks: Sequence[date]
) -> WeeklySeries:
    """Week by week, by the week each notice was received (notices outside ``weeks`` are left out).

    For all notices together and for each place, the share is of the week's notices that reached
    their last step. For a role the policy requires, it is of the week's notices that reached their
    last step before that role acknowledged: which role let them climb. A role the policy does not
    require has no share (its notices count 0). Notices never routed (held in triage) count nowhere.
    """
    wanted = set(weeks)
    required = set(policy.required_roles)
    overall: dict[date, _Tally] = defaultdict(_Tally)
    roles: dict[str, dict[date, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    places: dict[str, dict[date, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    for item in read:
        notice = item.notice
        week = week_of(notice.received_at)
        if week not in wanted or notice.routed_at is None:
            continue
        reached = reached_last_step(policy, notice)
        for tally in (overall[week], places[notice.jurisdiction_id][week]):
            tally.notices += 1
            tally.reached_last_step += reached
        for role in sorted(required):
            tally = roles[str(role)][week]
            tally.notices += 1
            tally.reached_last_step += left_to_last_step(policy, item, role)
        for ack in item.counted():
            minutes = minutes_to(notice, ack)
            for tally in (overall[week], roles[str(ack.role)][week], places[notice.jurisdiction_id][week]):
                tally.minutes.append(minutes)

    def sparse(tallies: Mapping[date, _Tally]) -> tuple[Week, ...]:
        return tuple(_week(w, tallies[w]) for w in weeks if w in tallies)

    return WeeklySeries(
        weeks=tuple(weeks),
        required_roles=policy.required_roles,
        overall=tuple(_week(w, overall.get(w)) for w in weeks),
        by_role={role: sparse(tallies) for role, tallies in sorted(roles.items())},
        by_place={place: sparse(tallies) for place, tallies in sorted(places.items())},
    )
