"""POST /detainers/{id}/decision and duty updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.decisions import Decision
from chalicelib.schemas.fields import Problems, boolean, choice, reject_unknown, require_object, text


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    decision: Decision
    reasons: str
    criteria_relied_on: tuple[str, ...]
    override_reason: str | None


def parse_decision(body: Any) -> DecisionRequest:
    body = require_object(body, "decision")
    problems = Problems()
    reject_unknown(body, {"decision", "reasons", "criteria_relied_on", "override_reason"}, problems)
    decision = choice(body, "decision", Decision, problems)
    reasons = text(body, "reasons", problems, max_len=4000)
    relied = body.get("criteria_relied_on", [])
    if not isinstance(relied, list) or not all(isinstance(c, str) and c for c in relied) or len(relied) > 50:
        problems.add("criteria_relied_on", "must be a list of criterion ids from the notice's classification")
        relied = []
    override = text(body, "override_reason", problems, required=False, max_len=4000)
    problems.raise_if_any("decision")
    assert decision is not None and reasons is not None  # noqa: PT018  # narrowed by raise_if_any
    return DecisionRequest(decision, reasons, tuple(dict.fromkeys(relied)), override or None)


def parse_duty_update(body: Any) -> tuple[bool, str | None]:
    body = require_object(body, "duty")
    problems = Problems()
    reject_unknown(body, {"done", "note"}, problems)
    if "done" not in body:
        problems.add("done", "is required: true once the duty is carried out")
    done = boolean(body, "done", problems, default=True)
    if done is not True:
        problems.add("done", "can only be set to true: a duty carried out stays carried out")
    note = text(body, "note", problems, required=False, max_len=1000)
    problems.raise_if_any("duty")
    return done, note
