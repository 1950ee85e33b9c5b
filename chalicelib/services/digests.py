"""The daily digest of every chain's head, and checking a chain against its heads.

``write_daily`` runs on its own schedule (``on_digest_tick``, hourly): the first run of each UTC day
writes that day's digest; the runs after it find it written and stop. A day the function never ran
has no digest, and the next digest chains to the last one written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import structlog

from chalicelib.domain.acklog import DigestedHead, LogEntry, LogHead, Verification, verify_anchored
from chalicelib.domain.digests import Digest, Previous, day_of, digest_key, read_digest, sha256
from chalicelib.ports import AckLog, DigestStore, StoredDigest

logger = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class DigestWritten:
    day: date
    key: str
    # False when the day's digest was there already (written by an earlier run).
    written: bool
    heads: int

    def as_json(self) -> dict[str, object]:
        return {"date": self.day.isoformat(), "key": self.key, "written": self.written, "heads": self.heads}


def write_daily(*, ack_log: AckLog, digests: DigestStore, now: datetime) -> DigestWritten:
    day = now.astimezone(UTC).date()
    key = digest_key(day)
    newest = digests.newest()
    if newest is not None and newest.key == key:
        return DigestWritten(day, key, written=False, heads=0)
    heads = dict(ack_log.heads())
    digest = Digest(
        day=day,
        written_at=now.astimezone(UTC),
        previous=Previous(newest.key, sha256(newest.body)) if newest else None,
        heads=heads,
    )
    written = digests.put_new(key, digest.body())
    logger.info("digest.written" if written else "digest.already_written", key=key, heads=len(heads))
    return DigestWritten(day, key, written=written, heads=len(heads) if written else 0)


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """What the newest digest says of one chain: its head there (None when it names none), or why the
    digest could not be read."""

    digested: DigestedHead | None = None
    unreadable: str | None = None


def recorded(stream: str, *, digests: DigestStore, now: datetime) -> DigestRecord:
    """The newest digest's head of ``stream``. A digest dated after today is no digest this service
    wrote (it writes only today's) and is not believed."""
    newest = digests.newest()
    if newest is None:
        return DigestRecord()
    day = day_of(newest.key)
    if day is None or day > now.astimezone(UTC).date():
        return DigestRecord(unreadable=f"the newest digest, {newest.key}, is dated after today")
    return _read(newest, stream)


def _read(stored: StoredDigest, stream: str) -> DigestRecord:
    try:
        digest = read_digest(stored.body)
    except ValueError:
        return DigestRecord(unreadable=f"the newest digest, {stored.key}, is not a digest")
    if digest_key(digest.day) != stored.key:
        return DigestRecord(unreadable=f"the newest digest, {stored.key}, says it is of {digest.day}")
    return DigestRecord(digested=digest.recorded(stream))


@dataclass(frozen=True, slots=True)
class Checked:
    """A chain read with its head, checked against itself, that head, and the newest digest."""

    entries: list[LogEntry]
    verification: Verification
    anchor: LogHead | None
    digested: DigestedHead | None


# Reads of a chain that is being appended to, before the check gives up on a quiet moment; each
# append moves the head, so more retries than appends can race is enough.
_SNAPSHOT_ATTEMPTS = 5


def snapshot(stream: str, *, ack_log: AckLog) -> tuple[list[LogEntry], LogHead | None]:
    """The chain's entries and the head that names their newest, read so that an append between the
    two reads cannot pass for a removed or an unanchored entry.

    The head is read before and after the entries: an append writes its entry and the head in one
    transaction, so an unchanged head means no append landed in between. A head that keeps moving is
    read once more after the last attempt and the check sees what it sees.
    """
    before = ack_log.head(stream)
    for _ in range(_SNAPSHOT_ATTEMPTS):
        entries = ack_log.entries(stream)
        after = ack_log.head(stream)
        if after == before:
            return entries, after
        before = after
    return ack_log.entries(stream), before


def check(stream: str, *, ack_log: AckLog, digests: DigestStore, now: datetime) -> Checked:
    entries, anchor = snapshot(stream, ack_log=ack_log)
    record = recorded(stream, digests=digests, now=now)
    verification = verify_anchored(stream, entries, anchor=anchor, digested=record.digested)
    if record.unreadable is not None and verification.verified:
        verification = Verification(
            verified=False, entries=len(entries), broken_at=None, reason=record.unreadable
        )
    return Checked(entries, verification, anchor, record.digested)
