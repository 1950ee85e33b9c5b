"""Notices: Vigil's record of one accepted event."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.domain.subscribers import EventType

# The reports a notice keeps in full (each copy of its original received); later ones are counted only.
MAX_REPORTS_KEPT = 50


class NoticeStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"
    # Arrived by email that could not be trusted, or without a program, a date or a place: held for an
    # admin, never routed on a guess.
    TRIAGE = "triage"


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    type: EventType
    status: NoticeStatus
    idempotency_key: str
    # SHA-256 of the canonical event: the same key with a different body is a conflict, not a duplicate.
    fingerprint: str
    jurisdiction_id: str
    title: str
    received_at: datetime
    # The validated event as JSON (personal data included: rendering decides who may see it).
    event: dict[str, Any]
    submitted_by: str
    recipients: int = 0
    coverage_gaps: tuple[str, ...] = ()
    routed_at: datetime | None = None
    # The last escalation step performed (0: the first fan-out), and when the next one falls due.
    step: int = 0
    next_step_at: datetime | None = None
    deadline: datetime | None = None
    acknowledged_at: datetime | None = None
    # Detainers: the reviewer's decision and the duties that follow it (DecisionRecord/Duty as JSON).
    decision: dict[str, Any] | None = None
    duties: tuple[dict[str, Any], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    # Notices made from mail: each copy of the original message received (who forwarded or sent it,
    # when, whether verified), the first ``MAX_REPORTS_KEPT`` of them, and how many there were.
    reports: tuple[dict[str, Any], ...] = ()
    report_count: int = 0
    # Decided detainers: when the person's data falls due for removal (``domain/retention.py``), and
    # once it is removed, when and which fields.
    personal_data_due_at: datetime | None = None
    personal_data_removed_at: datetime | None = None
    personal_data_removed: tuple[str, ...] = ()

    @property
    def low_key(self) -> bool:
        """Arrived by an email whose recipients included nobody of the roles that must act."""
        return bool(self.extra.get("low_key"))

    def routed(
        self,
        *,
        recipients: int,
        coverage_gaps: tuple[str, ...],
        now: datetime,
        next_step_at: datetime | None = None,
    ) -> Notice:
        return replace(
            self, recipients=recipients, coverage_gaps=coverage_gaps, routed_at=now, next_step_at=next_step_at
        )


def canonical_json(value: Any) -> str:
    """One encoding for hashing: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(event: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(event).encode()).hexdigest()


def notice_id_for(event_type: EventType, idempotency_key: str) -> str:
    """Derived from the idempotency key, so a retried submission lands on the same notice.

    The store's conditional put on this id is the whole deduplication mechanism: no separate
    idempotency table, no read-before-write race.
    """
    digest = hashlib.sha256(f"{event_type}\x00{idempotency_key}".encode()).hexdigest()
    return f"ntc_{digest[:24]}"
