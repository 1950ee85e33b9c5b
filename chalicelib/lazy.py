"""Modules imported on first use rather than when the Lambda entry point loads.

Every Vigil function imports ``app.py``, which names every service, while each function uses a few:
the send function never parses a subscriber, the API never reads an inbound email. A module named
here is imported (once, under the import system's own lock, so threads are safe) the first time an
attribute of it is read (cold start, docs/benchmarks.md §2).
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        # sys.modules answers after the first call: a dictionary lookup, not a second import.
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
