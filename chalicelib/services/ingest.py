"""Accept an event: store it as a notice (once per idempotency key) and hand it to routing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from chalicelib.domain.auth import Caller
from chalicelib.domain.errors import Conflict
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice, NoticeStatus, fingerprint, notice_id_for
from chalicelib.domain.policies import DEFAULT_POLICIES
from chalicelib.domain.routing import coverage_gaps, recipients_for
from chalicelib.ports import NoticeExists, NoticeStore, SubscriptionIndex, WorkQueue
from chalicelib.schemas.events import SubmittedEvent

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Accepted:
    notice: Notice
    duplicate: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "notice_id": self.notice.id,
            "duplicate": self.duplicate,
            "status": str(self.notice.status),
            "recipients": self.notice.recipients,
            "coverage_gaps": list(self.notice.coverage_gaps),
        }


def accept(
    submitted: SubmittedEvent,
    *,
    caller: Caller,
    notices: NoticeStore,
    index: SubscriptionIndex,
    registry: JurisdictionRegistry,
    route_queue: WorkQueue,
    now: datetime,
) -> Accepted:
    notice_id = notice_id_for(submitted.type, submitted.idempotency_key)
    # Recipients and gaps are previewed here so the source learns at once whether anyone
    # accountable will hear of it; the route step re-reads the index when it fans out.
    ancestors = [j.id for j in registry.ancestors(submitted.jurisdiction_id)]
    recipients = recipients_for(index.covering(ancestors, submitted.type))
    gaps = coverage_gaps(DEFAULT_POLICIES[submitted.type].required_roles, recipients)
    notice = Notice(
        id=notice_id,
        type=submitted.type,
        status=NoticeStatus.OPEN,
        idempotency_key=submitted.idempotency_key,
        fingerprint=fingerprint(submitted.event),
        jurisdiction_id=submitted.jurisdiction_id,
        title=submitted.title,
        received_at=now,
        event=submitted.event,
        submitted_by=caller.key_id,
        recipients=len(recipients),
        coverage_gaps=tuple(str(g) for g in gaps),
    )
    try:
        notices.add(notice)
    except NoticeExists as exists:
        existing = exists.existing
        if existing.fingerprint != notice.fingerprint:
            raise Conflict(
                f"idempotency key {submitted.idempotency_key!r} was already used for a different event"
            ) from None
        if existing.routed_at is None:
            # The first attempt stored the notice but may not have reached the queue: hand it on again.
            route_queue.send_many([{"notice_id": existing.id}])
        log.info("notice.duplicate_received", notice_id=existing.id)
        return Accepted(existing, duplicate=True)
    route_queue.send_many([{"notice_id": notice.id}])
    log.info(
        "notice.accepted",
        notice_id=notice.id,
        type=str(notice.type),
        jurisdiction_id=notice.jurisdiction_id,
        recipients=notice.recipients,
        coverage_gaps=list(notice.coverage_gaps),
    )
    if gaps:
        log.warning("notice.coverage_gap", notice_id=notice.id, roles=[str(g) for g in gaps])
    return Accepted(notice, duplicate=False)
