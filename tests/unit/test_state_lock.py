"""The local stack's state lock: readers together, the writer alone and first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from vigil_local.state_lock import StateLock

WAIT = 2.0  # long enough for a thread that can go on to do so; the tests end well within it
SETTLE = 0.1  # how long a thread that must wait is given to (wrongly) go on


class Worker:
    """A thread that enters ``block()``, says so, and leaves when told."""

    def __init__(self, block: Callable[[], AbstractContextManager[None]]) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(block,), daemon=True)
        self._thread.start()

    def _run(self, block: Callable[[], AbstractContextManager[None]]) -> None:
        with block():
            self.inside.set()
            self.release.wait(WAIT)

    def leave(self) -> None:
        self.release.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive()


def test_readers_are_inside_together() -> None:
    lock = StateLock()
    first, second = Worker(lock.reading), Worker(lock.reading)

    assert first.inside.wait(WAIT)
    assert second.inside.wait(WAIT)
    assert lock.readers == 2
    first.leave()
    second.leave()
    assert lock.readers == 0


def test_the_writer_waits_for_the_readers_inside_and_then_is_alone() -> None:
    lock = StateLock()
    reader = Worker(lock.reading)
    assert reader.inside.wait(WAIT)

    writer = Worker(lock.writing)
    assert not writer.inside.wait(SETTLE)  # a reader is inside
    reader.leave()
    assert writer.inside.wait(WAIT)

    late = Worker(lock.reading)
    assert not late.inside.wait(SETTLE)  # the writer holds the lock
    writer.leave()
    assert late.inside.wait(WAIT)
    late.leave()


def test_a_waiting_writer_goes_before_readers_that_arrive_after_it() -> None:
    lock = StateLock()
    reader = Worker(lock.reading)
    assert reader.inside.wait(WAIT)
    writer = Worker(lock.writing)
    time.sleep(SETTLE)  # the writer is waiting now

    newcomer = Worker(lock.reading)
    assert not newcomer.inside.wait(SETTLE)  # held back: a stream of readers cannot starve the writer
    reader.leave()
    assert writer.inside.wait(WAIT)
    assert not newcomer.inside.is_set()
    writer.leave()
    assert newcomer.inside.wait(WAIT)
    newcomer.leave()


def test_nested_work_gets_in_while_a_writer_waits_but_not_while_it_holds() -> None:
    """A request inside waits on the emulator's answer; holding that back for a waiting writer
    would leave the two waiting on each other."""
    lock = StateLock()
    reader = Worker(lock.reading)
    assert reader.inside.wait(WAIT)
    writer = Worker(lock.writing)
    time.sleep(SETTLE)

    emulator_call = Worker(lock.nested)
    assert emulator_call.inside.wait(WAIT)
    emulator_call.leave()
    reader.leave()
    assert writer.inside.wait(WAIT)

    during_write = Worker(lock.nested)
    assert not during_write.inside.wait(SETTLE)
    writer.leave()
    assert during_write.inside.wait(WAIT)
    during_write.leave()


def test_a_reader_that_raises_leaves_the_lock() -> None:
    lock = StateLock()
    try:
        with lock.reading():
            raise RuntimeError("the handler failed")
    except RuntimeError:
        pass
    assert lock.readers == 0
    with lock.writing():
        pass
