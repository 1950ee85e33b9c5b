"""The bundled Connecticut detainer regimes (``ct_detainer_regimes.json``), parsed once per process."""

from __future__ import annotations

import functools
import json
from importlib import resources

from chalicelib.domain.classification.regime_data import load_regimes
from chalicelib.domain.classification.regimes import Regime

__all__ = ["REGIMES_FILE", "load_ct_regimes"]

REGIMES_FILE = "ct_detainer_regimes.json"


@functools.cache
def load_ct_regimes() -> tuple[Regime, ...]:
    """The regimes in date order; raises RegimeDataError if a correction made the file unusable."""
    text = (
        resources.files(__package__ or "chalicelib.data").joinpath(REGIMES_FILE).read_text(encoding="utf-8")
    )
    return load_regimes(json.loads(text))
