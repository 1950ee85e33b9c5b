"""Accept an event: store it as a notice (once per idempotency key) and hand it to routing.

A detainer is pre-classified against the regimes of its place's state and its hold clocks are computed
here, before the notice is built: the notice keeps both in its event and is timed against the earlier
clock. A state with no regime on file gets needs-judgment and no state clock, never another state's law.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.auth import Caller
from chalicelib.domain.errors import Conflict
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice, NoticeStatus, fingerprint, notice_id_for
from chalicelib.domain.places import Jurisdiction
from chalicelib.domain.routing import coverage_gaps, reach, recipients_for
from chalicelib.ports import AckLog, NoticeExists, NoticeStore, PolicyStore, SubscriptionIndex, WorkQueue
from chalicelib.schemas.events import SubmittedEvent

if TYPE_CHECKING:
    from chalicelib.domain.classification.facts import DetainerFacts

logger = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Accepted:
    notice: Notice
    duplicate: bool
    # Places the event's words could also have meant, not chosen ("Tolland": the town, not the county).
    also_named: tuple[Jurisdiction, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "notice_id": self.notice.id,
            "duplicate": self.duplicate,
            "status": str(self.notice.status),
            "recipients": self.notice.recipients,
            "coverage_gaps": list(self.notice.coverage_gaps),
            "jurisdiction_id": self.notice.jurisdiction_id,
            "also_named": [j.as_alternative() for j in self.also_named],
        }


def accept(
    submitted: SubmittedEvent,
    *,
    caller: Caller,
    notices: NoticeStore,
    index: SubscriptionIndex,
    registry: JurisdictionRegistry,
    policies: PolicyStore,
    route_queue: WorkQueue,
    ack_log: AckLog,
    now: datetime,
) -> Accepted:
    notice_id = notice_id_for(submitted.type, submitted.idempotency_key)
    event: dict[str, Any] = submitted.event
    deadline: datetime | None = None
    if submitted.detainer is not None:
        review, deadline = detainer_review(submitted.detainer, submitted.jurisdiction_id)
        event = {**submitted.event, **review}
    # Recipients and gaps are previewed here so the source learns at once whether anyone
    # accountable will hear of it; the route step re-reads the index when it fans out, the same way.
    recipients = recipients_for(index.covering(reach(registry, submitted.jurisdiction_id, submitted.type)))
    gaps = coverage_gaps(policies.get(submitted.type).required_roles, recipients)
    notice = Notice(
        id=notice_id,
        type=submitted.type,
        status=NoticeStatus.OPEN,
        idempotency_key=submitted.idempotency_key,
        # Over the event as stored, classification and hold clocks included: both follow from the
        # facts, so a retry of the same body still matches.
        fingerprint=fingerprint(event),
        jurisdiction_id=submitted.jurisdiction_id,
        title=submitted.title,
        received_at=now,
        event=event,
        submitted_by=caller.key_id,
        recipients=len(recipients),
        coverage_gaps=tuple(str(g) for g in gaps),
        deadline=deadline,
        extra=dict(submitted.extra),
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
            # The first attempt stored the notice but may not have reached the log or the queue.
            _record_created(existing, ack_log=ack_log)
            route_queue.send_many([{"notice_id": existing.id}])
        logger.info("notice.duplicate_received", notice_id=existing.id)
        return Accepted(existing, duplicate=True, also_named=submitted.also_named)
    _record_created(notice, ack_log=ack_log)
    route_queue.send_many([{"notice_id": notice.id}])
    logger.info(
        "notice.accepted",
        notice_id=notice.id,
        type=str(notice.type),
        jurisdiction_id=notice.jurisdiction_id,
        recipients=notice.recipients,
        coverage_gaps=list(notice.coverage_gaps),
    )
    if gaps:
        logger.warning("notice.coverage_gap", notice_id=notice.id, roles=[str(g) for g in gaps])
    return Accepted(notice, duplicate=False, also_named=submitted.also_named)


def detainer_review(facts: DetainerFacts, place_id: str) -> tuple[dict[str, Any], datetime | None]:
    """What a detainer's notice keeps beside its facts (``classification`` and ``hold``), and the
    legal deadline escalations are timed against: the earlier hold clock, None while unknown.

    The law is that of the state ``place_id`` (the facility) is in; only that state's file is read.
    """
    # Imported here, not at module level: the hold clocks, the classifier and the regime data are
    # large and only detainers need them, while POST /events of a rollout loads this module too
    # (cold start, docs/benchmarks.md §2).
    from chalicelib.data.regimes import state_law  # noqa: PLC0415  # detainers only
    from chalicelib.domain.classification import issued_on  # noqa: PLC0415  # detainers only
    from chalicelib.domain.deadlines import hold_deadlines, kept_hold  # noqa: PLC0415  # detainers only

    if facts.form is None or facts.issued_at is None:
        raise ValueError("a detainer needs its form and issue time to be classified and timed")
    law = state_law(place_id)
    state_clocks = law.clocks
    clocks = hold_deadlines(facts.form, facts.issued_at, facts.release_due_at, state_clocks)
    # A suggestion for the reviewer, from the law in force on the request's date; never a decision.
    classification = law.classify(facts, on=issued_on(facts.issued_at))
    review = {"classification": classification.as_json(), "hold": kept_hold(clocks, state_clocks)}
    return review, clocks.earliest


def _record_created(notice: Notice, *, ack_log: AckLog) -> None:
    """The log's first entry; written once, even when a retry comes through here again."""
    if ack_log.entries(notice.id):
        return
    ack_log.append(
        notice.id,
        EntryKind.CREATED,
        at=notice.received_at,
        actor=notice.submitted_by,
        # Facts of the notice, never the person's identity: readers of the log are not all entitled.
        data={
            "type": str(notice.type),
            "title": notice.title,
            "jurisdiction_id": notice.jurisdiction_id,
            "idempotency_key": notice.idempotency_key,
            "fingerprint": notice.fingerprint,
            "deadline": notice.deadline.isoformat() if notice.deadline else None,
            "coverage_gaps": list(notice.coverage_gaps),
            "low_key": notice.low_key,
            "raw": notice.extra.get("raw"),
        },
    )
