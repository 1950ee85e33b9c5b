"""Pre-classify a detainer request against the Connecticut law in force on its date.

A **suggestion**, never a decision: a reviewer decides. The law is data, not code: the regimes, their
dates, criteria, duties and whether each item is "confirmed" or only "reported" live in
``chalicelib/data/ct_detainer_regimes.json`` (see ``DETAINER_RULES.md``), which a lawyer can correct.
This module only knows a small, fixed vocabulary of tests and how to combine their outcomes:

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
its explanation when a suggestion rests only on reported criteria. Standard library only; no I/O, no
clock. The regime is chosen by the detainer's issue date in America/New_York, as for the hold clocks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any, TypeAlias, TypeVar

from chalicelib.domain.deadlines import NEW_YORK

__all__ = [
    "NOTIFICATION_ONLY_FORMS",
    "PROBABLE_CAUSE_BOXES",
    "AnyOf",
    "Classification",
    "Conviction",
    "ConvictionTest",
    "Criterion",
    "CriterionResult",
    "DetainerFacts",
    "Discretionary",
    "Duty",
    "FactTest",
    "Mode",
    "Outcome",
    "PendingCharge",
    "PendingChargeTest",
    "Regime",
    "RegimeDataError",
    "Status",
    "Suggestion",
    "Test",
    "classify",
    "classify_event",
    "facts_from_event",
    "issued_on",
    "load_regimes",
    "no_criterion_met",
    "regime_on",
    "undetermined",
]


class Suggestion(StrEnum):
    MAY_COOPERATE = "may-cooperate"
    MAY_NOT_COOPERATE = "may-not-cooperate"
    NEEDS_JUDGMENT = "needs-judgment"


class Status(StrEnum):
    CONFIRMED = "confirmed"  # read in the law or an official summary (the rules file says so)
    REPORTED = "reported"  # secondary sources agree; not yet read in the enacted text


class Outcome(StrEnum):
    MET = "met"
    NOT_MET = "not-met"
    UNKNOWN = "unknown"


class Mode(StrEnum):
    CASE_BY_CASE = "case-by-case"
    ANY_CRITERION = "any-criterion"


_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)

# The I-247A's probable-cause boxes, as the event stores them.
PROBABLE_CAUSE_BOXES = frozenset({"final-order", "pending-proceedings", "biometric-match", "statements"})
# Forms that ask only to be told of a release, with no hold (DETAINER_RULES.md, "Forms").
NOTIFICATION_ONLY_FORMS = frozenset({"I-247N"})


# -- facts --------------------------------------------------------------------------------------


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


def _records(
    event: Mapping[str, Any], key: str, history_entered: bool, build: Callable[[Mapping[str, Any]], _T]
) -> tuple[_T, ...] | None:
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


# -- the test vocabulary ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactTest:
    """``{"fact": name}``: a yes/no fact about the detainer or the person."""

    fact: str


@dataclass(frozen=True, slots=True)
class ConvictionTest:
    """``{"conviction": {...}}``: some *final* conviction is a felony / of a class / under a statute.

    Exactly one of ``felony``, ``classes`` or ``statutes``. ``description_any`` (with ``statutes``)
    also needs one of its phrases in the conviction's description, else the outcome is unknown.
    ``unclassified_felony`` (with ``classes``) is the outcome for an "unclassified felony".
    """

    felony: bool = False
    classes: frozenset[str] = frozenset()
    statutes: frozenset[str] = frozenset()
    description_any: tuple[str, ...] = ()
    unclassified_felony: Outcome = Outcome.UNKNOWN


@dataclass(frozen=True, slots=True)
class PendingChargeTest:
    """``{"pending_charge": {"bond_posted": false}}``: some pending charge with bond (not) posted."""

    bond_posted: bool


@dataclass(frozen=True, slots=True)
class Discretionary:
    """``{"discretionary": name}``: a judgment call; when met, a human always judges."""

    name: str


@dataclass(frozen=True, slots=True)
class AnyOf:
    """``{"any": [tests]}``: met if one is met, not met if all are not met, else unknown."""

    tests: tuple[Test, ...]


Test: TypeAlias = FactTest | ConvictionTest | PendingChargeTest | Discretionary | AnyOf

# fact name → (how to read it, what met says, what not-met says)
_FACTS: dict[str, tuple[Callable[[DetainerFacts], bool | None], str, str]] = {
    "judicial_warrant": (
        lambda f: f.judicial_warrant,
        "a warrant signed by a judicial officer accompanies the detainer",
        "no warrant signed by a judicial officer accompanies the detainer",
    ),
    "tsdb_match": (
        lambda f: f.tsdb_match,
        "possible match in the Terrorist Screening Database",
        "no Terrorist Screening Database match reported",
    ),
    "outstanding_ct_warrant": (
        lambda f: f.outstanding_ct_warrant,
        "outstanding Connecticut arrest warrant",
        "no outstanding Connecticut arrest warrant",
    ),
    "gang_member": (
        lambda f: f.gang_member,
        "identified gang or Security Risk Group member",
        "not identified as a gang or Security Risk Group member",
    ),
    "final_order_of_removal": (
        lambda f: f.final_order_of_removal,
        "ICE checked the box: subject to a final order of removal",
        "ICE did not check the final-order-of-removal box",
    ),
}
_DISCRETIONARY: dict[str, tuple[Callable[[DetainerFacts], bool | None], str, str]] = {
    "public_safety_risk": (
        lambda f: f.public_safety_risk,
        "flagged as an unacceptable risk to public safety",
        "not flagged as a risk to public safety",
    ),
}
_CONVICTION_KEYS = {"felony", "classes", "statutes", "description_any", "unclassified_felony"}


# -- regimes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    text: str
    status: Status
    test: Test
    note: str | None = None

    @property
    def discretionary(self) -> bool:
        return isinstance(self.test, Discretionary)


@dataclass(frozen=True, slots=True)
class Duty:
    id: str
    text: str
    status: Status
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "status": str(self.status), "note": self.note}


@dataclass(frozen=True, slots=True)
class Regime:
    id: str
    name: str
    citation: str
    in_force_from: date
    in_force_until: date | None  # inclusive; None = still in force
    mode: Mode
    criteria: tuple[Criterion, ...]
    duties: tuple[Duty, ...]
    notes: tuple[str, ...] = ()
    # Whether the criteria also limit notification-only requests (I-247N), not just holds.
    notification_only_requests_limited: bool = False
    # Whether the explanation must say that an administrative warrant alone is never enough.
    administrative_warrant_insufficient: bool = False

    def in_force_on(self, day: date) -> bool:
        return self.in_force_from <= day and (self.in_force_until is None or day <= self.in_force_until)

    @property
    def period(self) -> str:
        until = self.in_force_until.isoformat() if self.in_force_until else "now"
        return f"{self.in_force_from.isoformat()} to {until}"


class RegimeDataError(ValueError):
    """The regimes file cannot be used; ``problems`` lists every reason, each with its JSON path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid detainer regimes data:\n- " + "\n- ".join(self.problems))


