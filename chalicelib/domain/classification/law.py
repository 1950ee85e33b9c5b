"""The detainer law of one state, as Vigil has it: its regimes, or none on file.

A detainer is classified and timed under the law of the state its place is in (``StateLaw``): the
regimes of that state's file when there is one, otherwise a needs-judgment that says no regime is on
file and no state hold clock. Standard library only; no I/O, no clock (``chalicelib.data.regimes``
reads the files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from chalicelib.domain.classification.engine import Classification, classify, no_regime_on_file
from chalicelib.domain.classification.facts import DetainerFacts
from chalicelib.domain.classification.regimes import Regime, state_clocks
from chalicelib.domain.deadlines import StateClocks

__all__ = ["StateLaw"]


@dataclass(frozen=True)
class StateLaw:
    """One state's detainer law: ``regimes`` in date order, or None when Vigil has no file for it."""

    state_id: str  # "us-ct"
    name: str  # "Connecticut", as the jurisdiction graph names the state
    regimes: tuple[Regime, ...] | None

    @property
    def on_file(self) -> bool:
        return self.regimes is not None

    def classify(self, facts: DetainerFacts, *, on: date) -> Classification:
        """The suggestion for a detainer issued ``on`` (a New York date) in this state."""
        if self.regimes is None:
            return no_regime_on_file(self.name, on=on)
        return classify(facts, self.regimes, on=on)

    @property
    def clocks(self) -> StateClocks:
        """The state's hold clocks for ``chalicelib.domain.deadlines``; none when no regime is on file."""
        if self.regimes is None:
            return StateClocks(self.name, (), on_file=False)
        return state_clocks(self.name, self.regimes)
