"""Detainer decisions: a reviewer decides, with reasons, before the hold deadline; the law's
duties that follow become tracked items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    HONOR = "honor"
    DECLINE = "decline"
    NOTIFY_ONLY = "notify-only"


# What the pre-classification suggested (chalicelib.domain.classification.Suggestion values).
MAY_NOT_COOPERATE = "may-not-cooperate"


@dataclass(frozen=True, slots=True)
class Duty:
    id: str
    text: str
    status: str  # "confirmed" or "reported", as the rules file marks it
    done_at: datetime | None = None
    done_by: str | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "status": self.status,
            "done": self.done_at is not None,
            "done_at": self.done_at.isoformat() if self.done_at else None,
            "done_by": self.done_by,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Duty:
        done_at = data.get("done_at")
        return cls(
            id=str(data["id"]),
            text=str(data["text"]),
            status=str(data.get("status", "confirmed")),
            done_at=datetime.fromisoformat(done_at) if done_at else None,
            done_by=data.get("done_by"),
            note=data.get("note"),
        )


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    decision: Decision
    reasons: str
    criteria_relied_on: tuple[str, ...]
    override_reason: str | None
    decided_by: str
    decided_at: datetime
    # What the suggestion was when the decision was made, so the record explains itself later.
    suggestion: str | None
    regime_id: str | None
    before_deadline: bool | None

    def as_json(self) -> dict[str, Any]:
        return {
            "decision": str(self.decision),
            "reasons": self.reasons,
            "criteria_relied_on": list(self.criteria_relied_on),
            "override_reason": self.override_reason,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(),
            "suggestion": self.suggestion,
            "regime_id": self.regime_id,
            "before_deadline": self.before_deadline,
        }


def contradicts_the_statute(decision: Decision, suggestion: str | None) -> bool:
    """Holding or notifying when no statutory criterion allows it. Declining is always lawful: the
    statute says when an agency *may* act, never that it must."""
    return suggestion == MAY_NOT_COOPERATE and decision in {Decision.HONOR, Decision.NOTIFY_ONLY}


def unknown_criteria(relied_on: Sequence[str], classification: Mapping[str, Any] | None) -> list[str]:
    known = {c["id"] for c in (classification or {}).get("criteria", [])}
    return [c for c in relied_on if c not in known]


def duties_for(classification: Mapping[str, Any] | None) -> tuple[Duty, ...]:
    return tuple(Duty.from_json(d) for d in (classification or {}).get("duties", []))


def mark_done(
    duties: Sequence[Duty], duty_id: str, *, by: str, at: datetime, note: str | None
) -> tuple[Duty, ...]:
    return tuple(
        replace(d, done_at=at, done_by=by, note=note) if d.id == duty_id and not d.done_at else d
        for d in duties
    )
