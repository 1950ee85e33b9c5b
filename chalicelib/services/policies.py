"""Escalation policies: read the one in force for an event type, or replace it (an audited admin action)."""

from __future__ import annotations

from datetime import datetime

import structlog

from chalicelib.domain.policies import EscalationPolicy
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import AckLog, PolicyStore
from chalicelib.services import audit

logger = structlog.get_logger()


def current(event_type: EventType, *, policies: PolicyStore) -> EscalationPolicy:
    """The stored policy, or the shipped default until one is stored."""
    return policies.get(event_type)


def replace(
    policy: EscalationPolicy, *, policies: PolicyStore, ack_log: AckLog, actor: str, now: datetime
) -> EscalationPolicy:
    """Store ``policy`` in place of the one in force; the audit trail keeps both."""
    before = policies.get(policy.event_type)
    policies.put(policy)
    audit.record(
        ack_log,
        actor=actor,
        action="policy.replaced",
        target=str(policy.event_type),
        before=before.as_json(),
        after=policy.as_json(),
        now=now,
    )
    logger.info("policy.replaced", event_type=str(policy.event_type), steps=len(policy.steps))
    return policy
