"""Pre-classify a detainer request against the Connecticut law in force on its date.

A **suggestion**, never a decision: a reviewer decides. The law is data, not code: the regimes, their
dates, criteria, duties and whether each item is "confirmed" or only "reported" live in
``chalicelib/data/ct_detainer_regimes.json`` (see ``docs/detainer-rules.md``), which a lawyer can correct.
The package knows only a small, fixed vocabulary of tests and how to combine their outcomes:

- ``facts``: what a detainer is classified on (``DetainerFacts``) and reading it from a stored event;
- ``regimes``: the regime model (``Regime``, ``Criterion``, ``Duty``, the tests) and ``regime_on``;
- ``regime_data``: reading and validating the parsed regimes file into regimes (``load_regimes``);
- ``engine``: evaluating the criteria and suggesting (``classify``, ``Classification``).

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
from chalicelib.domain.classification.regime_data import RegimeDataError, load_regimes
from chalicelib.domain.classification.regimes import (
    AnyOf,
    ConvictionTest,
    Criterion,
    Discretionary,
    Duty,
    FactTest,
    Mode,
    Outcome,
    PendingChargeTest,
    Regime,
    Status,
    Test,
    regime_on,
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
