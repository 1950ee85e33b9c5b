"""The facts a detainer is classified on, and reading them from a detainer event as it is stored.

None everywhere means "not given", never "no": a criterion that needs a fact not given is unknown.
Standard library only; no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.domain.deadlines import NEW_YORK

__all__ = [
    "PROBABLE_CAUSE_BOXES",
    "Conviction",
    "DetainerFacts",
    "PendingCharge",
    "facts_from_event",
    "issued_on",
]


# The I-247A's probable-cause boxes, as the event stores them.
PROBABLE_CAUSE_BOXES = frozenset({"final-order", "pending-proceedings", "biometric-match", "statements"})


@dataclass(frozen=True, slots=True)
class Conviction:
    statute: str | None = None
    offence_class: str | None = None  # "B felony", "A misdemeanor", "unclassified felony", ...
    on: date | None = None
    final: bool | None = None  # a final judgment of guilt; None when not given
    description: str | None = None


@dataclass(frozen=True, slots=True)
class PendingCharge:
    statute: str | None = None
    offence_class: str | None = None
    bond_posted: bool | None = None
    description: str | None = None


@dataclass(frozen=True)
class DetainerFacts:
    """What the classification may look at. None everywhere means "not given", never "no".

    ``convictions`` and ``pending_charges`` are None when no criminal history was entered: the
    detainer form carries none, so an empty list in the event means "none entered" unless the event
    says ``criminal_history_entered: true`` (then an empty list means "none on record").
    """

    form: str | None = None
    issued_at: datetime | None = None
    release_due_at: datetime | None = None
    judicial_warrant: bool | None = None
    tsdb_match: bool | None = None
    outstanding_ct_warrant: bool | None = None
    gang_member: bool | None = None
    public_safety_risk: bool | None = None
    probable_cause: frozenset[str] | None = None
    convictions: tuple[Conviction, ...] | None = None
    pending_charges: tuple[PendingCharge, ...] | None = None

    @property
    def final_order_of_removal(self) -> bool | None:
        """ICE's probable-cause box "subject to a final order of removal"; None if no box was given."""
        return None if self.probable_cause is None else "final-order" in self.probable_cause


def issued_on(issued_at: datetime) -> date:
    """The America/New_York calendar date of an aware instant: the day that picks the regime."""
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError(f"issued_at must be timezone-aware, got {issued_at.isoformat()}")
    return issued_at.astimezone(NEW_YORK).date()


def facts_from_event(event: Mapping[str, Any]) -> DetainerFacts:
    """The facts of a detainer event dict as ``chalicelib.schemas.events`` stores it.

    Fields an older event lacks (``probable_cause``, ``outstanding_ct_warrant``, ``gang_member``,
    ``public_safety_risk``, ``bond_posted``, ...) are None, i.e. not given. Raises ValueError for a
    value of the wrong type, a naive timestamp or an unknown probable-cause box.
    """
    history_entered = _opt_bool(event, "criminal_history_entered") is True
    convictions = _records(event, "convictions", history_entered, _conviction)
    pending = _records(event, "pending_charges", history_entered, _pending_charge)
    boxes = event.get("probable_cause")
    probable_cause: frozenset[str] | None = None
    if boxes is not None:
        if not isinstance(boxes, list) or not all(isinstance(b, str) for b in boxes):
            raise ValueError("probable_cause must be a list of strings")
        unknown = sorted(set(boxes) - PROBABLE_CAUSE_BOXES)
        if unknown:
            raise ValueError(
                f"unknown probable_cause boxes {unknown}; expected {sorted(PROBABLE_CAUSE_BOXES)}"
            )
        probable_cause = frozenset(boxes)
    return DetainerFacts(
        form=_opt_str(event, "form"),
        issued_at=_opt_instant(event, "issued_at"),
        release_due_at=_opt_instant(event, "release_due_at"),
        judicial_warrant=_opt_bool(event, "judicial_warrant"),
        tsdb_match=_opt_bool(event, "tsdb_match"),
        outstanding_ct_warrant=_opt_bool(event, "outstanding_ct_warrant"),
        gang_member=_opt_bool(event, "gang_member"),
        public_safety_risk=_opt_bool(event, "public_safety_risk"),
        probable_cause=probable_cause,
        convictions=convictions,
        pending_charges=pending,
    )


def _opt_bool(record: Mapping[str, Any], key: str) -> bool | None:
    value = record.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"{key} must be true, false or absent, got {value!r}")


def _opt_str(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise ValueError(f"{key} must be a string or absent, got {value!r}")


def _opt_instant(record: Mapping[str, Any], key: str) -> datetime | None:
    value = _opt_str(record, key)
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{key} must carry a UTC offset, got {value!r}")
    return parsed


def _opt_date(record: Mapping[str, Any], key: str) -> date | None:
    value = _opt_str(record, key)
    return date.fromisoformat(value) if value else None


def _records[T](
    event: Mapping[str, Any], key: str, history_entered: bool, build: Callable[[Mapping[str, Any]], T]
) -> tuple[T, ...] | None:
    value = event.get(key)
    if value is None:
        return () if history_entered else None
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ValueError(f"{key} must be a list of objects")
    if not value and not history_entered:
        return None
    return tuple(build(item) for item in value)


def _conviction(item: Mapping[str, Any]) -> Conviction:
    return Conviction(
        statute=_opt_str(item, "statute"),
        offence_class=_opt_str(item, "class"),
        on=_opt_date(item, "date"),
        final=_opt_bool(item, "final"),
        description=_opt_str(item, "description"),
    )


def _pending_charge(item: Mapping[str, Any]) -> PendingCharge:
    return PendingCharge(
        statute=_opt_str(item, "statute"),
        offence_class=_opt_str(item, "class"),
        bond_posted=_opt_bool(item, "bond_posted"),
        description=_opt_str(item, "description"),
    )
