"""Removing a decided detainer's personal data once it falls due, as the sweep does every minute.

Index-driven: the notices table's sparse ``personal-data-due`` index holds exactly the decided
detainers whose data is still kept, keyed by when it falls due, so each run is one Query (never a
Scan) and a read of each notice due. Each removal is three steps, so that none goes unaudited:

1. the notice's event is replaced with one without the personal data (once: a conditional write,
   which also records when and which fields);
2. the removal is appended to the audit trail (actor ``retention``, the fields, never their values);
3. the notice leaves the index.

A run that stops after 1 finds the notice due again next time, already removed, and audits it then;
one that stops after 2 audits it a second time. The log needs nothing: no entry ever held the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from chalicelib.domain.errors import NotFound
from chalicelib.domain.retention import RETENTION_ACTOR, personal_data_due, without_personal_data
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import AckLog, NoticeStore
from chalicelib.services import audit

logger = structlog.get_logger()

# Notices whose data is removed per run at most (the sweep runs every minute).
RETENTION_BATCH = 100


@dataclass(frozen=True, slots=True)
class Removed:
    notice_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"personal_data_removed": len(self.notice_ids)}


def remove_due(
    *, notices: NoticeStore, ack_log: AckLog, now: datetime, limit: int = RETENTION_BATCH
) -> Removed:
    removed: list[str] = []
    for notice_id in notices.personal_data_due(now, limit=limit):
        try:
            notice = notices.get(notice_id)
        except NotFound:
            continue  # the index lags the table: gone meanwhile
        if notice.personal_data_removed_at is None:
            event, fields = without_personal_data(notice.event)
            if not notices.remove_personal_data(notice.id, event=event, fields=fields, at=now):
                continue  # another run removed it first and audits it
            notice_fields, removed_at = fields, now
        else:  # removed by a run that stopped before it was audited
            notice_fields, removed_at = list(notice.personal_data_removed), notice.personal_data_removed_at
        audit.record(
            ack_log,
            actor=RETENTION_ACTOR,
            action="personal_data.removed",
            target=notice.id,
            before=None,
            after={
                "fields": notice_fields,
                "removed_at": removed_at.isoformat(),
                "due_at": notice.personal_data_due_at.isoformat() if notice.personal_data_due_at else None,
                "decided_at": (notice.decision or {}).get("decided_at"),
            },
            now=now,
        )
        notices.retention_done(notice.id)
        logger.info("notice.personal_data_removed", notice_id=notice.id, fields=notice_fields)
        removed.append(notice.id)
    return Removed(removed)


# Before any detainer Vigil could have received.
_BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


def schedule_decided(
    *, notices: NoticeStore, ack_log: AckLog, retention: timedelta, actor: str, now: datetime
) -> list[str]:
    """Give every detainer decided before the retention index existed its due time, from its
    decision's time (one already past falls due at the sweep's next run). Reads every detainer
    through the by-type index (an operator's one-off, not the sweep's); idempotent; audited once."""
    scheduled = []
    for notice in notices.received_between(EventType.DETAINER, _BEGINNING, now):
        decided_at = (notice.decision or {}).get("decided_at")
        if not decided_at or notice.personal_data_due_at or notice.personal_data_removed_at:
            continue
        due = personal_data_due(datetime.fromisoformat(decided_at), retention)
        if notices.schedule_personal_data_removal(notice.id, due=due):
            scheduled.append(notice.id)
    audit.record(
        ack_log,
        actor=actor,
        action="personal_data.scheduled",
        target="notices",
        before=None,
        after={"detainers": len(scheduled), "retention_days": retention.days},
        now=now,
    )
    return scheduled
