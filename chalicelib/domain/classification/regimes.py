"""The regime model: the law in force over a period, as criteria over a fixed vocabulary of tests.

A regime (``Regime``) names its period, its mode (``case-by-case`` or ``any-criterion``), its
criteria (each a ``Criterion`` with a ``Test`` and a ``Status``: confirmed or only reported) and the
duties that follow a request (``Duty``). The tests are a small, fixed vocabulary: a yes/no fact
(``FactTest``), a final conviction (``ConvictionTest``), a pending charge (``PendingChargeTest``), a
discretionary judgment (``Discretionary``) and any of several tests (``AnyOf``). Standard library
only; no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from chalicelib.domain.classification.facts import DetainerFacts

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
    "Outcome",
    "PendingChargeTest",
    "Regime",
    "Status",
    "Test",
    "normal_class",
    "regime_on",
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


# A General Statutes section number in a citation, e.g. the 53a-71 of "C.G.S. § 53a-71(a)(1)".
_STATUTE = re.compile(r"(\d+[a-z]{0,3}-\d+[a-z]{0,3})")


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


type Test = FactTest | ConvictionTest | PendingChargeTest | Discretionary | AnyOf

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


def regime_on(regimes: Iterable[Regime], day: date) -> Regime | None:
    """The regime in force on ``day`` (a New York calendar date; both ends inclusive), if any."""
    return next((regime for regime in regimes if regime.in_force_on(day)), None)


# -- comparing offence classes and statutes ------------------------------------------------------


def normal_class(value: str) -> str:
    """An offence class as the tests compare it: "Class B felony" → "b felony"."""
    words = value.casefold().split()
    if words and words[0] == "class":
        words = words[1:]
    return " ".join(words)


def statute_section(statute: str) -> str | None:
    """The General Statutes section in a citation: "C.G.S. § 53a-71(a)(1)" → "53a-71"."""
    found = _STATUTE.search(statute.casefold().replace(" ", ""))
    return found.group(1) if found else None
