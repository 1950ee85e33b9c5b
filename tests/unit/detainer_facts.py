"""What the classification tests share: the Connecticut regimes as loaded, the dates each regime
starts, and builders and readers of detainer facts and their classification (``clean``: every fact
given, none meeting any criterion)."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.data.regimes import load_ct_regimes
from chalicelib.domain.classification import (
    Classification,
    Conviction,
    DetainerFacts,
    Outcome,
    PendingCharge,
    Regime,
)

REGIMES = load_ct_regimes()

GOVERNOR = date(2013, 6, 3)
PA_13_155 = date(2016, 6, 1)
PA_19 = date(2022, 6, 1)
HB_7259 = date(2026, 1, 15)


def regime(regime_id: str) -> Regime:
    return next(r for r in REGIMES if r.id == regime_id)


def conviction(
    statute: str = "53a-125b",
    cls: str | None = "C misdemeanor",
    *,
    final: bool | None = True,
    description: str = "",
) -> Conviction:
    return Conviction(
        statute=statute, offence_class=cls, on=date(2012, 5, 1), final=final, description=description or None
    )


def clean(**overrides: Any) -> DetainerFacts:
    """Every fact given, none meeting any criterion: a misdemeanor conviction, a charge with bond posted."""
    values: dict[str, Any] = {
        "form": "I-247A",
        "judicial_warrant": False,
        "tsdb_match": False,
        "outstanding_ct_warrant": False,
        "gang_member": False,
        "public_safety_risk": False,
        "probable_cause": frozenset({"pending-proceedings"}),
        "convictions": (conviction(),),
        "pending_charges": (
            PendingCharge(statute="53a-125b", offence_class="A misdemeanor", bond_posted=True),
        ),
    }
    values.update(overrides)
    return DetainerFacts(**values)


def outcomes(c: Classification) -> dict[str, Outcome]:
    return {r.id: r.outcome for r in c.criteria}


def met(c: Classification) -> set[str]:
    return {r.id for r in c.criteria if r.outcome is Outcome.MET}


def text_of(c: Classification) -> str:
    return "\n".join(c.explanation)
