"""The audit trail of admin actions: who did what, with the before and after, in a hash chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.acklog import EntryKind, LogEntry, Verification, verify_chain
from chalicelib.ports import AckLog

# The audit trail is one chain in the ack-log table: tamper-evident like the notices' logs.
AUDIT_STREAM = "audit"


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
    """The newest entries of the audit trail, and whether the whole chain verifies."""

    verification: Verification | None  # None while the trail is empty
    total: int
    newest_first: list[LogEntry]

    @property
    def verified(self) -> bool:
        return self.verification.verified if self.verification else True

    @property
    def broken_at(self) -> int | None:
        return self.verification.broken_at if self.verification else None


def trail(*, ack_log: AckLog, limit: int) -> AuditTrail:
    entries = ack_log.entries(AUDIT_STREAM)
    verification = verify_chain(AUDIT_STREAM, entries) if entries else None
    # Newest first: what an admin looks for is what just happened.
    return AuditTrail(verification, len(entries), list(reversed(entries[-limit:])))
