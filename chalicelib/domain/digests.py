"""The daily digest: every chain's head on one day, chained to the digest before it.

Once a day the digest function writes ``digests/<date>.json`` into a bucket under Object Lock in
compliance mode, where no one can change or delete an object before its retention ends. It holds the
head (newest seq and hash) of the audit trail and of every notice's log, and the SHA-256 of the
previous digest's bytes, so the digests form a chain of their own. A log rewritten in DynamoDB, its
head on the notice rewritten with it, still disagrees with every digest written before the rewrite.

The bytes are canonical JSON (sorted keys, no spaces), so the hash of a stored digest is the hash
of exactly what was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.domain.acklog import DigestedHead, LogHead
from chalicelib.domain.notices import canonical_json

PREFIX = "digests/"
FORMAT = 1


def digest_key(day: date) -> str:
    return f"{PREFIX}{day.isoformat()}.json"


def day_of(key: str) -> date | None:
    """The date a digest's key names; None for any other key."""
    if not (key.startswith(PREFIX) and key.endswith(".json")):
        return None
    try:
        return date.fromisoformat(key.removeprefix(PREFIX).removesuffix(".json"))
    except ValueError:
        return None


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class Previous:
    """The digest before: where it is, and the SHA-256 of its bytes."""

    key: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Digest:
    day: date
    written_at: datetime
    previous: Previous | None
    # Stream ("audit", or a notice id) → its head.
    heads: Mapping[str, LogHead]

    def body(self) -> bytes:
        return canonical_json(
            {
                "format": FORMAT,
                "date": self.day.isoformat(),
                "written_at": self.written_at.isoformat(),
                "previous": (
                    {"key": self.previous.key, "sha256": self.previous.sha256} if self.previous else None
                ),
                "heads": {stream: head.as_json() for stream, head in sorted(self.heads.items())},
            }
        ).encode()

    def recorded(self, stream: str) -> DigestedHead | None:
        head = self.heads.get(stream)
        return DigestedHead(self.day.isoformat(), head) if head else None


def read_digest(body: bytes) -> Digest:
    """A stored digest; ValueError for bytes that are not one."""
    try:
        value: Any = json.loads(body)
        previous = value["previous"]
        return Digest(
            day=date.fromisoformat(value["date"]),
            written_at=datetime.fromisoformat(value["written_at"]),
            previous=Previous(str(previous["key"]), str(previous["sha256"])) if previous else None,
            heads={
                str(stream): LogHead(int(head["seq"]), str(head["hash"]))
                for stream, head in value["heads"].items()
            },
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a digest: {exc!r}") from None
