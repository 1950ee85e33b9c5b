"""The audit trail of admin actions: who did what, with the before and after, in a hash chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.acklog import AUDIT_STREAM, DigestedHead, EntryKind, LogEntry, LogHead, Verification
from chalicelib.ports import AckLog, DigestStore
from chalicelib.services.digests import check

# The audit trail is one chain in the ack-log table (stream "audit"): tamper-evident like the
# notices' logs, its head kept in an item of its own.
__all__ = ["AUDIT_STREAM", "AuditTrail", "record", "trail"]


def record(
    ack_log: AckLog,
    *,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> None:
    """``before`` and ``after`` are API views (no secrets); None where the thing did not exist."""
    ack_log.append(
        AUDIT_STREAM,
        EntryKind.AUDITED,
        at=now,
        actor=actor,
        data={"action": action, "target": target, "before": before, "after": after},
    )


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """The newest entries of the audit trail, and whether the whole chain verifies: as a chain,
    against its head kept outside it (``anchor``) and against the newest digest (``digested``)."""

    verification: Verification | None  # None while the trail is empty, with no head and no digest
    total: int
    newest_first: list[LogEntry]
    anchor: LogHead | None = None
    digested: DigestedHead | None = None

    @property
    def verified(self) -> bool:
        return self.verification.verified if self.verification else True

    @property
    def broken_at(self) -> int | None:
        return self.verification.broken_at if self.verification else None

    @property
    def reason(self) -> str | None:
        return self.verification.reason if self.verification else None


def trail(*, ack_log: AckLog, digests: DigestStore, limit: int, now: datetime) -> AuditTrail:
    checked = check(AUDIT_STREAM, ack_log=ack_log, digests=digests, now=now)
    entries = checked.entries
    # A trail nothing was ever written to: no entries, and no head or digest that names one.
    untouched = not entries and checked.anchor is None and checked.digested is None
    return AuditTrail(
        None if untouched else checked.verification,
        len(entries),
        # Newest first: what an admin looks for is what just happened.
        list(reversed(entries[-limit:])),
        checked.anchor,
        checked.digested,
    )
