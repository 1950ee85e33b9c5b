"""The acknowledgment log: per notice, an append-only chain of entries, each sealed with SHA-256.

Every entry holds the hash of the entry before it (the first one holds ``GENESIS``), and its own hash
covers all its fields over ``canonical_json``. Verifying the chain finds any entry that was edited,
removed, reordered or copied in from another notice.

What the chain alone cannot show: entries dropped from the end, or a log rewritten from the
altered entry onwards with every later hash recomputed (whoever can write the table can recompute
a tail). Both are caught against a head kept outside the chain (``LogHead``): the newest entry's
seq and hash, written in the same transaction as the entry (on the notice; the audit trail's in an
item of its own), and each chain's head as the newest daily digest recorded it, an object nobody can
change (``domain/digests.py``). ``verify_anchored`` checks a chain against both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from chalicelib.domain.notices import canonical_json

GENESIS = "0" * 64
# The admin audit trail: one chain of its own in the ack-log table, beside the notices' chains.
AUDIT_STREAM = "audit"


class EntryKind(StrEnum):
    CREATED = "created"
    ROUTED = "routed"
    DELIVERED = "delivered"
    FAILED = "failed"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    DECIDED = "decided"
    CLOSED = "closed"
    # Another copy of a mailed notice's original message arrived (another forward, or the original itself).
    REPORTED = "reported"
    # The admin audit trail is a chain of its own (stream "audit"), one entry per admin action.
    AUDITED = "audited"


class LogConflict(Exception):
    """Concurrent writers kept taking the next seq of a notice's log; the entry was not written."""

    def __init__(self, notice_id: str, attempts: int) -> None:
        super().__init__(f"ack log of {notice_id}: next seq taken by another writer {attempts} times")
        self.notice_id = notice_id
        self.attempts = attempts


@dataclass(frozen=True, slots=True)
class LogEntry:
    notice_id: str
    # 0-based position in the notice's log; the first entry is always 0.
    seq: int
    kind: EntryKind
    at: datetime
    # Who caused it: an API key id, "system", a subscriber id.
    actor: str
    # JSON-safe: str, int, bool, None, lists and dicts with string keys (no floats).
    data: dict[str, Any]
    prev_hash: str
    hash: str


