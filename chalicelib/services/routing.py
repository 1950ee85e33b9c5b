"""Fan a notice out: one delivery per recipient and channel, written and enqueued in batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from chalicelib.domain.deliveries import send_messages
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.policies import DEFAULT_POLICIES
from chalicelib.domain.routing import coverage_gaps, plan_deliveries, recipients_for
from chalicelib.ports import DeliveryStore, NoticeStore, SubscriptionIndex, WorkQueue

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Routed:
    notice_id: str
    recipients: int
    deliveries: int
    new_deliveries: int
    coverage_gaps: tuple[str, ...]


def route(
    notice_id: str,
    *,
    notices: NoticeStore,
    index: SubscriptionIndex,
    deliveries: DeliveryStore,
    send_queue: WorkQueue,
    registry: JurisdictionRegistry,
    now: datetime,
) -> Routed:
    """Safe to run twice for the same notice: deliveries are created only if absent, and the
    deliver step claims each one before sending, so re-enqueued work sends nothing new."""
    notice = notices.get(notice_id)
    ancestors = [j.id for j in registry.ancestors(notice.jurisdiction_id)]
    recipients = recipients_for(index.covering(ancestors, notice.type))
    gaps = tuple(str(g) for g in coverage_gaps(DEFAULT_POLICIES[notice.type].required_roles, recipients))
    planned = plan_deliveries(notice, recipients, step=0, now=now)
    created = deliveries.add_new(planned)
    send_queue.send_many(send_messages(planned))
    notices.save_routing(notice.routed(recipients=len(recipients), coverage_gaps=gaps, now=now))
    log.info(
        "notice.routed",
        notice_id=notice.id,
        recipients=len(recipients),
        deliveries=len(planned),
        new_deliveries=created,
        coverage_gaps=list(gaps),
    )
    return Routed(notice.id, len(recipients), len(planned), created, gaps)
