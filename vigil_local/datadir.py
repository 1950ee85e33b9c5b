"""The local stack's data directory: where ``make run`` keeps what it must find again.

    .vigil/                  (VIGIL_DATA_DIR moves it; mode 0700)
      README.txt             what this is; ``make reset`` deletes only a directory that has it
      state.snapshot         the state: moto's backends, the outbox, the demo receiver (snapshot.py)
      ack-secret             the link-signing secret, made once (0600), unless VIGIL_ACK_SECRET is set
      admin-key              the admin key, made once (0600), unless VIGIL_ADMIN_KEY is set
      .in-use                locked while a stack uses the directory (one stack per directory)

Standard library only: ``python -m vigil_local.datadir reset`` (``make reset``) runs before the
virtual environment exists.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO_ROOT / ".vigil"
MARKER = "README.txt"
SNAPSHOT_FILE = "state.snapshot"
ACK_SECRET_FILE = "ack-secret"  # noqa: S105  # the file's name, not a secret
ADMIN_KEY_FILE = "admin-key"
# Held (flock) by the stack using the directory: a second one, or make reset, is refused meanwhile.
IN_USE_FILE = ".in-use"
# tokens.MIN_SECRET_BYTES (32) is the floor; 48 random bytes give 64 characters.
SECRET_RANDOM_BYTES = 48
MIN_SECRET_BYTES = 32

_README = """\
The local stack's data (make run): subscribers, keys, notices, the outbox, the link-signing secret
and the admin key. `make reset` deletes this directory; the next `make run` starts empty.
Only this program writes here; keep it private (the secret and the key sign links and open the API).
"""


class DataDirError(RuntimeError):
    """The data directory cannot be used as it is; the message says what to do."""


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``VIGIL_DATA_DIR`` (relative to the current directory), or ``.vigil`` in the checkout."""
    raw = (os.environ if env is None else env).get("VIGIL_DATA_DIR", "").strip()
    return Path(raw).expanduser().resolve() if raw else DEFAULT_DIR


def prepare(directory: Path) -> Path:
    """The directory made (0700) with its README, or checked to be this program's own."""
    if directory.exists() and not directory.is_dir():
        raise DataDirError(f"VIGIL_DATA_DIR {directory} is a file, not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / MARKER).is_file():
        raise DataDirError(
            f"{directory} holds other files: point VIGIL_DATA_DIR at an empty or new directory"
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    marker = directory / MARKER
    if not marker.exists():
        marker.write_text(_README, encoding="utf-8")
    # A write cut off by a kill leaves its temporary file (".<name>.<random>.tmp").
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    return directory


def claim(directory: Path) -> IO[str]:
    """Mark the directory as this process's until the returned file is closed (or the process
    ends, however it ends); DataDirError when another process holds it."""
    handle = (directory / IN_USE_FILE).open("a", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DataDirError(
            f"another local stack is using {directory}: stop it first, or give this one its own "
            "VIGIL_DATA_DIR"
        ) from None
    return handle


def check_private(path: Path) -> None:
    """Refuse a file another user owns or may write: what it holds is trusted like this program."""
    status = path.stat()
    if hasattr(os, "getuid") and status.st_uid != os.getuid():
        raise DataDirError(f"{path} belongs to another user; move it away or run make reset")
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise DataDirError(f"{path} is writable by others; make it private (chmod 600) or run make reset")


def kept_secret(path: Path, *, make: Callable[[], str], what: str) -> str:
    """The value kept in ``path``, made by ``make`` and written (0600) the first time."""
    if path.exists():
        check_private(path)
        value = path.read_text(encoding="utf-8").strip()
        if not value:
            raise DataDirError(f"{path} is empty: delete it to make a new {what}, or run make reset")
        return value
    value = make()
    # Written whole under another name, then linked into place: a kill never leaves half a file,
    # and the link fails rather than replace a value another process made meanwhile.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(value + "\n")
        os.link(temporary, path)
    except FileExistsError:
        return kept_secret(path, make=make, what=what)
    finally:
        temporary.unlink(missing_ok=True)
    return value


def ack_secret(directory: Path) -> str:
    """The link-signing secret of this data directory (made once, random)."""
    secret = kept_secret(
        directory / ACK_SECRET_FILE, make=lambda: secrets.token_urlsafe(SECRET_RANDOM_BYTES), what="secret"
    )
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise DataDirError(f"{directory / ACK_SECRET_FILE} holds fewer than {MIN_SECRET_BYTES} bytes")
    return secret


def reset(directory: Path) -> str:
    """Delete the data directory; returns what was done, in a sentence."""
    if not directory.exists():
        return f"Nothing to delete: {directory} does not exist. The next make run starts empty."
    if not directory.is_dir() or (any(directory.iterdir()) and not (directory / MARKER).is_file()):
        raise DataDirError(f"{directory} is not a Vigil data directory (no {MARKER}); not deleting it")
    try:
        claim(directory).close()
    except DataDirError:
        raise DataDirError(f"a local stack is using {directory}: stop it (Ctrl-C) first") from None
    shutil.rmtree(directory)
    return (
        f"Deleted {directory}: subscribers, keys, notices, the outbox, the link-signing secret and "
        "the admin key. The next make run starts empty."
    )


def main(argv: list[str]) -> int:
    if argv != ["reset"]:
        print("usage: python -m vigil_local.datadir reset", file=sys.stderr)
        return 2
    try:
        print(reset(data_dir()))
    except DataDirError as exc:
        print(f"make reset: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
