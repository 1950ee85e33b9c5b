"""Keeping the local stack's state in its data directory: ``StateKeeper`` saves, ``load`` restores.

What is kept is whatever ``collect`` returns (the runner's: moto's backends, the outbox's records,
the demo receiver's secrets and what it received, a few facts of the stack), pickled whole under the
state lock's writer side, so it is a state between two units of work (see state_lock.py).

When: the emulator tells the keeper of each change (``changed()``); the keeper saves within
``SAVE_GAP_SECONDS`` of it plus the time the readers inside take to finish (a request, a pump
invocation, a sweep), and once more on ``stop()``. A kill (SIGKILL, a crash of the process) loses
at most the changes since the last save: about the last second. The saves while running are not
flushed to disk (fsync), the last one is: a crash of the whole machine may lose more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from vigil_local import datadir, snapshot
from vigil_local.snapshot import Reducer, SnapshotUnusable
from vigil_local.state_lock import StateLock

logger = structlog.get_logger()

# Changes closer together than this are saved together.
SAVE_GAP_SECONDS = 0.25
# How often the keeper looks for a change (and for stop()).
LOOK_SECONDS = 0.1
SLOW_SAVE_SECONDS = 0.5


class StateKeeper:
    """A thread that saves the state to ``path`` when it changed; ``stop()`` saves what is left."""

    def __init__(
        self,
        path: Path,
        *,
        lock: StateLock,
        collect: Callable[[], object],
        reducers: Mapping[type, Reducer] | None = None,
    ) -> None:
        self.path = path
        self._lock = lock
        self._collect = collect
        self._reducers = dict(reducers or {})
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: str | None = None
        self.saves = 0

    def changed(self) -> None:
        """Something changed: save it soon. Cheap; safe from any thread, before ``start()`` too."""
        self._changed.set()

    def start(self) -> StateKeeper:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="state-keeper", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop saving in the background, then save what changed since the last save. A keeper
        never started saves nothing: the stack did not get to a state worth keeping."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout=30)
        self._thread = None
        if self._changed.is_set():
            self.save(durable=True)

    def save(self, *, durable: bool = False) -> bool:
        """Save now, as the writer; False (and logged) when the state could not be written.
        ``durable``: wait for the disk too (see ``snapshot.write_atomically``)."""
        started = time.monotonic()
        try:
            with self._lock.writing():
                self._changed.clear()
                waited = time.monotonic() - started
                payload = snapshot.dumps(self._collect(), reducers=self._reducers)
            data = snapshot.encode(payload, saved_at=datetime.now(UTC))
            snapshot.write_atomically(self.path, data, durable=durable)
        except Exception as exc:
            self._changed.set()  # still unsaved: try again at the next look
            reason = f"{type(exc).__name__}: {exc}"
            if reason != self._failing:  # once per cause, not four times a second
                logger.error("local_state.save_failed", path=str(self.path), reason=reason)
            self._failing = reason
            return False
        if self._failing is not None:
            logger.info("local_state.saved_again", path=str(self.path))
            self._failing = None
        self.saves += 1
        took = time.monotonic() - started
        # A save that takes this long stretches what a kill can lose: say so.
        log = logger.warning if took > SLOW_SAVE_SECONDS else logger.debug
        log(
            "local_state.saved",
            bytes=len(payload),
            waited_ms=round(waited * 1000, 1),
            took_ms=round(took * 1000, 1),
        )
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._changed.wait(LOOK_SECONDS):
                continue
            if self._stop.is_set():
                return  # stop() saves
            if not self.save():
                self._stop.wait(1.0)  # a failing save is retried, but not in a tight loop
            self._stop.wait(SAVE_GAP_SECONDS)


def load(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is none; ``SnapshotUnusable`` when it cannot be used."""
    if not path.exists():
        return None
    datadir.check_private(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotUnusable(f"it could not be read ({exc.strerror})") from exc
    state = snapshot.decode(data)
    if not isinstance(state, dict) or not isinstance(state.get("backends"), dict):
        raise SnapshotUnusable("it does not hold the local stack's state")
    return state


def set_aside(path: Path, *, now: datetime | None = None) -> Path:
    """Rename an unusable snapshot out of the way (kept, not deleted); returns its new path."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.unusable-{moment}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.unusable-{moment}-{counter}")
    path.rename(target)
    return target
