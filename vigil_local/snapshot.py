"""The local stack's snapshot file: a stamp, then a pickle of the state.

    vigil-local-state\\n
    {"format": 1, "moto": "5.2.5", "python": "3.13", "saved_at": "…", "sha256": "…", "size": 171234}\\n
    <size bytes: pickle protocol 5>

The stamp says what wrote the file. moto's objects are pickled as they are, so another moto version
(or another Python) may not read them back: such a file is refused before anything is unpickled
(``SnapshotUnusable``), and so is one whose bytes do not match their checksum (cut short, edited).

Locks cannot be pickled (moto's SQS queues hold a ``Condition``): a private pickler writes each
``Lock``, ``RLock`` and ``Condition`` as a new, unheld one, which is what a restored state needs, as
nothing holds a lock across a snapshot. Other types are added by the caller (``reducers``), for this
pickler only: nothing is registered process-wide with ``copyreg``.

Files are written whole or not at all: a temporary file in the same directory, renamed over the old
one (and flushed to disk first when asked: ``write_atomically``).
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import json
import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

FORMAT = 2
MAGIC = b"vigil-local-state\n"
# The stamp is one short line; a longer one is not this format.
MAX_STAMP_BYTES = 4096

# copyreg's shape: an object → (how to make it again, with what)
Reducer = Callable[[Any], str | tuple[Any, ...]]


class SnapshotUnusable(Exception):
    """A snapshot this program cannot restore; ``reason`` says why, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Stamp:
    format: int
    moto: str
    python: str
    saved_at: str
    sha256: str
    size: int


def running_versions() -> tuple[str, str]:
    """(moto's version, Python's major.minor): what a snapshot must have been written by."""
    import moto  # noqa: PLC0415  # moto is a local-only dependency, loaded once the stack starts

    return str(moto.__version__), f"{sys.version_info.major}.{sys.version_info.minor}"


def _fresh_lock(_lock: object) -> tuple[Any, ...]:
    return (threading.Lock, ())


def _fresh_rlock(_lock: object) -> tuple[Any, ...]:
    return (threading.RLock, ())


def _fresh_condition(_condition: object) -> tuple[Any, ...]:
    return (threading.Condition, ())


def _dispatch_table(reducers: Mapping[type, Reducer]) -> dict[type, Reducer]:
    table: dict[type, Reducer] = dict(copyreg.dispatch_table)
    table[type(threading.Lock())] = _fresh_lock
    table[type(threading.RLock())] = _fresh_rlock
    table[threading.Condition] = _fresh_condition
    table.update(reducers)
    return table


def dumps(state: object, *, reducers: Mapping[type, Reducer] | None = None) -> bytes:
    """The state as pickle bytes, locks written as new ones (see the module's docstring)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.dispatch_table = _dispatch_table(reducers or {})
    pickler.dump(state)
    return buffer.getvalue()


def encode(payload: bytes, *, saved_at: datetime) -> bytes:
    """The file's bytes: the stamp of the running versions, then ``payload``."""
    moto_version, python_version = running_versions()
    stamp = Stamp(
        format=FORMAT,
        moto=moto_version,
        python=python_version,
        saved_at=saved_at.isoformat(timespec="seconds"),
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
    )
    return MAGIC + json.dumps(asdict(stamp), sort_keys=True).encode() + b"\n" + payload


def read_stamp(data: bytes) -> tuple[Stamp, bytes]:
    """The stamp and the payload after it; ``SnapshotUnusable`` when this is not a snapshot file."""
    if not data.startswith(MAGIC):
        raise SnapshotUnusable("not a Vigil local-state file")
    line_end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_STAMP_BYTES)
    if line_end < 0:
        raise SnapshotUnusable("its stamp is missing or damaged")
    try:
        fields = json.loads(data[len(MAGIC) : line_end])
        stamp = Stamp(**fields)
    except (ValueError, TypeError):
        raise SnapshotUnusable("its stamp is damaged") from None
    return stamp, data[line_end + 1 :]


def decode(data: bytes) -> object:
    """The state in a file's bytes, once its stamp and checksum show this program can read it."""
    stamp, payload = read_stamp(data)
    moto_version, python_version = running_versions()
    if stamp.format != FORMAT:
        raise SnapshotUnusable(f"it is in format {stamp.format}; this version reads format {FORMAT}")
    if stamp.moto != moto_version:
        raise SnapshotUnusable(f"it was written with moto {stamp.moto}; this is moto {moto_version}")
    if stamp.python != python_version:
        raise SnapshotUnusable(f"it was written by Python {stamp.python}; this is Python {python_version}")
    if len(payload) != stamp.size or hashlib.sha256(payload).hexdigest() != stamp.sha256:
        raise SnapshotUnusable("its contents do not match its checksum (cut short or changed)")
    try:
        # The file is the user's own, written by this program into their own data directory (the
        # loader checks who owns it): reading it is no more trusted than running this checkout.
        return pickle.loads(payload)  # noqa: S301  # as above
    except Exception as exc:
        raise SnapshotUnusable(f"it could not be read back ({type(exc).__name__}: {exc})") from exc


def write_atomically(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` (mode 0600): a reader, or a restart after a kill, sees the
    old file or the new one, never a part.

    ``durable`` also waits until the disk has it (fsync), which only a crash of the machine needs:
    a killed process loses nothing the kernel already holds. A busy disk can take seconds to sync,
    so the saves while the stack runs skip it and its last save does not.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            if durable:
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """So the rename itself survives a crash of the machine (not only of this process)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is still atomic
    finally:
        os.close(descriptor)
