"""Escalation policies: which roles must acknowledge a notice, and what happens when nobody does."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.subscribers import EventType, Role


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    event_type: EventType
    # A notice counts as acknowledged once one recipient of each of these roles has acknowledged.
    required_roles: tuple[Role, ...]


# The story's lesson: a statewide rollout must reach the governor's office, and a detainer the
# people who review it; without one of them subscribed, the notice has a coverage gap.
DEFAULT_POLICIES: dict[EventType, EscalationPolicy] = {
    EventType.ROLLOUT: EscalationPolicy(EventType.ROLLOUT, (Role.STATE_EXECUTIVE,)),
    EventType.DETAINER: EscalationPolicy(EventType.DETAINER, (Role.CORRECTIONS,)),
}
