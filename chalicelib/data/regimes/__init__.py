"""The bundled detainer regimes, one file per state (``<state id>.json``, e.g. ``us-ct.json``).

Read lazily: nothing is read at import, and classifying a detainer reads only its own state's file,
once per process (a warm Lambda reuses it). A state with no file has no regime on file (``None``);
a file that cannot be used is refused with its name, never half-read.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from chalicelib.data import load_registry
from chalicelib.domain.classification.law import StateLaw
from chalicelib.domain.classification.regime_data import RegimeDataError, load_regimes
from chalicelib.domain.classification.regimes import Regime
from chalicelib.domain.places import state_of

__all__ = [
    "REGIMES_DIR",
    "REGIMES_FILE",
    "load_ct_regimes",
    "load_state_regimes",
    "read_state_regimes",
    "regimes_file",
    "state_law",
]

# Where the files are, inside chalicelib.data (as importlib.resources names them).
REGIMES_DIR = "regimes"
REGIMES_FILE = f"{REGIMES_DIR}/us-ct.json"  # Connecticut's


def regimes_file(state_id: str) -> str:
    """The file of a state's regimes, inside chalicelib.data: ``regimes/us-ca.json``."""
    return f"{REGIMES_DIR}/{state_id}.json"


def read_state_regimes(state_id: str) -> tuple[Regime, ...] | None:
    """A state's regimes in date order, read from its file, or None when Vigil has no file for the state.

    Raises RegimeDataError naming the file if a correction made it unusable (bad JSON included).
    """
    if state_id not in _state_names():  # only a known state id ever becomes a file name
        return None
    name = regimes_file(state_id)
    path = resources.files(__package__ or "chalicelib.data.regimes").joinpath(f"{state_id}.json")
    if not path.is_file():
        return None
    where = f"chalicelib/data/{name}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as bad:
        raise RegimeDataError([f"$: not valid JSON ({bad})"], source=where) from None
    return load_regimes(data, source=where, state=state_id, state_name=_state_names()[state_id])


@functools.cache
def load_state_regimes(state_id: str) -> tuple[Regime, ...] | None:
    """``read_state_regimes``, once per process and state: a warm Lambda reuses what it read."""
    return read_state_regimes(state_id)


def load_ct_regimes() -> tuple[Regime, ...]:
    """Connecticut's regimes in date order (parsed once per process)."""
    regimes = load_state_regimes("us-ct")
    if regimes is None:  # pragma: no cover - the file ships with the code
        raise RegimeDataError(["$: the file is missing"], source=f"chalicelib/data/{REGIMES_FILE}")
    return regimes


@functools.cache
def _state_names() -> dict[str, str]:
    """State id → name, from the jurisdiction graph (the states only: no state's places are read)."""
    return {s.id: s.name for s in load_registry().states()}


def state_law(place_id: str) -> StateLaw:
    """The detainer law of the state a place is in (its id's prefix), with its regimes if on file."""
    state_id = state_of(place_id.strip().casefold())
    return StateLaw(state_id, _state_names().get(state_id, state_id), load_state_regimes(state_id))
