"""The audit trail of admin actions: who did what, with the before and after, in a hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.acklog import EntryKind
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
