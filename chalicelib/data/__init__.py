"""The project's own copy of the jurisdiction facts, bundled with the code so Lambda needs nothing else.

``jurisdictions.json`` (Connecticut's graph and every state) is parsed at once; each other state's
counties, ``jurisdictions/<state id>.json``, the first time a lookup needs them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources

from chalicelib.domain.jurisdictions import JurisdictionRegistry

__all__ = ["load_registry"]


def _read(*path: str) -> Mapping[str, object]:
    text = resources.files(__name__).joinpath(*path).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{'/'.join(path)} is not a JSON object")
    return data


def _state_file(state: str) -> Mapping[str, object]:
    return _read("jurisdictions", f"{state}.json")


@functools.cache
def load_registry() -> JurisdictionRegistry:
    """Parsed once per process: a warm Lambda reuses it, and callers may share it because the graph
    it answers with never changes (loading a state's file only fills its tables)."""
    return JurisdictionRegistry.from_json(_read("jurisdictions.json"), load_state=_state_file)