def entry_hash(
    *,
    notice_id: str,
    seq: int,
    kind: EntryKind,
    at: datetime,
    actor: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of every field but the hash itself."""
    sealed = {
        "notice_id": notice_id,
        "seq": seq,
        "kind": str(kind),
        "at": at.isoformat(),
        "actor": actor,
        "data": dict(data),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(sealed).encode()).hexdigest()


def next_entry(
    previous: LogEntry | None,
    *,
    notice_id: str,
    kind: EntryKind,
    at: datetime,
    actor: str,
    data: Mapping[str, Any],
) -> LogEntry:
    """The entry that follows ``previous`` (or starts the log), sealed.

    ``at`` must be timezone-aware and is stored in UTC; ``data`` is copied, with tuples as lists.
    Raises ValueError for a naive time, data that is not JSON-safe, or a ``previous`` of another notice.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    if previous is not None and previous.notice_id != notice_id:
        raise ValueError(f"previous entry belongs to {previous.notice_id!r}, not {notice_id!r}")
    seq = previous.seq + 1 if previous else 0
    prev_hash = previous.hash if previous else GENESIS
    kind = EntryKind(kind)
    at = at.astimezone(UTC)
    plain: dict[str, Any] = _json_safe(dict(data), "data")
    sealed = entry_hash(
        notice_id=notice_id, seq=seq, kind=kind, at=at, actor=actor, data=plain, prev_hash=prev_hash
    )
    return LogEntry(
        notice_id=notice_id,
        seq=seq,
        kind=kind,
        at=at,
        actor=actor,
        data=plain,
        prev_hash=prev_hash,
        hash=sealed,
    )


def _json_safe(value: Any, path: str) -> Any:
    """A copy of ``value`` made of JSON types only, which encode one way and round-trip exactly."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, list | tuple):
        return [_json_safe(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"{path} has a key that is not a string: {key!r}")
        return {k: _json_safe(v, f"{path}.{k}") for k, v in value.items()}
    raise ValueError(f"{path} is a {type(value).__name__}; entries hold str, int, bool, None, list, dict")


@dataclass(frozen=True)
class Verification:
    verified: bool
    # How many entries were checked.
    entries: int
    # The first seq whose entry is missing, altered or out of place; None when verified.
    broken_at: int | None
    # A plain sentence saying what is wrong; None when verified.
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "entries": self.entries,
            "broken_at": self.broken_at,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class LogHead:
    """A chain's newest entry as kept outside the chain: its seq and its hash."""

    seq: int
    hash: str

    @classmethod
    def of(cls, entry: LogEntry) -> LogHead:
        return cls(entry.seq, entry.hash)

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class DigestedHead:
    """A chain's head as a daily digest recorded it (``day``: the digest's date, ISO 8601)."""

    day: str
    head: LogHead

    def as_json(self) -> dict[str, Any]:
        return {"date": self.day, **self.head.as_json()}


def verify_chain(notice_id: str, entries: Sequence[LogEntry]) -> Verification:
    """Check the log of ``notice_id`` as read, oldest first.

    Entry ``n`` must be the nth one (seq 0 first), belong to this notice, match its own hash, and
    hold the hash of entry ``n - 1`` (``GENESIS`` for the first). An empty log is not verified:
    every notice's log starts with a ``created`` entry, so an empty one has lost its entries.
    """
    if not entries:
        return _broken(
            0,
            0,
            f"the log of {notice_id} has no entries, but every notice's log starts with a 'created' "
            "entry: its entries were removed or never written",
        )
    expected_prev = GENESIS
    for position, entry in enumerate(entries):
        reason = _fault(notice_id, position, entry, expected_prev)
        if reason is not None:
            return _broken(len(entries), position, reason)
        expected_prev = entry.hash
    return Verification(verified=True, entries=len(entries), broken_at=None, reason=None)


def _fault(notice_id: str, position: int, entry: LogEntry, expected_prev: str) -> str | None:
    if entry.notice_id != notice_id:
        return f"entry {position} belongs to notice {entry.notice_id}, not {notice_id}"
    if entry.seq != position:
        return _misplaced(position, entry.seq)
    recomputed = entry_hash(
        notice_id=entry.notice_id,
        seq=entry.seq,
        kind=entry.kind,
        at=entry.at,
        actor=entry.actor,
        data=entry.data,
        prev_hash=entry.prev_hash,
    )
    if entry.hash != recomputed:
        return f"entry {position} was altered: its contents do not match its hash"
    if entry.prev_hash == expected_prev:
        return None
    if position == 0:
        return "entry 0 does not start the chain: its previous hash is not the genesis hash"
    return f"entry {position} does not follow entry {position - 1}: its previous hash does not match"


def _misplaced(position: int, seq: int) -> str:
    if position == 0:
        return f"the first entry (seq 0) is missing: the log starts at seq {seq}"
    if seq > position:
        return f"entry {position} is missing: entry {position - 1} is followed by entry {seq}"
    return f"entry {seq} is out of order: it comes after entry {position - 1}"


def _broken(entries: int, at_seq: int, reason: str) -> Verification:
    return Verification(verified=False, entries=entries, broken_at=at_seq, reason=reason)


def verify_anchored(
    notice_id: str,
    entries: Sequence[LogEntry],
    *,
    anchor: LogHead | None,
    digested: DigestedHead | None,
) -> Verification:
    """``verify_chain``, then the chain against its head kept outside it and against the newest digest.

    ``anchor`` is the head written with every entry (None for a log whose entries all predate heads:
    it is checked by its chain alone); ``digested`` is the head the newest digest recorded (None when
    no digest names the log yet). The anchor names the newest entry: a log that ends before it lost
    its newest entries, one that goes past it had entries added around the anchor, and a newest entry
    with another hash belongs to a rewritten tail. The digest's entry must still be in the log,
    unchanged: entries change in DynamoDB, never in the digest.
    """
    chained = verify_chain(notice_id, entries)
    if not chained.verified:
        return chained
    return _against_anchor(entries, anchor) or _against_digest(entries, digested) or chained


def _against_anchor(entries: Sequence[LogEntry], anchor: LogHead | None) -> Verification | None:
    """What is wrong with a verified chain against the head written with each entry; None if nothing."""
    if anchor is None:
        return None
    count, newest = len(entries), entries[-1]
    if anchor.seq > newest.seq:
        return _broken(
            count,
            count,
            f"the head kept outside the log names entry {anchor.seq}, but the log ends at entry "
            f"{newest.seq}: its newest entries were removed",
        )
    if anchor.seq < newest.seq:
        return _broken(
            count,
            anchor.seq + 1,
            f"the head kept outside the log names entry {anchor.seq}, but the log goes on to entry "
            f"{newest.seq}: entries were added without their head",
        )
    if anchor.hash != newest.hash:
        return _broken(
            count,
            newest.seq,
            f"entry {newest.seq} is not the newest entry the head kept outside the log names: its hash "
            "differs, so the log was rewritten with its hashes recomputed",
        )
    return None


def _against_digest(entries: Sequence[LogEntry], digested: DigestedHead | None) -> Verification | None:
    """What is wrong with a verified chain against the newest digest's record of it; None if nothing."""
    if digested is None:
        return None
    count, recorded = len(entries), digested.head
    if recorded.seq >= count:
        return _broken(
            count,
            count,
            f"the digest of {digested.day} names entry {recorded.seq}, but the log ends at entry "
            f"{count - 1}: entries were removed since",
        )
    if entries[recorded.seq].hash != recorded.hash:
        return _broken(
            count,
            recorded.seq,
            f"entry {recorded.seq} is not the entry the digest of {digested.day} recorded: its hash "
            "differs, so the log was rewritten since with its hashes recomputed",
        )
    return None
