"""``StateLock``: many readers or one writer, the writer first.

The local stack's state is moto's backends plus a few records of its own. Everything that changes it
works as a reader: an API request, a pump invocation (receive → handle → delete), a sweep. The
snapshot is the one writer: holding the lock alone, it sees the state between invocations, never
with a send done and its outcome not yet recorded.

Writer first: once the snapshot asks, readers that arrive wait until it is done, so a steady stream
of requests cannot put it off for ever; the readers already inside finish first.

``nested()`` is for work that readers wait on, the emulator's own requests: an API request (a
reader) calls moto, whose server thread must get in even while a writer waits, or the two would wait
on each other for ever. It waits only while a writer holds the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StateLock:
    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._readers = 0
        self._writers_waiting = 0
        self._writing = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A unit of work that may change the state; waits while a writer holds or waits for the lock."""
        with self._changed:
            self._changed.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            self._leave()

    @contextmanager
    def nested(self) -> Iterator[None]:
        """Work a reader may be waiting on; waits only while a writer holds the lock."""
        with self._changed:
            self._changed.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            self._leave()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The lock alone: no reader inside, none let in until the block ends."""
        with self._changed:
            self._writers_waiting += 1
            try:
                self._changed.wait_for(lambda: not self._writing and not self._readers)
            except BaseException:
                # Interrupted while waiting: the readers held back for this writer may go on.
                self._writers_waiting -= 1
                self._changed.notify_all()
                raise
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()

    @property
    def readers(self) -> int:
        """How many readers are inside now (for tests and logs)."""
        with self._changed:
            return self._readers

    def _leave(self) -> None:
        with self._changed:
            self._readers -= 1
            if not self._readers:
                self._changed.notify_all()
