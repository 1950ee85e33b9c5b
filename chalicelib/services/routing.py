"""Fan a notice out: one delivery per recipient and channel, written and enqueued in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.deliveries import Delivery, send_messages
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.policies import policy_for
from chalicelib.domain.rotations import rostered
from chalicelib.domain.routing import coverage_gaps, plan_deliveries, reach, recipients_for
from chalicelib.ports import (
    AckLog,
    NoticeStore,
    PolicyStore,
    RotationStore,
    SubscriberStore,
    SubscriptionIndex,
    WorkQueue,
)
from chalicelib.services.rotations import roster

logger = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Routed:
    notice_id: str
    recipients: int
    deliveries: int
    coverage_gaps: tuple[str, ...]


def dispatch(deliveries: Sequence[Delivery], *, send_queue: WorkQueue) -> None:
    """Enqueue the planned deliveries, each carried whole by its message: the send step's claim
    creates each row, so nothing is written here, and enqueuing a delivery again is harmless (its
    claim is refused once it is sent or being sent)."""
    send_queue.send_many(send_messages(deliveries))


def route(
    notice_id: str,
    *,
    notices: NoticeStore,
    index: SubscriptionIndex,
    send_queue: WorkQueue,
    registry: JurisdictionRegistry,
    policies: PolicyStore,
    ack_log: AckLog,
    rotations: RotationStore,
    subscribers: SubscriberStore,
    now: datetime,
) -> Routed:
    """Safe to run twice for the same notice: nothing is created or sent a second time (a hand-off
    between the two runs adds the new person on duty).

    Where a rotation of the notice's place or a place above it is in force, its members hear first
    only through whoever is on duty (``rotations.rostered``), whom the log names."""
    notice = notices.get(notice_id)
    policy = policy_for(policies.get(notice.type), low_key=notice.low_key)
    on_duty = roster(
        notice.jurisdiction_id, rotations=rotations, subscribers=subscribers, registry=registry, now=now
    )
    recipients = rostered(
        recipients_for(index.covering(reach(registry, notice.jurisdiction_id, notice.type))), on_duty
    )
    gaps = tuple(str(g) for g in coverage_gaps(policy.required_roles, recipients))
    planned = plan_deliveries(notice, recipients, step=0, now=now)
    dispatch(planned, send_queue=send_queue)
    following = policy.next_step(after_step=0, received_at=notice.received_at, deadline=notice.deadline)
    # The log decides whether "routed" is written (not routed_at): a retry after a failed append
    # must still write it, and a retry after a written one must not write it twice.
    if not any(e.kind is EntryKind.ROUTED for e in ack_log.entries(notice.id)):
        ack_log.append(
            notice.id,
            EntryKind.ROUTED,
            at=now,
            actor="system",
            data={
                "recipients": len(recipients),
                "deliveries": len(planned),
                "roles": sorted({str(r.role) for r in recipients}),
                "coverage_gaps": list(gaps),
                "next_step_at": following[1].isoformat() if following else None,
                # Only where a rotation applies: other notices' entries hold no on_duty.
                **({"on_duty": on_duty.log_json()} if on_duty.watches else {}),
            },
        )
    notices.save_routing(
        notice.routed(
            recipients=len(recipients),
            coverage_gaps=gaps,
            now=now,
            next_step_at=following[1] if following else None,
        )
    )
    logger.info(
        "notice.routed",
        notice_id=notice.id,
        recipients=len(recipients),
        deliveries=len(planned),
        coverage_gaps=list(gaps),
    )
    return Routed(notice.id, len(recipients), len(planned), gaps)
