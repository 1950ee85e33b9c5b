"""The project's own copy of the jurisdiction facts, bundled with the code so Lambda needs nothing else."""

from __future__ import annotations

import functools
import json
from importlib import resources

from chalicelib.domain.jurisdictions import JurisdictionRegistry

__all__ = ["load_registry"]


@functools.cache
def load_registry() -> JurisdictionRegistry:
    """Parsed once per process: a warm Lambda reuses it, and callers may share it because it is immutable."""
    text = resources.files(__name__).joinpath("jurisdictions.json").read_text(encoding="utf-8")
    return JurisdictionRegistry.from_json(json.loads(text))
