"""The detainer report: what was asked, under which law, what was suggested and decided, how fast,
and the figure the public debate is about — how many people met no statutory criterion at all."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import NoticeStore

NEW_YORK = ZoneInfo("America/New_York")
DIMENSIONS = ("facility", "month", "regime", "suggestion", "decision")


@dataclass(frozen=True, slots=True)
class DetainerReport:
    start: datetime
    end: datetime
    total: int
    counts: dict[str, dict[str, int]]
    decided: int
    decided_before_deadline: int
    median_hours_to_decision: float | None
    median_hours_left_at_decision: float | None
    classified: int
    no_criterion_met: int
    notes: list[str] = field(default_factory=list)

    @property
    def share_no_criterion_met(self) -> float | None:
        return round(self.no_criterion_met / self.classified, 4) if self.classified else None

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "detainers": self.total,
            "by": self.counts,
            "decided": self.decided,
            "decided_before_deadline": self.decided_before_deadline,
            "median_hours_to_decision": self.median_hours_to_decision,
            "median_hours_left_at_decision": self.median_hours_left_at_decision,
            "classified": self.classified,
            "no_criterion_met": self.no_criterion_met,
            "share_no_criterion_met": self.share_no_criterion_met,
            "notes": self.notes,
        }

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["dimension", "value", "count"])
        for dimension in DIMENSIONS:
            for value, count in sorted(self.counts[dimension].items()):
                writer.writerow([dimension, value, count])
        for key in (
            "detainers",
            "decided",
            "decided_before_deadline",
            "median_hours_to_decision",
            "median_hours_left_at_decision",
            "classified",
            "no_criterion_met",
            "share_no_criterion_met",
        ):
            value = self.as_json()[key]
            writer.writerow(["summary", key, "" if value is None else value])
        return out.getvalue()


def _hours(delta_seconds: float) -> float:
    return round(delta_seconds / 3600, 2)


def met_no_criterion(classification: dict[str, Any]) -> bool:
    """Every statutory criterion was checked and none was met (unknowns do not count as none)."""
    criteria = classification.get("criteria", [])
    return bool(criteria) and all(c.get("outcome") == "not-met" for c in criteria)


def summarize(notices: Iterable[Notice], *, start: datetime, end: datetime) -> DetainerReport:
    counts: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    to_decision: list[float] = []
    left_at_decision: list[float] = []
    total = decided = before = classified = none_met = 0
    for notice in notices:
        total += 1
        classification = notice.event.get("classification") or {}
        decision = notice.decision or {}
        counts["facility"][str(notice.event.get("facility_name", notice.jurisdiction_id))] += 1
        counts["month"][notice.received_at.astimezone(NEW_YORK).strftime("%Y-%m")] += 1
        counts["regime"][str(classification.get("regime_id") or "none")] += 1
        counts["suggestion"][str(classification.get("suggestion") or "none")] += 1
        counts["decision"][str(decision.get("decision") or "pending")] += 1
        if classification:
            classified += 1
            none_met += met_no_criterion(classification)
        if decision:
            decided += 1
            decided_at = datetime.fromisoformat(decision["decided_at"])
            to_decision.append(_hours((decided_at - notice.received_at).total_seconds()))
            if notice.deadline is not None:
                left_at_decision.append(_hours((notice.deadline - decided_at).total_seconds()))
                before += decided_at <= notice.deadline
    return DetainerReport(
        start=start,
        end=end,
        total=total,
        counts={d: dict(c) for d, c in counts.items()},
        decided=decided,
        decided_before_deadline=before,
        median_hours_to_decision=statistics.median(to_decision) if to_decision else None,
        median_hours_left_at_decision=statistics.median(left_at_decision) if left_at_decision else None,
        classified=classified,
        no_criterion_met=none_met,
        notes=[
            "no_criterion_met counts detainers whose every statutory criterion was checked and not met; "
            "a criterion left unknown (no criminal history entered) keeps a detainer out of that count.",
        ],
    )


def detainer_report(*, notices: NoticeStore, start: datetime, end: datetime) -> DetainerReport:
    return summarize(notices.received_between(EventType.DETAINER, start, end), start=start, end=end)
