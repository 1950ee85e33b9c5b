"""The regime model: the law in force over a period, as criteria over a fixed vocabulary of tests.

A regime (``Regime``) names its period, its mode (``case-by-case`` or ``any-criterion``), its
criteria (each a ``Criterion`` with a ``Test`` and a ``Status``: confirmed or only reported) and the
duties that follow a request (``Duty``) and its hold clock (``RegimeClock``); every item names its
source. The tests are a small, fixed vocabulary: a yes/no fact (``FactTest``), a final conviction
(``ConvictionTest``), a pending charge (``PendingChargeTest``), a discretionary judgment
(``Discretionary``), any of several tests (``AnyOf``) and a test whose "met" can only say that the
criterion may apply (``NeedsJudgment``). Standard library only; no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from chalicelib.domain.classification.facts import DetainerFacts
from chalicelib.domain.deadlines import HoldClock, StateClock, StateClocks

__all__ = [
    "DISCRETIONARY_JUDGMENTS",
    "YES_NO_FACTS",
    "AnyOf",
    "ConvictionTest",
    "Criterion",
    "Discretionary",
    "Duty",
    "FactTest",
    "Mode",
    "NeedsJudgment",
    "Outcome",
    "PendingChargeTest",
    "Regime",
    "RegimeClock",
    "Status",
    "Test",
    "normal_class",
    "regime_on",
    "state_clocks",
    "statute_section",
]


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


# A section number in a citation. Hyphenated like Connecticut's General Statutes: the 53a-71 of
# "C.G.S. § 53a-71(a)(1)"; decimal like California's codes: the 667.5 of "Penal Code § 667.5(c)".
_STATUTE = re.compile(r"(\d+[a-z]{0,3}-\d+[a-z]{0,3})")
_DECIMAL_SECTION = re.compile(r"(\d+(?:\.\d+)?)")


# -- the test vocabulary ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactTest:
    """``{"fact": name}``: a yes/no fact about the detainer or the person."""

    fact: str


@dataclass(frozen=True, slots=True)
class ConvictionTest:
    """``{"conviction": {...}}``: some *final* conviction is a felony / a misdemeanor / of a class /
    under a statute.

    Exactly one of ``felony``, ``misdemeanor``, ``classes`` or ``statutes``. ``description_any`` (with
    ``statutes``) also needs one of its phrases in the conviction's description, else the outcome is
    unknown. ``unclassified_felony`` (with ``classes``) is the outcome for an "unclassified felony".
    ``decimal_sections``: the statutes are decimal section numbers (California's "667.5"), not
    hyphenated ones (Connecticut's "53a-71"); the listed sections themselves say which.
    """

    felony: bool = False
    misdemeanor: bool = False
    classes: frozenset[str] = frozenset()
    statutes: frozenset[str] = frozenset()
    description_any: tuple[str, ...] = ()
    unclassified_felony: Outcome = Outcome.UNKNOWN
    decimal_sections: bool = False


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


@dataclass(frozen=True, slots=True)
class NeedsJudgment:
    """``{"needs_judgment": test}``: the facts can show only that the criterion *may* apply.

    For a rule the facts cannot decide (a felony "punishable by imprisonment in the state prison", a
    conviction "within the past five years" of an offence on a list "not limited to" its sections):
    where ``test`` is met the outcome is unknown, for a human to judge; where it is not met, not met.
    """

    test: Test


type Test = FactTest | ConvictionTest | PendingChargeTest | Discretionary | AnyOf | NeedsJudgment

# The names a FactTest and a Discretionary may use: name → (how to read it, what met says, what
# not-met says). The regimes file may name only these; the engine reads and words them.
YES_NO_FACTS: dict[str, tuple[Callable[[DetainerFacts], bool | None], str, str]] = {
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
DISCRETIONARY_JUDGMENTS: dict[str, tuple[Callable[[DetainerFacts], bool | None], str, str]] = {
    "public_safety_risk": (
        lambda f: f.public_safety_risk,
        "flagged as an unacceptable risk to public safety",
        "not flagged as a risk to public safety",
    ),
}

# -- regimes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    text: str
    status: Status
    test: Test
    note: str | None = None
    source: str = ""  # the section and address read, or the rules file

    @property
    def discretionary(self) -> bool:
        return isinstance(self.test, Discretionary)


@dataclass(frozen=True, slots=True)
class Duty:
    id: str
    text: str
    status: Status
    note: str | None = None
    source: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "status": str(self.status), "note": self.note}


@dataclass(frozen=True, slots=True)
class RegimeClock:
    """The hold clock a regime sets (computed by ``chalicelib.domain.deadlines``) and what it says."""

    clock: HoldClock
    text: str  # "48 hours excluding Saturdays, Sundays and federal holidays"
    status: Status
    source: str
    note: str | None = None


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
    hold_clock: RegimeClock
    state: str  # the state's name, "Connecticut"
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


def regime_on(regimes: Iterable[Regime], day: date) -> Regime | None:
    """The regime in force on ``day`` (a New York calendar date; both ends inclusive), if any."""
    return next((regime for regime in regimes if regime.in_force_on(day)), None)


def state_clocks(state: str, regimes: Iterable[Regime]) -> StateClocks:
    """The hold clocks of a state's regimes, each ruled "<name> (<period>): <clock>", for deadlines."""
    clocks = []
    for r in regimes:
        start = r.in_force_from.isoformat()
        period = f"{start} to {r.in_force_until.isoformat()}" if r.in_force_until else f"from {start}"
        rule = f"{r.name} ({period}): {r.hold_clock.text}"
        clocks.append(StateClock(r.in_force_from, r.in_force_until, r.hold_clock.clock, rule))
    return StateClocks(state, tuple(clocks))


# -- comparing offence classes and statutes ------------------------------------------------------


def normal_class(value: str) -> str:
    """An offence class as the tests compare it: "Class B felony" → "b felony"."""
    words = value.casefold().split()
    if words and words[0] == "class":
        words = words[1:]
    return " ".join(words)


def statute_section(statute: str, *, decimal: bool = False) -> str | None:
    """The section in a citation: "C.G.S. § 53a-71(a)(1)" → "53a-71"; with ``decimal``, "Penal Code
    § 667.5(c)" → "667.5"."""
    found = (_DECIMAL_SECTION if decimal else _STATUTE).search(statute.casefold().replace(" ", ""))
    return found.group(1) if found else None
