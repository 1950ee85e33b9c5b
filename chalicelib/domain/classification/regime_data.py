"""Reading the regimes data (the parsed JSON of a regimes file) into ``Regime`` values, strictly.

Every problem is collected with its JSON path and raised at once (``RegimeDataError``), so a lawyer
correcting the file sees all that is wrong in one go. Reading the file itself is data access
(``chalicelib.data.regimes``); this module only takes what ``json.loads`` gave. Standard library
only; no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import Any, TypeVar

from chalicelib.domain.classification.regimes import (
    DISCRETIONARY_JUDGMENTS,
    YES_NO_FACTS,
    AnyOf,
    ConvictionTest,
    Criterion,
    Discretionary,
    Duty,
    FactTest,
    Mode,
    NeedsJudgment,
    Outcome,
    PendingChargeTest,
    Regime,
    RegimeClock,
    Status,
    Test,
    normal_class,
    statute_section,
)
from chalicelib.domain.deadlines import HoldClock

# A state's id as the jurisdiction graph writes it: us- and its postal code.
STATE_ID_FORM = re.compile(r"us-[a-z]{2}")

__all__ = ["RegimeDataError", "load_regimes"]


class RegimeDataError(ValueError):
    """The regimes file cannot be used; ``problems`` lists every reason, each with its JSON path, and
    ``source`` names the file when the reader is given it."""

    def __init__(self, problems: Sequence[str], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid detainer regimes data{where}:\n- " + "\n- ".join(self.problems))


_TOP_KEYS = {"version", "state", "description", "sources", "regimes"}
_REGIME_KEYS = {
    "id",
    "name",
    "citation",
    "in_force_from",
    "in_force_until",
    "mode",
    "notification_only_requests_limited",
    "administrative_warrant_insufficient",
    "hold_clock",
    "criteria",
    "duties",
    "notes",
}
_REGIME_REQUIRED = _REGIME_KEYS - {"notes"}
# Every criterion, duty and hold clock names its source and how sure it is ("status").
_CRITERION_KEYS = {"id", "text", "status", "source", "test", "note"}
_DUTY_KEYS = {"id", "text", "status", "source", "note"}
_CLOCK_KEYS = {"clock", "text", "status", "source", "note"}
_CONVICTION_KEYS = {"felony", "misdemeanor", "classes", "statutes", "description_any", "unclassified_felony"}
_GRADES = ("felony", "misdemeanor", "classes", "statutes")
_E = TypeVar("_E", bound=StrEnum)


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

    def test(self, value: Any, path: str) -> Test | None:  # noqa: PLR0911  # one return per test kind
        kinds = {"fact", "conviction", "pending_charge", "discretionary", "any", "needs_judgment"}
        if not isinstance(value, Mapping) or len(value) != 1:
            self.fail(path, f"must be an object with exactly one of {', '.join(sorted(kinds))}")
            return None
        ((kind, arg),) = value.items()
        if kind not in kinds:
            self.fail(path, f"unknown test kind {kind!r}; expected one of {', '.join(sorted(kinds))}")
            return None
        if kind == "fact":
            if arg not in YES_NO_FACTS:
                self.fail(f"{path}.fact", f"unknown fact {arg!r}; expected one of {', '.join(YES_NO_FACTS)}")
                return None
            return FactTest(arg)
        if kind == "discretionary":
            if arg not in DISCRETIONARY_JUDGMENTS:
                expected = ", ".join(DISCRETIONARY_JUDGMENTS)
                self.fail(path, f"unknown discretionary judgment {arg!r}; expected {expected}")
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
        if kind == "needs_judgment":
            inner = self.test(arg, f"{path}.needs_judgment")
            return None if inner is None else NeedsJudgment(inner)
        return self.conviction(arg, f"{path}.conviction")

    def conviction(self, arg: Any, path: str) -> ConvictionTest | None:
        spec = self.mapping(arg, path, _CONVICTION_KEYS, set())
        chosen = [key for key in _GRADES if key in spec]
        if len(chosen) != 1:
            self.fail(path, f"must have exactly one of {', '.join(_GRADES)}")
            return None
        if "description_any" in spec and "statutes" not in spec:
            self.fail(f"{path}.description_any", "is allowed only with statutes")
        if "unclassified_felony" in spec and "classes" not in spec:
            self.fail(f"{path}.unclassified_felony", "is allowed only with classes")
        for grade in ("felony", "misdemeanor"):
            if grade in spec:
                if spec[grade] is not True:
                    self.fail(f"{path}.{grade}", "must be true")
                return ConvictionTest(felony=grade == "felony", misdemeanor=grade == "misdemeanor")
        if "classes" in spec:
            classes = frozenset(normal_class(c) for c in self.texts(spec["classes"], f"{path}.classes"))
            unclassified = self.choice(
                spec.get("unclassified_felony", "unknown"), f"{path}.unclassified_felony", Outcome
            )
            return ConvictionTest(classes=classes, unclassified_felony=unclassified or Outcome.UNKNOWN)
        raws = self.texts(spec["statutes"], f"{path}.statutes")
        # Hyphenated sections (Connecticut's 53a-71) or decimal ones (California's 667.5), never both.
        decimal = not any("-" in raw for raw in raws)
        statutes: set[str] = set()
        for i, raw in enumerate(raws):
            section = statute_section(raw, decimal=decimal)
            if section is None or section != raw.casefold():
                self.fail(
                    f"{path}.statutes[{i}]",
                    f"must be a bare section number like 53a-71 or 667.5 (not both kinds), got {raw!r}",
                )
            else:
                statutes.add(section)
        phrases: tuple[str, ...] = ()
        if "description_any" in spec:
            phrases = tuple(
                p.casefold() for p in self.texts(spec["description_any"], f"{path}.description_any")
            )
        return ConvictionTest(statutes=frozenset(statutes), description_any=phrases, decimal_sections=decimal)

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
        source = self.text(spec.get("source"), f"{path}.source")
        test = self.test(spec.get("test"), f"{path}.test") if "test" in spec else None
        note = self.opt_text(spec.get("note"), f"{path}.note")
        if status is None or test is None:
            return None
        return Criterion(id=ident, text=text, status=status, test=test, note=note, source=source)

    def duty(self, value: Any, path: str) -> Duty | None:
        spec = self.mapping(value, path, _DUTY_KEYS, _DUTY_KEYS - {"note"})
        ident = self.text(spec.get("id"), f"{path}.id")
        text = self.text(spec.get("text"), f"{path}.text")
        status = self.choice(spec.get("status"), f"{path}.status", Status)
        source = self.text(spec.get("source"), f"{path}.source")
        note = self.opt_text(spec.get("note"), f"{path}.note")
        return None if status is None else Duty(id=ident, text=text, status=status, note=note, source=source)

    def hold_clock(self, value: Any, path: str) -> RegimeClock | None:
        spec = self.mapping(value, path, _CLOCK_KEYS, _CLOCK_KEYS - {"note"})
        clock = self.choice(spec.get("clock"), f"{path}.clock", HoldClock)
        text = self.text(spec.get("text"), f"{path}.text")
        status = self.choice(spec.get("status"), f"{path}.status", Status)
        source = self.text(spec.get("source"), f"{path}.source")
        note = self.opt_text(spec.get("note"), f"{path}.note")
        if clock is None or status is None:
            return None
        return RegimeClock(clock=clock, text=text, status=status, source=source, note=note)

    def items(self, value: Any, path: str, *, allow_empty: bool) -> list[Any]:
        if not isinstance(value, list) or (not value and not allow_empty):
            self.fail(path, "must be a list" + ("" if allow_empty else " with at least one entry"))
            return []
        return value

    def regime(self, value: Any, path: str, state: str) -> Regime | None:
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
        clock = self.hold_clock(spec.get("hold_clock"), f"{path}.hold_clock")
        if clock is None:
            return None
        regime = Regime(
            id=self.text(spec.get("id"), f"{path}.id"),
            name=self.text(spec.get("name"), f"{path}.name"),
            citation=self.text(spec.get("citation"), f"{path}.citation"),
            in_force_from=starts or date.min,
            in_force_until=until,
            mode=mode or Mode.CASE_BY_CASE,
            criteria=tuple(c for c in criteria if c is not None),
            duties=tuple(d for d in duties if d is not None),
            hold_clock=clock,
            state=state,
            notes=notes,
            notification_only_requests_limited=self.flag(
                spec.get("notification_only_requests_limited"), f"{path}.notification_only_requests_limited"
            ),
            administrative_warrant_insufficient=self.flag(
                spec.get("administrative_warrant_insufficient"), f"{path}.administrative_warrant_insufficient"
            ),
        )
        return regime if mode is not None and starts is not None else None


def load_regimes(
    data: Mapping[str, Any], *, source: str | None = None, state: str | None = None, state_name: str = ""
) -> tuple[Regime, ...]:
    """The regimes of a parsed regimes file, in date order. Raises RegimeDataError listing every problem.

    Strict: unknown fields, unknown test kinds or facts, bad statuses or dates, duplicate ids and
    overlapping date ranges are refused. Gaps between regimes are allowed (no regime applies then).
    ``source`` names the file in the error; ``state``, when given, is the state id the file must be for,
    and ``state_name`` its name ("California", as the jurisdiction graph names it) for the explanations.
    """
    reader = _Reader()
    top = reader.mapping(data, "$", _TOP_KEYS, {"version", "state", "sources", "regimes"})
    if "version" in top:
        reader.text(top["version"], "$.version")
    state_id = top.get("state")
    if "state" in top and not (isinstance(state_id, str) and STATE_ID_FORM.fullmatch(state_id)):
        reader.fail("$.state", f"must be a state id like us-ct, got {state_id!r}")
    elif "state" in top and state is not None and state_id != state:
        reader.fail("$.state", f"is {state_id!r}, but the file is for {state!r}")
    raw = reader.items(top.get("regimes"), "$.regimes", allow_empty=False)
    reader.unique_ids((r for r in raw if isinstance(r, Mapping)), "$.regimes")
    regimes = sorted(
        (
            r
            for r in (reader.regime(value, f"$.regimes[{i}]", state_name) for i, value in enumerate(raw))
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
        raise RegimeDataError(reader.problems, source=source)
    return tuple(regimes)
