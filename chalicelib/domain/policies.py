"""Escalation policies: which roles must acknowledge a notice, and what happens when nobody does."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain.subscribers import ChannelType, EventType, Role


class Audience(StrEnum):
    RECIPIENTS = "recipients"  # everyone the notice was routed to (step 0)
    UNACKNOWLEDGED = "unacknowledged"  # recipients who must acknowledge and have not, again
    ESCALATION_CONTACTS = "escalation-contacts"  # escalation contacts of the parent jurisdictions
    ADMINS = "admins"
    # Duty rotations of the notice's place and the places above it (domain/rotations.py):
    ON_DUTY = "on-duty"  # whoever is on duty when the step is performed
    NEXT_ON_DUTY = "next-on-duty"  # whoever takes over from them
    ROTATION = "rotation"  # everyone in the rotation


ALL_CHANNELS = (ChannelType.EMAIL, ChannelType.SMS, ChannelType.WEBHOOK, ChannelType.SLACK, ChannelType.TEAMS)

# Each part at most 9 digits: a duration is checked against limits of days, and a number of
# hours with hundreds of digits would overflow timedelta before any limit could be applied.
_DURATION = re.compile(r"^P(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$")
# Beyond timedelta's range (999,999,999 days): refused as a value, never an overflow.
_LONGEST = timedelta(days=999_999_999)


def parse_duration(text: str) -> timedelta:
    """ISO 8601 durations of days, hours, minutes and seconds (PT30M, P1DT2H, PT0S)."""
    match = _DURATION.match(text)
    if not match or text in {"P", "PT"} or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT30M or P1DT2H")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total_seconds = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total_seconds > _LONGEST.total_seconds():
        raise ValueError(f"{text!r} is longer than any duration Vigil keeps")
    return timedelta(seconds=total_seconds)


def format_duration(value: timedelta) -> str:
    total = int(value.total_seconds())
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return f"P{f'{days}D' if days else ''}{'T' + time if time else ('' if days else 'T0S')}"


@dataclass(frozen=True, slots=True)
class Step:
    notify: Audience
    # Exactly one of the two: a delay from receipt, or a lead time before the legal deadline.
    after: timedelta | None = None
    before_deadline: timedelta | None = None
    channels: tuple[ChannelType, ...] = ALL_CHANNELS

    def due_at(self, *, received_at: datetime, deadline: datetime | None) -> datetime | None:
        """When this step falls due; None for a deadline step of a notice without a deadline."""
        # In UTC: arithmetic on New York wall-clock times is an hour off across a clock change.
        if self.after is not None:
            return received_at.astimezone(UTC) + self.after
        if deadline is None or self.before_deadline is None:
            return None
        # A deadline nearer than the lead time makes the step due at once.
        return max(deadline.astimezone(UTC) - self.before_deadline, received_at.astimezone(UTC))

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"notify": str(self.notify), "channels": [str(c) for c in self.channels]}
        if self.after is not None:
            out["after"] = format_duration(self.after)
        if self.before_deadline is not None:
            out["before_deadline"] = format_duration(self.before_deadline)
        return out


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    event_type: EventType
    # A notice counts as acknowledged once one recipient of each of these roles has acknowledged.
    required_roles: tuple[Role, ...]
    steps: tuple[Step, ...]

    def next_step(
        self, *, after_step: int, received_at: datetime, deadline: datetime | None
    ) -> tuple[int, datetime] | None:
        """The first step after ``after_step`` that can fall due, with when; None when none is left."""
        for index in range(after_step + 1, len(self.steps)):
            due = self.steps[index].due_at(received_at=received_at, deadline=deadline)
            if due is not None:
                return index, due
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "event_type": str(self.event_type),
            "required_roles": [str(r) for r in self.required_roles],
            "steps": [s.as_json() for s in self.steps],
        }


def is_acknowledged(required_roles: tuple[Role, ...], acknowledged_roles: set[Role]) -> bool:
    """Acknowledged means accountable: a clerk's click does not close what the executive never saw."""
    return all(role in acknowledged_roles for role in required_roles)


# The story's lesson: a statewide rollout must reach the governor's office within minutes, and a
# detainer the people who review it, well before the hold runs out.
DEFAULT_POLICIES: dict[EventType, EscalationPolicy] = {
    EventType.ROLLOUT: EscalationPolicy(
        EventType.ROLLOUT,
        (Role.STATE_EXECUTIVE,),
        (
            Step(Audience.RECIPIENTS, after=timedelta(0)),
            Step(Audience.UNACKNOWLEDGED, after=timedelta(minutes=15)),
            Step(Audience.ESCALATION_CONTACTS, after=timedelta(hours=1)),
            Step(Audience.ADMINS, after=timedelta(hours=2)),
        ),
    ),
    EventType.DETAINER: EscalationPolicy(
        EventType.DETAINER,
        (Role.CORRECTIONS,),
        (
            Step(Audience.RECIPIENTS, after=timedelta(0)),
            Step(Audience.UNACKNOWLEDGED, after=timedelta(minutes=30)),
            Step(Audience.ESCALATION_CONTACTS, before_deadline=timedelta(hours=12)),
            Step(Audience.ADMINS, before_deadline=timedelta(hours=4)),
        ),
    ),
}


# A notice that reached nobody accountable (a "low-key" email to lower-level staff) escalates this
# many times faster than its policy says: the story's failure is exactly such a notice.
LOW_KEY_HASTE = 3


def hastened(policy: EscalationPolicy, factor: int = LOW_KEY_HASTE) -> EscalationPolicy:
    """The same steps, due ``factor`` times sooner (lead times before a deadline are kept)."""
    return replace(
        policy,
        steps=tuple(replace(s, after=s.after / factor) if s.after is not None else s for s in policy.steps),
    )


def policy_for(policy: EscalationPolicy, *, low_key: bool) -> EscalationPolicy:
    return hastened(policy) if low_key else policy
