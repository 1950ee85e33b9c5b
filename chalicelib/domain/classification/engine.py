"""The classification engine: a detainer's facts against the regime in force on its issue date.

A **suggestion**, never a decision: a reviewer decides. How each test's outcome is combined:

- a criterion is ``met``, ``not-met`` or ``unknown`` (the facts it needs were not given, e.g. no
  criminal history was entered);
- ``case-by-case`` (the governor's review, 2012-2013): always needs-judgment, the criteria are shown
  as considerations;
- ``any-criterion`` (PA 13-155 and later): may-cooperate if some criterion is met, may-not-cooperate
  if every criterion is not met, needs-judgment if none is met but some is unknown, or whenever a
  discretionary criterion (unacceptable risk to public safety) is flagged.

"Convicted" means a final judgment of guilt, notwithstanding a pending appeal: a conviction counts
only when ``final`` is true.

Every classification names its regime and every criterion with its status and outcome, and says in
its explanation when a suggestion rests only on reported criteria. A state with no regime on file
gets needs-judgment and says so (``no_regime_on_file``): another state's rules are never applied.
Standard library only; no I/O, no clock. The regime is chosen by the detainer's issue date in
America/New_York, as for the hold clocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from chalicelib.domain.classification.facts import (
    Conviction,
    DetainerFacts,
    PendingCharge,
    facts_from_event,
    issued_on,
)
from chalicelib.domain.classification.regimes import (
    DISCRETIONARY_JUDGMENTS,
    YES_NO_FACTS,
    AnyOf,
    ConvictionTest,
    Discretionary,
    Duty,
    FactTest,
    Mode,
    NeedsJudgment,
    Outcome,
    PendingChargeTest,
    Regime,
    Status,
    Test,
    normal_class,
    regime_on,
    statute_section,
)
from chalicelib.domain.deadlines import HoldClock

__all__ = [
    "NOTIFICATION_ONLY_FORMS",
    "Classification",
    "CriterionResult",
    "Suggestion",
    "classify",
    "classify_event",
    "no_criterion_met",
    "no_regime_on_file",
    "undetermined",
]


class Suggestion(StrEnum):
    MAY_COOPERATE = "may-cooperate"
    MAY_NOT_COOPERATE = "may-not-cooperate"
    NEEDS_JUDGMENT = "needs-judgment"


# Forms that ask only to be told of a release, with no hold (docs/detainer-rules.md, "Forms").
NOTIFICATION_ONLY_FORMS = frozenset({"I-247N"})
# Connecticut's offence classes (§§ 53a-25 to 53a-27), normalised: "Class B felony" → "b felony".
_CT_CLASSES = frozenset(
    [f"{letter} felony" for letter in "abcde"]
    + ["unclassified felony", "unclassified misdemeanor", "infraction", "violation"]
    + [f"{letter} misdemeanor" for letter in "abcd"]
)


# -- evaluating one criterion -------------------------------------------------------------------


def _label(c: Conviction | PendingCharge) -> str:
    parts = [f"§ {c.statute}" if c.statute else "statute not given", c.offence_class or "class not given"]
    if isinstance(c, Conviction) and c.on:
        parts.append(c.on.isoformat())
    return ", ".join(parts)


def _matches(test: ConvictionTest, c: Conviction) -> Outcome:  # noqa: PLR0911  # one return per case
    """Whether one conviction is of the kind the test names, leaving finality aside."""
    if test.statutes:
        section = statute_section(c.statute, decimal=test.decimal_sections) if c.statute else None
        if section is None:
            return Outcome.UNKNOWN
        if section not in test.statutes:
            return Outcome.NOT_MET
        if not test.description_any:
            return Outcome.MET
        description = (c.description or "").casefold()
        return Outcome.MET if any(p in description for p in test.description_any) else Outcome.UNKNOWN
    if c.offence_class is None:
        return Outcome.UNKNOWN
    cls = normal_class(c.offence_class)
    lesser = any(word in cls for word in ("misdemeanor", "infraction", "violation"))
    if test.felony:
        return Outcome.MET if "felony" in cls else Outcome.NOT_MET if lesser else Outcome.UNKNOWN
    if test.misdemeanor:
        if "misdemeanor" in cls:
            return Outcome.MET
        other = "felony" in cls or any(word in cls for word in ("infraction", "violation"))
        return Outcome.NOT_MET if other else Outcome.UNKNOWN
    if cls in test.classes:
        return Outcome.MET
    if cls == "unclassified felony":
        return test.unclassified_felony
    if cls in _CT_CLASSES or lesser:
        return Outcome.NOT_MET
    return Outcome.UNKNOWN  # "felony" alone, another state's grade: no Connecticut class to compare


def _conviction_outcome(test: ConvictionTest, facts: DetainerFacts) -> tuple[Outcome, str]:
    if facts.convictions is None:
        return Outcome.UNKNOWN, "no criminal history entered"
    met: list[str] = []
    unknown: list[str] = []
    not_final: list[str] = []
    for c in facts.convictions:
        kind = _matches(test, c)
        if kind is Outcome.NOT_MET:
            continue
        if c.final is False:
            not_final.append(_label(c))
        elif c.final is None:
            unknown.append(f"{_label(c)} (finality not given)")
        elif kind is Outcome.MET:
            met.append(_label(c))
        else:
            unknown.append(_label(c))
    ignored = f"; not counted, no final judgment: {'; '.join(not_final)}" if not_final else ""
    if met:
        return Outcome.MET, f"final conviction: {'; '.join(met)}{ignored}"
    if unknown:
        return Outcome.UNKNOWN, f"cannot tell from the record: {'; '.join(unknown)}{ignored}"
    if not facts.convictions:
        return Outcome.NOT_MET, "no convictions on record"
    return Outcome.NOT_MET, f"no final conviction of this kind{ignored}"


def _pending_outcome(test: PendingChargeTest, facts: DetainerFacts) -> tuple[Outcome, str]:
    if facts.pending_charges is None:
        return Outcome.UNKNOWN, "no pending charges entered"
    wanted = "bond posted" if test.bond_posted else "bond not posted"
    met = [_label(p) for p in facts.pending_charges if p.bond_posted is test.bond_posted]
    if met:
        return Outcome.MET, f"pending charge, {wanted}: {'; '.join(met)}"
    unknown = [_label(p) for p in facts.pending_charges if p.bond_posted is None]
    if unknown:
        return Outcome.UNKNOWN, f"whether bond was posted is not given: {'; '.join(unknown)}"
    if not facts.pending_charges:
        return Outcome.NOT_MET, "no pending charges on record"
    return Outcome.NOT_MET, f"no pending charge with {wanted}"


def _evaluate(test: Test, facts: DetainerFacts) -> tuple[Outcome, str]:  # noqa: PLR0911  # one return per test kind
    if isinstance(test, FactTest | Discretionary):
        table = YES_NO_FACTS if isinstance(test, FactTest) else DISCRETIONARY_JUDGMENTS
        name = test.fact if isinstance(test, FactTest) else test.name
        read, yes, no = table[name]
        value = read(facts)
        if value is None:
            return Outcome.UNKNOWN, f"not given ({name})"
        return (Outcome.MET, yes) if value else (Outcome.NOT_MET, no)
    if isinstance(test, ConvictionTest):
        return _conviction_outcome(test, facts)
    if isinstance(test, PendingChargeTest):
        return _pending_outcome(test, facts)
    if isinstance(test, NeedsJudgment):
        outcome, detail = _evaluate(test.test, facts)
        if outcome is Outcome.MET:
            return Outcome.UNKNOWN, f"may apply, for the reviewer to judge ({detail})"
        return outcome, detail
    parts = [_evaluate(t, facts) for t in test.tests]
    outcomes = {outcome for outcome, _ in parts}
    combined = (
        Outcome.MET
        if Outcome.MET in outcomes
        else Outcome.UNKNOWN
        if Outcome.UNKNOWN in outcomes
        else Outcome.NOT_MET
    )
    return combined, "; ".join(detail for outcome, detail in parts if outcome is combined)


def _facts_used(test: Test) -> set[str]:
    if isinstance(test, FactTest):
        return {test.fact}
    if isinstance(test, Discretionary):
        return {test.name}
    if isinstance(test, AnyOf):
        return set().union(*(_facts_used(t) for t in test.tests))
    if isinstance(test, NeedsJudgment):
        return _facts_used(test.test)
    if isinstance(test, PendingChargeTest):
        return {"pending_charges"}
    return {"convictions"}


# -- the classification -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CriterionResult:
    id: str
    text: str
    status: Status
    outcome: Outcome
    detail: str  # why, from the facts (statute, class and date of a conviction; never free text)
    discretionary: bool = False
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "status": str(self.status),
            "outcome": str(self.outcome),
            "detail": self.detail,
            "discretionary": self.discretionary,
            "note": self.note,
        }


@dataclass(frozen=True)
class Classification:
    """A suggestion with everything that produced it: regime, criteria (status, outcome), duties, why."""

    regime_id: str | None
    regime_name: str | None
    citation: str | None
    suggestion: Suggestion
    criteria: tuple[CriterionResult, ...]
    duties: tuple[Duty, ...]
    explanation: tuple[str, ...]
    on: date | None = None
    mode: Mode | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "regime_id": self.regime_id,
            "regime_name": self.regime_name,
            "citation": self.citation,
            "mode": str(self.mode) if self.mode else None,
            "on": self.on.isoformat() if self.on else None,
            "suggestion": str(self.suggestion),
            "criteria": [c.as_json() for c in self.criteria],
            "duties": [d.as_json() for d in self.duties],
            "explanation": list(self.explanation),
        }


_FACT_WORDS = {
    "judicial_warrant": "a judicial warrant",
    "tsdb_match": "a Terrorist Screening Database match",
    "outstanding_ct_warrant": "an outstanding Connecticut arrest warrant",
    "gang_member": "gang or Security Risk Group membership",
    "final_order_of_removal": "a final order of removal",
    "public_safety_risk": "the submitting agency's public-safety flag",
}
_CLOSING = "A suggestion, never a decision: the reviewer decides."


def _ids(results: Iterable[CriterionResult]) -> str:
    return ", ".join(r.id for r in results)


def _suggest(regime: Regime, results: Sequence[CriterionResult]) -> tuple[Suggestion, list[str]]:
    met = [r for r in results if r.outcome is Outcome.MET]
    unknown = [r for r in results if r.outcome is Outcome.UNKNOWN]
    if regime.mode is Mode.CASE_BY_CASE:
        return Suggestion.NEEDS_JUDGMENT, [
            "Case-by-case review: every request is reviewed; the criteria are considerations for the "
            "reviewer, not tests, so the suggestion is always needs-judgment.",
            *(f"Consideration met: {r.id} ({r.status}): {r.detail}." for r in met),
            *(f"Consideration not known: {r.id}: {r.detail}." for r in unknown),
        ]
    lines = ["Law enforcement may act on the detainer only if at least one criterion is met."]
    lines += [f"Met: {r.id} ({r.status}): {r.detail}." for r in met]
    flagged = [r for r in met if r.discretionary]
    if flagged:
        also = [r for r in met if not r.discretionary]
        lines.append(
            f"Needs judgment: the discretionary criterion {_ids(flagged)} is flagged; it never decides by "
            "itself, a human must judge." + (f" Other criteria met: {_ids(also)}." if also else "")
        )
        return Suggestion.NEEDS_JUDGMENT, lines
    if met:
        confirmed = [r for r in met if r.status is Status.CONFIRMED]
        if confirmed:
            lines.append(f"Suggests may-cooperate: confirmed criterion {_ids(confirmed)} is met.")
        else:
            lines.append(
                f"Suggests may-cooperate, but this rests only on reported criteria ({_ids(met)}), "
                "not yet read in the enacted text: check them before relying on this."
            )
        return Suggestion.MAY_COOPERATE, lines
    if unknown:
        lines.append(
            "Needs judgment: no criterion is met on the facts entered, but some could not be evaluated: "
            + "; ".join(f"{r.id}: {r.detail}" for r in unknown)
            + "."
        )
        return Suggestion.NEEDS_JUDGMENT, lines
    lines.append("Suggests may-not-cooperate: no criterion is met on the facts entered.")
    return Suggestion.MAY_NOT_COOPERATE, lines


def _evaluate_regime(regime: Regime, facts: DetainerFacts) -> tuple[CriterionResult, ...]:
    results = []
    for criterion in regime.criteria:
        outcome, detail = _evaluate(criterion.test, facts)
        results.append(
            CriterionResult(
                id=criterion.id,
                text=criterion.text,
                status=criterion.status,
                outcome=outcome,
                detail=detail,
                discretionary=criterion.discretionary,
                note=criterion.note,
            )
        )
    return tuple(results)


def _unused_facts(regime: Regime, facts: DetainerFacts) -> list[str]:
    used = set().union(*(_facts_used(c.test) for c in regime.criteria))
    values: dict[str, bool | None] = {
        name: read(facts) for name, (read, _, _) in (YES_NO_FACTS | DISCRETIONARY_JUDGMENTS).items()
    }
    lines = [
        f"Not a criterion under {regime.name}: {_FACT_WORDS[name]} (reported true) "
        "does not change the suggestion."
        for name, value in values.items()
        if value and name not in used
    ]
    if "pending_charges" not in used and any(p.bond_posted is False for p in facts.pending_charges or ()):
        lines.append(
            f"Not a criterion under {regime.name}: pending charges (arrest or charge, not conviction) do not "
            "change the suggestion."
        )
    if "convictions" not in used and facts.convictions:
        lines.append(f"Not a criterion under {regime.name}: convictions do not change the suggestion.")
    return lines


def classify(facts: DetainerFacts, regimes: Sequence[Regime], *, on: date) -> Classification:
    """Pre-classify a detainer against the regime in force ``on`` (its issue date in New York).

    Never raises for missing facts: what is not given makes a criterion unknown.
    """
    regime = regime_on(regimes, on)
    if regime is None:
        first = min((r.in_force_from for r in regimes), default=None)
        starts = f" (the first began on {first.isoformat()})" if first and on < first else ""
        state = next((f"{r.state} " for r in regimes if r.state), "")
        return _no_regime(
            f"No {state}regime was in force on {on.isoformat()}{starts}: no state criteria apply, "
            "so there is nothing to suggest; a human must judge.",
            on=on,
        )
    results = _evaluate_regime(regime, facts)
    suggestion, reasons = _suggest(regime, results)
    explanation = [
        f"Regime: {regime.name} [{regime.id}]; {regime.citation}; in force {regime.period}; chosen by "
        f"the detainer's issue date {on.isoformat()} in America/New_York.",
        *reasons,
    ]
    nothing_met = not any(r.outcome is Outcome.MET for r in results)
    if regime.administrative_warrant_insufficient and facts.judicial_warrant is not True and nothing_met:
        explanation.append(
            "The detainer is not accompanied by a warrant signed by a judicial officer: under this regime an "
            "administrative warrant (I-200, I-205) alone is never enough."
        )
    if regime.mode is Mode.ANY_CRITERION:
        explanation += _unused_facts(regime, facts)
    form = (facts.form or "").strip().upper()
    if regime.hold_clock.clock is HoldClock.RELEASE and form not in NOTIFICATION_ONLY_FORMS:
        explanation.append(
            f"Under {regime.name} the request itself keeps no one in custody ({regime.hold_clock.text}): "
            "a met criterion allows only the cooperation the regime names, never a longer stay."
        )
    if (
        form in NOTIFICATION_ONLY_FORMS
        and not regime.notification_only_requests_limited
        and suggestion is Suggestion.MAY_NOT_COOPERATE
    ):
        suggestion = Suggestion.NEEDS_JUDGMENT
        explanation.append(
            f"Needs judgment: the {form} asks only to be told of the release, and the criteria of "
            f"{regime.name} limit holds; whether they limit a notification is for the reviewer."
        )
    suggestion = _check_release_regime(
        facts=facts, regimes=regimes, regime=regime, suggestion=suggestion, on=on, explanation=explanation
    )
    explanation.append(_CLOSING)
    return Classification(
        regime_id=regime.id,
        regime_name=regime.name,
        citation=regime.citation,
        suggestion=suggestion,
        criteria=results,
        duties=regime.duties,
        explanation=tuple(explanation),
        on=on,
        mode=regime.mode,
    )


def _no_regime(reason: str, *, on: date) -> Classification:
    return Classification(
        regime_id=None,
        regime_name=None,
        citation=None,
        suggestion=Suggestion.NEEDS_JUDGMENT,
        criteria=(),
        duties=(),
        explanation=(reason, _CLOSING),
        on=on,
    )


def no_regime_on_file(state: str, *, on: date) -> Classification:
    """The classification of a detainer in a state whose detainer law Vigil does not have: always
    needs-judgment, saying so; no other state's criteria stand in for the missing ones."""
    return _no_regime(
        f"Needs judgment: no regime on file for {state}, so no state criteria are applied and there is "
        "nothing to suggest; a human must judge.",
        on=on,
    )


