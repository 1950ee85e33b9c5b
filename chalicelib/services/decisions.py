"""The case-by-case review: a reviewer's decision on a detainer, recorded before the deadline,
made known to those entitled to it, with the duties that follow tracked to the end."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.decisions import (
    DecisionRecord,
    Duty,
    contradicts_the_statute,
    duties_for,
    mark_done,
    unknown_criteria,
)
from chalicelib.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice
from chalicelib.domain.retention import personal_data_due
from chalicelib.domain.routing import plan_deliveries, reach, recipients_for
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import AckLog, NoticeStore, SubscriptionIndex, WorkQueue
from chalicelib.schemas.decisions import DecisionRequest
from chalicelib.services.routing import dispatch

logger = structlog.get_logger()

# The step number of the decision messages: after any escalation step a policy can have.
DECISION_STEP = 99


def detainer(notice_id: str, notices: NoticeStore) -> Notice:
    notice = notices.get(notice_id)
    if notice.type is not EventType.DETAINER:
        raise NotFound(f"no detainer {notice_id!r}")
    return notice


def decide(
    notice_id: str,
    request: DecisionRequest,
    *,
    notices: NoticeStore,
    index: SubscriptionIndex,
    send_queue: WorkQueue,
    registry: JurisdictionRegistry,
    ack_log: AckLog,
    actor: str,
    now: datetime,
    retention: timedelta,
) -> Notice:
    """``retention``: how long after the decision the person's data is kept."""
    notice = detainer(notice_id, notices)
    if notice.decision is not None:
        raise Conflict("this detainer already has a decision")
    classification = notice.event.get("classification")
    suggestion = (classification or {}).get("suggestion")
    problems: list[FieldError] = [
        FieldError("criteria_relied_on", f"{c!r} is not a criterion of this detainer's regime")
        for c in unknown_criteria(request.criteria_relied_on, classification)
    ]
    if contradicts_the_statute(request.decision, suggestion) and not request.override_reason:
        regime = (classification or {}).get("regime_name", "the regime")
        problems.append(
            FieldError(
                "override_reason",
                f"is required: no statutory criterion of {regime} was found to allow '{request.decision}'",
            )
        )
    if problems:
        raise InvalidInput("decision is invalid: " + ", ".join(p.field for p in problems), problems)
    record = DecisionRecord(
        decision=request.decision,
        reasons=request.reasons,
        criteria_relied_on=request.criteria_relied_on,
        override_reason=request.override_reason,
        decided_by=actor,
        decided_at=now,
        suggestion=suggestion,
        regime_id=(classification or {}).get("regime_id"),
        before_deadline=now <= notice.deadline if notice.deadline else None,
    )
    duties = [d.as_json() for d in duties_for(classification)]
    if not notices.record_decision(
        notice.id,
        decision=record.as_json(),
        duties=duties,
        at=now,
        personal_data_due=personal_data_due(now, retention),
    ):
        raise Conflict("this detainer already has a decision, or was closed")
    ack_log.append(
        notice.id,
        EntryKind.DECIDED,
        at=now,
        actor=actor,
        data={
            "decision": str(record.decision),
            "criteria_relied_on": list(record.criteria_relied_on),
            "override": record.override_reason is not None,
            "suggestion": record.suggestion,
            "regime_id": record.regime_id,
            "before_deadline": record.before_deadline,
            "duties": [d["id"] for d in duties],
        },
    )
    decided = notices.get(notice.id)
    # Those who were told of the request hear of its outcome, each as their role may see it.
    recipients = recipients_for(index.covering(reach(registry, decided.jurisdiction_id, decided.type)))
    dispatch(
        plan_deliveries(decided, recipients, step=DECISION_STEP, now=now),
        send_queue=send_queue,
    )
    logger.info(
        "detainer.decided",
        notice_id=notice.id,
        decision=str(record.decision),
        suggestion=suggestion,
        override=record.override_reason is not None,
        before_deadline=record.before_deadline,
    )
    return decided


def complete_duty(
    notice_id: str,
    duty_id: str,
    *,
    note: str | None,
    notices: NoticeStore,
    ack_log: AckLog,
    actor: str,
    now: datetime,
) -> Notice:
    notice = detainer(notice_id, notices)
    duties = tuple(Duty.from_json(d) for d in notice.duties)
    duty = next((d for d in duties if d.id == duty_id), None)
    if duty is None:
        raise NotFound(f"this detainer has no duty {duty_id!r}")
    if duty.done_at is not None:
        return notice
    notices.save_duties(
        notice.id, [d.as_json() for d in mark_done(duties, duty_id, by=actor, at=now, note=note)]
    )
    ack_log.append(notice.id, EntryKind.DECIDED, at=now, actor=actor, data={"duty_done": duty_id})
    logger.info("detainer.duty_done", notice_id=notice.id, duty_id=duty_id)
    return notices.get(notice.id)
