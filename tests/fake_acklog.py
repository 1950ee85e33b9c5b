"""An in-memory ack log with the DynamoDB adapter's behaviour: chained entries, no overwrites, races;
and the forger's tool, a tail rewritten with its hashes recomputed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from chalicelib.domain.acklog import (
    AUDIT_STREAM,
    EntryKind,
    LogConflict,
    LogEntry,
    LogHead,
    entry_hash,
    next_entry,
)
from chalicelib.domain.errors import NotFound

RIVAL = "rival-writer"


@dataclass
class InMemoryAckLog:
    # Per notice. Tests may edit or drop entries here to play the attacker. Like the table, reads
    # return entries sorted by seq: to reorder, swap seqs (``dataclasses.replace``), not positions.
    entries_by_notice: dict[str, list[LogEntry]] = field(default_factory=dict)
    # How many races the coming appends lose: for each, a rival writer stores an entry (actor
    # RIVAL) at the seq the append was about to take, and the append must re-read and retry.
    steal_next_seq: int = 0
    # Races lost so far, for tests to inspect.
    races_lost: int = 0
    # Each chain's head, written with each entry as the adapter's transaction writes it (outside the
    # chain: tests that drop or forge entries leave it alone, as an attacker of the table would).
    heads_by_notice: dict[str, LogHead] = field(default_factory=dict)
    # Which notices exist, when a test wires it: appending to the log of any other is NotFound, as
    # the adapter's transaction refuses it. None: every id is taken for a notice.
    notice_exists: Callable[[str], bool] | None = None
    attempts: int = 10
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def append(
        self,
        notice_id: str,
        kind: EntryKind,
        *,
        at: datetime,
        actor: str,
        data: Mapping[str, Any],
    ) -> LogEntry:
        for _ in range(self.attempts):
            with self._lock:
                log = self.entries_by_notice.setdefault(notice_id, [])
                previous = max(log, key=lambda e: e.seq) if log else None
                entry = next_entry(previous, notice_id=notice_id, kind=kind, at=at, actor=actor, data=data)
                if self.steal_next_seq > 0:
                    self.steal_next_seq -= 1
                    self.races_lost += 1
                    rival = next_entry(
                        previous, notice_id=notice_id, kind=kind, at=at, actor=RIVAL, data={"rival": True}
                    )
                    log.append(rival)
                    self.heads_by_notice[notice_id] = LogHead.of(rival)
                if any(e.seq == entry.seq for e in log):
                    continue  # the seq is taken: never overwrite, re-read and chain onto the winner
                if notice_id != AUDIT_STREAM and self.notice_exists and not self.notice_exists(notice_id):
                    raise NotFound(f"no notice {notice_id!r}")
                log.append(entry)
                self.heads_by_notice[notice_id] = LogHead.of(entry)
                return entry
        raise LogConflict(notice_id, self.attempts)

    def entries(self, notice_id: str) -> list[LogEntry]:
        with self._lock:
            return sorted(self.entries_by_notice.get(notice_id, []), key=lambda e: e.seq)

    def head(self, notice_id: str) -> LogHead | None:
        with self._lock:
            return self.heads_by_notice.get(notice_id)

    def heads(self) -> Iterator[tuple[str, LogHead]]:
        with self._lock:
            heads = dict(self.heads_by_notice)
        if AUDIT_STREAM in heads:
            yield AUDIT_STREAM, heads.pop(AUDIT_STREAM)
        yield from sorted(heads.items())


def rewritten_from(log: list[LogEntry], seq: int, **change: Any) -> list[LogEntry]:
    """The log with entry ``seq`` changed and it and every later entry sealed again, each chained to
    the one before: what whoever can write the table can do."""
    forged = log[:seq]
    for entry in log[seq:]:
        changed = replace(entry, **(change if entry.seq == seq else {}))
        changed = replace(changed, prev_hash=forged[-1].hash if forged else changed.prev_hash)
        sealed = entry_hash(
            notice_id=changed.notice_id,
            seq=changed.seq,
            kind=changed.kind,
            at=changed.at,
            actor=changed.actor,
            data=changed.data,
            prev_hash=changed.prev_hash,
        )
        forged.append(replace(changed, hash=sealed))
    return forged