def _check_release_regime(
    *,
    facts: DetainerFacts,
    regimes: Sequence[Regime],
    regime: Regime,
    suggestion: Suggestion,
    on: date,
    explanation: list[str],
) -> Suggestion:
    """A hold that falls under a later regime than the issue date: the law in force then may govern."""
    if facts.release_due_at is None:
        return suggestion
    release_day = issued_on(facts.release_due_at)
    later = regime_on(regimes, release_day)
    if later is None or later.id == regime.id or release_day <= on:
        return suggestion
    other = classify(replace(facts, release_due_at=None), regimes, on=release_day).suggestion
    if other is suggestion:
        explanation.append(
            f"The release is due on {release_day.isoformat()}, under {later.name}; "
            "the suggestion is the same there."
        )
        return suggestion
    explanation.append(
        f"Needs judgment: the release is due on {release_day.isoformat()}, under {later.name}, where the "
        f"suggestion would be {other}; which law governs the hold is for the reviewer."
    )
    return Suggestion.NEEDS_JUDGMENT


def classify_event(event: Mapping[str, Any], regimes: Sequence[Regime]) -> Classification:
    """Classify a stored detainer event by its issue date; raises ValueError without ``issued_at``."""
    facts = facts_from_event(event)
    if facts.issued_at is None:
        raise ValueError("a detainer event needs issued_at to pick its regime")
    return classify(facts, regimes, on=issued_on(facts.issued_at))


# -- for reports --------------------------------------------------------------------------------


def no_criterion_met(c: Classification) -> bool:
    """The subject meets no criterion of the regime, as far as the facts show: every one is not met.

    For the report "share of detainers whose subject meets no statutory criterion". False when some
    criterion is met, when some is unknown (count those with ``undetermined``: a missing criminal
    history must not be read as a clean one), and when no regime was in force. For the 2012-2013
    review the criteria are the governor's reported considerations, not statute.
    """
    return bool(c.criteria) and all(r.outcome is Outcome.NOT_MET for r in c.criteria)


def undetermined(c: Classification) -> bool:
    """No criterion is met but some could not be evaluated: neither side of the report's figure."""
    return not any(r.outcome is Outcome.MET for r in c.criteria) and any(
        r.outcome is Outcome.UNKNOWN for r in c.criteria
    )
