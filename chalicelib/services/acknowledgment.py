"""Record that a recipient has seen a notice, and whether that makes the notice acknowledged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.acknowledgments import Acknowledgment, AckOutcome, AckVia
from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.errors import NotFound
from chalicelib.domain.language import DEFAULT_LANGUAGE, Language
from chalicelib.domain.notices import Notice, NoticeStatus
from chalicelib.domain.policies import is_acknowledged
from chalicelib.domain.tokens import AckTarget
from chalicelib.ports import AckLog, DeliveryStore, NoticeStore, PolicyStore

logger = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class AckResult:
    outcome: AckOutcome
    notice: Notice
    delivery: Delivery
    # True when this acknowledgment completed the roles the policy requires.
    notice_acknowledged: bool
    # The recipient's language, for the page that answers a click (services.links sets it).
    language: Language = DEFAULT_LANGUAGE

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "notice_id": self.notice.id,
            "notice_status": str(self.notice.status),
            "subscriber_id": self.delivery.subscriber_id,
            "notice_acknowledged": self.notice_acknowledged,
        }


def find_delivery(
    target: AckTarget, *, notices: NoticeStore, deliveries: DeliveryStore
) -> tuple[Notice, Delivery]:
    """The notice and delivery a token or code stands for; NotFound if either is gone."""
    notice = notices.get(target.notice_id)
    found = deliveries.get_many(target.notice_id, [target.delivery_id])
    if not found:
        raise NotFound("this acknowledgment link does not match any message")
    return notice, found[0]


def acknowledge(
    target: AckTarget,
    *,
    via: AckVia,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    policies: PolicyStore,
    ack_log: AckLog,
    now: datetime,
) -> AckResult:
    """Safe under repeats and concurrency: one acknowledgment per subscriber is stored (conditional
    put), and the notice moves to acknowledged once (conditional update)."""
    notice, delivery = find_delivery(target, notices=notices, deliveries=deliveries)
    late = notice.status is NoticeStatus.CLOSED
    ack = Acknowledgment(
        notice_id=notice.id,
        subscriber_id=delivery.subscriber_id,
        role=delivery.role,
        delivery_id=delivery.delivery_id,
        via=via,
        at=now,
        late=late,
    )
    if not deliveries.record_ack(ack):
        logger.info("acknowledgment.repeated", notice_id=notice.id, subscriber_id=delivery.subscriber_id)
        return AckResult(AckOutcome.ALREADY, notice, delivery, notice_acknowledged=False)
    completed = False
    if notice.status is NoticeStatus.OPEN:
        acked_roles = {a.role for a in deliveries.acknowledgments(notice.id) if not a.late}
        if is_acknowledged(policies.get(notice.type).required_roles, acked_roles):
            completed = notices.mark_acknowledged(notice.id, at=now)
    ack_log.append(
        notice.id,
        EntryKind.ACKNOWLEDGED,
        at=now,
        actor=delivery.subscriber_id,
        data={
            "role": str(delivery.role),
            "via": str(via),
            "delivery_id": delivery.delivery_id,
            "late": late,
            "notice_acknowledged": completed,
        },
    )
    logger.info(
        "acknowledgment.recorded",
        notice_id=notice.id,
        subscriber_id=delivery.subscriber_id,
        role=str(delivery.role),
        via=str(via),
        late=late,
        notice_acknowledged=completed,
    )
    outcome = AckOutcome.LATE if late else AckOutcome.ACKNOWLEDGED
    return AckResult(
        outcome, notices.get(notice.id) if completed else notice, delivery, notice_acknowledged=completed
    )
