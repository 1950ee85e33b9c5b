"""Pre-classify a detainer request against the law of its state in force on its date.

A **suggestion**, never a decision: a reviewer decides. The law is data, not code: each state's
regimes, their dates, criteria, duties, hold clocks, whether each item is "confirmed" or only
"reported" and its source live in ``chalicelib/data/regimes/<state>.json`` (see
``docs/detainer-rules.md``), which a lawyer can correct. The package knows only a small, fixed
vocabulary of tests and how to combine their outcomes:

- ``facts``: what a detainer is classified on (``DetainerFacts``) and reading it from a stored event;
- ``regimes``: the regime model (``Regime``, ``Criterion``, ``Duty``, the tests) and ``regime_on``;
- ``regime_data``: reading and validating the parsed regimes file into regimes (``load_regimes``);
- ``engine``: evaluating the criteria and suggesting (``classify``, ``Classification``);
- ``states``: which state a place is in, and its name; ``law``: one state's law (``StateLaw``).

The names below are the package's public names, importable from here. Standard library only; no
I/O, no clock: ``chalicelib.data.regimes`` reads the bundled file.
"""

from __future__ import annotations

from chalicelib.domain.classification.engine import (
    NOTIFICATION_ONLY_FORMS,
    Classification,
    CriterionResult,
    Suggestion,
    classify,
    classify_event,
    no_criterion_met,
    no_regime_on_file,
    undetermined,
)
from chalicelib.domain.classification.facts import (
    PROBABLE_CAUSE_BOXES,
    Conviction,
    DetainerFacts,
    PendingCharge,
    facts_from_event,
    issued_on,
)
from chalicelib.domain.classification.law import StateLaw
from chalicelib.domain.classification.regime_data import RegimeDataError, load_regimes
from chalicelib.domain.classification.regimes import (
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
    regime_on,
    state_clocks,
)

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
    "NeedsJudgment",
    "Outcome",
    "PendingCharge",
    "PendingChargeTest",
    "Regime",
    "RegimeClock",
    "RegimeDataError",
    "StateLaw",
    "Status",
    "Suggestion",
    "Test",
    "classify",
    "classify_event",
    "facts_from_event",
    "issued_on",
    "load_regimes",
    "no_criterion_met",
    "no_regime_on_file",
    "regime_on",
    "state_clocks",
    "state_of",
    "undetermined",
]