_TOP_KEYS = {"version", "description", "sources", "regimes"}
_REGIME_KEYS = {
    "id",
    "name",
    "citation",
    "in_force_from",
    "in_force_until",
    "mode",
    "notification_only_requests_limited",
    "administrative_warrant_insufficient",
    "criteria",
    "duties",
    "notes",
}
_REGIME_REQUIRED = _REGIME_KEYS - {"notes"}
_CRITERION_KEYS = {"id", "text", "status", "test", "note"}
_DUTY_KEYS = {"id", "text", "status", "note"}
# Connecticut's offence classes (§§ 53a-25 to 53a-27), normalised: "Class B felony" → "b felony".
_CT_CLASSES = frozenset(
    [f"{letter} felony" for letter in "abcde"]
    + ["unclassified felony", "unclassified misdemeanor", "infraction", "violation"]
    + [f"{letter} misdemeanor" for letter in "abcd"]
)
_STATUTE = re.compile(r"(\d+[a-z]{0,3}-\d+[a-z]{0,3})")


class _Reader:
    """Strict reading of the regimes file: every problem is collected, then raised at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, value: Any, path: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(path, "must be an object")
            return {}
        for key in sorted(set(value) - allowed):
            self.fail(f"{path}.{key}", "is not a known field")
        for key in sorted(required - set(value)):
            self.fail(f"{path}.{key}", "is required")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be a non-empty string")
            return ""
        return value.strip()

    def opt_text(self, value: Any, path: str) -> str | None:
        return None if value is None else self.text(value, path)

    def flag(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
            return False
        return value

    def day(self, value: Any, path: str) -> date | None:
        if not isinstance(value, str):
            self.fail(path, "must be an ISO date (YYYY-MM-DD)")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(path, f"{value!r} is not an ISO date (YYYY-MM-DD)")
            return None

    def choice(self, value: Any, path: str, kind: type[_E]) -> _E | None:
        try:
            return kind(value)
        except ValueError:
            self.fail(path, f"must be one of {', '.join(m.value for m in kind)}, got {value!r}")
            return None

    def texts(self, value: Any, path: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.fail(path, "must be a non-empty list of strings")
            return ()
        return tuple(self.text(v, f"{path}[{i}]") for i, v in enumerate(value))

    def test(self, value: Any, path: str) -> Test | None:  # noqa: PLR0911 - one return per test kind
        kinds = {"fact", "conviction", "pending_charge", "discretionary", "any"}
        if not isinstance(value, Mapping) or len(value) != 1:
            self.fail(path, f"must be an object with exactly one of {', '.join(sorted(kinds))}")
            return None
        ((kind, arg),) = value.items()
        if kind not in kinds:
            self.fail(path, f"unknown test kind {kind!r}; expected one of {', '.join(sorted(kinds))}")
            return None
        if kind == "fact":
            if arg not in _FACTS:
                self.fail(f"{path}.fact", f"unknown fact {arg!r}; expected one of {', '.join(_FACTS)}")
                return None
            return FactTest(arg)
        if kind == "discretionary":
            if arg not in _DISCRETIONARY:
                self.fail(
                    path, f"unknown discretionary judgment {arg!r}; expected {', '.join(_DISCRETIONARY)}"
                )
                return None
            return Discretionary(arg)
        if kind == "pending_charge":
            spec = self.mapping(arg, f"{path}.pending_charge", {"bond_posted"}, {"bond_posted"})
            return PendingChargeTest(self.flag(spec.get("bond_posted"), f"{path}.pending_charge.bond_posted"))
        if kind == "any":
            if not isinstance(arg, list) or len(arg) < 2:
                self.fail(f"{path}.any", "must be a list of at least two tests")
                return None
            tests = [self.test(t, f"{path}.any[{i}]") for i, t in enumerate(arg)]
            return AnyOf(tuple(t for t in tests if t is not None))
        return self.conviction(arg, f"{path}.conviction")

    def conviction(self, arg: Any, path: str) -> ConvictionTest | None:
        spec = self.mapping(arg, path, _CONVICTION_KEYS, set())
        chosen = [key for key in ("felony", "classes", "statutes") if key in spec]
        if len(chosen) != 1:
            self.fail(path, "must have exactly one of felony, classes, statutes")
            return None
        if "description_any" in spec and "statutes" not in spec:
            self.fail(f"{path}.description_any", "is allowed only with statutes")
        if "unclassified_felony" in spec and "classes" not in spec:
            self.fail(f"{path}.unclassified_felony", "is allowed only with classes")
        if "felony" in spec:
            if spec["felony"] is not True:
                self.fail(f"{path}.felony", "must be true")
            return ConvictionTest(felony=True)
        if "classes" in spec:
            classes = frozenset(_normal_class(c) for c in self.texts(spec["classes"], f"{path}.classes"))
            unclassified = self.choice(
                spec.get("unclassified_felony", "unknown"), f"{path}.unclassified_felony", Outcome
            )
            return ConvictionTest(classes=classes, unclassified_felony=unclassified or Outcome.UNKNOWN)
        statutes: set[str] = set()
        for i, raw in enumerate(self.texts(spec["statutes"], f"{path}.statutes")):
            section = _section(raw)
            if section is None or section != raw.casefold():
                self.fail(f"{path}.statutes[{i}]", f"must be a bare section number like 53a-71, got {raw!r}")
            else:
                statutes.add(section)
        phrases: tuple[str, ...] = ()
        if "description_any" in spec:
            phrases = tuple(
                p.casefold() for p in self.texts(spec["description_any"], f"{path}.description_any")
            )
        return ConvictionTest(statutes=frozenset(statutes), description_any=phrases)

    def unique_ids(self, items: Iterable[Mapping[str, Any]], path: str) -> None:
        seen: set[Any] = set()
        for item in items:
            ident = item.get("id")
            if ident in seen:
                self.fail(path, f"id {ident!r} appears twice")
            seen.add(ident)

    def criterion(self, value: Any, path: str) -> Criterion | None:
        spec = self.mapping(value, path, _CRITERION_KEYS, _CRITERION_KEYS - {"note"})
        ident = self.text(spec.get("id"), f"{path}.id")
        text = self.text(spec.get("text"), f"{path}.text")
        status = self.choice(spec.get("status"), f"{path}.status", Status)
        test = self.test(spec.get("test"), f"{path}.test") if "test" in spec else None
        note = self.opt_text(spec.get("note"), f"{path}.note")
        if status is None or test is None:
            return None
        return Criterion(id=ident, text=text, status=status, test=test, note=note)

    def duty(self, value: Any, path: str) -> Duty | None:
        spec = self.mapping(value, path, _DUTY_KEYS, _DUTY_KEYS - {"note"})
        ident = self.text(spec.get("id"), f"{path}.id")
        text = self.text(spec.get("text"), f"{path}.text")
        status = self.choice(spec.get("status"), f"{path}.status", Status)
        note = self.opt_text(spec.get("note"), f"{path}.note")
        return None if status is None else Duty(id=ident, text=text, status=status, note=note)

    def items(self, value: Any, path: str, *, allow_empty: bool) -> list[Any]:
        if not isinstance(value, list) or (not value and not allow_empty):
            self.fail(path, "must be a list" + ("" if allow_empty else " with at least one entry"))
            return []
        return value

    def regime(self, value: Any, path: str) -> Regime | None:
        spec = self.mapping(value, path, _REGIME_KEYS, _REGIME_REQUIRED)
        mode = self.choice(spec.get("mode"), f"{path}.mode", Mode)
        starts = self.day(spec.get("in_force_from"), f"{path}.in_force_from")
        until_raw = spec.get("in_force_until")
        until = None if until_raw is None else self.day(until_raw, f"{path}.in_force_until")
        if starts and until and until < starts:
            self.fail(f"{path}.in_force_until", "is before in_force_from")
        raw_criteria = self.items(spec.get("criteria"), f"{path}.criteria", allow_empty=False)
        raw_duties = self.items(spec.get("duties"), f"{path}.duties", allow_empty=True)
        self.unique_ids((c for c in raw_criteria if isinstance(c, Mapping)), f"{path}.criteria")
        self.unique_ids((d for d in raw_duties if isinstance(d, Mapping)), f"{path}.duties")
        criteria = [self.criterion(c, f"{path}.criteria[{i}]") for i, c in enumerate(raw_criteria)]
        duties = [self.duty(d, f"{path}.duties[{i}]") for i, d in enumerate(raw_duties)]
        notes = self.texts(spec["notes"], f"{path}.notes") if "notes" in spec else ()
        regime = Regime(
            id=self.text(spec.get("id"), f"{path}.id"),
            name=self.text(spec.get("name"), f"{path}.name"),
            citation=self.text(spec.get("citation"), f"{path}.citation"),
            in_force_from=starts or date.min,
            in_force_until=until,
            mode=mode or Mode.CASE_BY_CASE,
            criteria=tuple(c for c in criteria if c is not None),
            duties=tuple(d for d in duties if d is not None),
            notes=notes,
            notification_only_requests_limited=self.flag(
                spec.get("notification_only_requests_limited"), f"{path}.notification_only_requests_limited"
            ),
            administrative_warrant_insufficient=self.flag(
                spec.get("administrative_warrant_insufficient"), f"{path}.administrative_warrant_insufficient"
            ),
        )
        return regime if mode is not None and starts is not None else None


def load_regimes(data: Mapping[str, Any]) -> tuple[Regime, ...]:
    """The regimes of a parsed regimes file, in date order. Raises RegimeDataError listing every problem.

    Strict: unknown fields, unknown test kinds or facts, bad statuses or dates, duplicate ids and
    overlapping date ranges are refused. Gaps between regimes are allowed (no regime applies then).
    """
    reader = _Reader()
    top = reader.mapping(data, "$", _TOP_KEYS, {"version", "sources", "regimes"})
    if "version" in top:
        reader.text(top["version"], "$.version")
    raw = reader.items(top.get("regimes"), "$.regimes", allow_empty=False)
    reader.unique_ids((r for r in raw if isinstance(r, Mapping)), "$.regimes")
    regimes = sorted(
        (
            r
            for r in (reader.regime(value, f"$.regimes[{i}]") for i, value in enumerate(raw))
            if r is not None
        ),
        key=lambda r: r.in_force_from,
    )
    for earlier, later in pairwise(regimes):
        if earlier.in_force_until is None or earlier.in_force_until >= later.in_force_from:
            reader.fail(
                "$.regimes", f"{earlier.id!r} ({earlier.period}) overlaps {later.id!r} ({later.period})"
            )
    if reader.problems:
        raise RegimeDataError(reader.problems)
    return tuple(regimes)


def regime_on(regimes: Iterable[Regime], day: date) -> Regime | None:
    """The regime in force on ``day`` (a New York calendar date; both ends inclusive), if any."""
    return next((regime for regime in regimes if regime.in_force_on(day)), None)


# -- evaluating one criterion -------------------------------------------------------------------


def _normal_class(value: str) -> str:
    words = value.casefold().split()
    if words and words[0] == "class":
        words = words[1:]
    return " ".join(words)


def _section(statute: str) -> str | None:
    """The General Statutes section in a citation: "C.G.S. § 53a-71(a)(1)" → "53a-71"."""
    found = _STATUTE.search(statute.casefold().replace(" ", ""))
    return found.group(1) if found else None


def _label(c: Conviction | PendingCharge) -> str:
    parts = [f"§ {c.statute}" if c.statute else "statute not given", c.offence_class or "class not given"]
    if isinstance(c, Conviction) and c.on:
        parts.append(c.on.isoformat())
    return ", ".join(parts)


def _matches(test: ConvictionTest, c: Conviction) -> Outcome:  # noqa: PLR0911 - one return per case
    """Whether one conviction is of the kind the test names, leaving finality aside."""
    if test.statutes:
        section = _section(c.statute) if c.statute else None
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
    cls = _normal_class(c.offence_class)
    lesser = any(word in cls for word in ("misdemeanor", "infraction", "violation"))
    if test.felony:
        return Outcome.MET if "felony" in cls else Outcome.NOT_MET if lesser else Outcome.UNKNOWN
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


def _evaluate(test: Test, facts: DetainerFacts) -> tuple[Outcome, str]:
    if isinstance(test, FactTest | Discretionary):
        table = _FACTS if isinstance(test, FactTest) else _DISCRETIONARY
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
        name: read(facts) for name, (read, _, _) in (_FACTS | _DISCRETIONARY).items()
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
    return lines


def classify(facts: DetainerFacts, regimes: Sequence[Regime], *, on: date) -> Classification:
    """Pre-classify a detainer against the regime in force ``on`` (its issue date in New York).

    Never raises for missing facts: what is not given makes a criterion unknown.
    """
    regime = regime_on(regimes, on)
    if regime is None:
        first = min((r.in_force_from for r in regimes), default=None)
        starts = f" (the first began on {first.isoformat()})" if first and on < first else ""
        return Classification(
            regime_id=None,
            regime_name=None,
            citation=None,
            suggestion=Suggestion.NEEDS_JUDGMENT,
            criteria=(),
            duties=(),
            explanation=(
                f"No Connecticut regime was in force on {on.isoformat()}{starts}: no state criteria apply, "
                "so there is nothing to suggest; a human must judge.",
                _CLOSING,
            ),
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
