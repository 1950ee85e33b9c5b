"""Stand-in for EventBridge schedules: invoke the registered scheduled handlers every N seconds.

Each handler's run is one reader of the state lock, when there is one (see state_lock.py).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import structlog

from vigil_local.pump import LambdaContext
from vigil_local.state_lock import StateLock

logger = structlog.get_logger()

ScheduledHandler = Callable[[dict[str, Any], Any], Any]

DEFAULT_INTERVAL_SECONDS = 60.0


def scheduled_event(name: str, *, region: str, now: datetime) -> dict[str, Any]:
    """The event EventBridge delivers for a schedule rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/{name}"],
        "detail": {},
    }


class Ticker:
    """A thread calling each registered handler every ``interval_seconds`` (the first call after one)."""

    def __init__(
        self,
        *,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
        region: str = "us-east-1",
        lock: StateLock | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.interval_seconds = interval_seconds
        self._region = region
        self._lock = lock
        self._handlers: dict[str, ScheduledHandler] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, name: str, handler: ScheduledHandler) -> None:
        self._handlers[name] = handler

    def register_from(self, module: object, *names: str) -> list[str]:
        """Register the named handlers the module has; returns those found (absent ones are skipped)."""
        found = []
        for name in names:
            handler = getattr(module, name, None)
            if callable(handler):
                self.register(name, handler)
                found.append(name)
        return found

    @property
    def handlers(self) -> list[str]:
        return sorted(self._handlers)

    def tick(self) -> None:
        """Run every handler once now; one failing does not stop the others."""
        now = datetime.now(UTC)
        for name, handler in list(self._handlers.items()):
            try:
                with self._invocation():
                    handler(scheduled_event(name, region=self._region, now=now), LambdaContext(name))
            except Exception:
                logger.exception("scheduled_handler.failed", handler=name)

    def _invocation(self) -> AbstractContextManager[None]:
        return self._lock.reading() if self._lock is not None else nullcontext()

    def start(self) -> Ticker:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ticker", daemon=True)
        self._thread.start()
        logger.info("ticker.started", interval_seconds=self.interval_seconds, handlers=self.handlers)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        logger.info("ticker.stopped")

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            if self._handlers:
                self.tick()
