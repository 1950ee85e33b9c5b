"""Lambda SnapStart: what goes into the snapshot, and what each restored container makes afresh.

With SnapStart a function's initialisation runs once per published version and is snapshotted;
every cold start resumes from that snapshot. So the snapshot holds the imports (the work SnapStart
saves: services and schemas load before it is taken) and nothing that must differ per container:
no AWS client or credentials (``bootstrap`` makes them on first use, after the restore, and the
restore hook forgets any made before), no random state (the ``random`` module is seeded again).

The hooks come from ``snapshot_restore_py``, which Lambda's Python runtime provides; anywhere else
(the local stack, tests) there is nothing to register.
"""

from __future__ import annotations

import importlib
import random

from chalicelib import bootstrap
from chalicelib.config import Settings

# Loaded before the snapshot: what some invocation of some function imports on its first use.
WARM_MODULES = (
    "chalicelib.services.ingest",
    "chalicelib.services.routing",
    "chalicelib.services.delivery",
    "chalicelib.services.escalation",
    "chalicelib.services.links",
    "chalicelib.services.subscribers",
    "chalicelib.services.notice_queries",
    "chalicelib.schemas.events",
    "chalicelib.schemas.subscribers",
)


def before_snapshot() -> None:
    """Runs when a version is published: settings a deployed stage refuses (config.Settings) fail
    the publication, so a misconfigured deploy rolls back instead of failing its first request."""
    Settings.from_env()
    for name in WARM_MODULES:
        importlib.import_module(name)


def after_restore() -> None:
    random.seed()
    bootstrap.use(None)


def register() -> bool:
    """Register the hooks with the runtime; False where there is no SnapStart runtime."""
    try:
        hooks = importlib.import_module("snapshot_restore_py")
    except ImportError:
        return False
    hooks.register_before_snapshot(before_snapshot)
    hooks.register_after_restore(after_restore)
    return True
