"""The ack log's chain: how entries are sealed, and what verification catches."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain.acklog import (
    GENESIS,
    EntryKind,
    LogEntry,
    Verification,
    entry_hash,
    next_entry,
    verify_chain,
)
from chalicelib.domain.notices import canonical_json
from tests.builders import NOW

NOTICE = "ntc_acklog"


def a_log(count: int = 5, notice_id: str = NOTICE) -> list[LogEntry]:
    kinds = [
        EntryKind.CREATED,
        EntryKind.ROUTED,
        EntryKind.DELIVERED,
        EntryKind.ACKNOWLEDGED,
        EntryKind.CLOSED,
    ]
    log: list[LogEntry] = []
    for n in range(count):
        log.append(
            next_entry(
                log[-1] if log else None,
                notice_id=notice_id,
                kind=kinds[n % len(kinds)],
                at=NOW + timedelta(minutes=n),
                actor="system" if n % 2 == 0 else "sub_1",
                data={"n": n, "recipients": ["sub_1", "sub_2"], "nested": {"ok": True, "none": None}},
            )
        )
    return log


def resealed(entry: LogEntry, **changes: Any) -> LogEntry:
    """The entry changed and given a hash that matches its new contents, as a careful forger would."""
    changed = replace(entry, **changes)
    return replace(changed, hash=_hash_of(changed))


def _hash_of(e: LogEntry) -> str:
    return entry_hash(
        notice_id=e.notice_id,
        seq=e.seq,
        kind=e.kind,
        at=e.at,
        actor=e.actor,
        data=e.data,
        prev_hash=e.prev_hash,
    )


def test_first_entry_is_seq_0_and_starts_from_genesis() -> None:
    first = a_log(1)[0]
    assert (first.seq, first.prev_hash, first.kind) == (0, GENESIS, EntryKind.CREATED)
    assert len(first.hash) == 64
    assert first.hash == _hash_of(first)


def test_each_entry_holds_the_hash_of_the_one_before() -> None:
    log = a_log()
    assert [e.seq for e in log] == [0, 1, 2, 3, 4]
    assert [e.prev_hash for e in log[1:]] == [e.hash for e in log[:-1]]


def test_hash_is_sha256_of_the_canonical_json_of_every_other_field() -> None:
    entry = a_log(1)[0]
    expected = {
        "notice_id": entry.notice_id,
        "seq": 0,
        "kind": "created",
        "at": "2012-02-17T21:05:00+00:00",
        "actor": "system",
        "data": entry.data,
        "prev_hash": GENESIS,
    }
    assert entry.hash == hashlib.sha256(canonical_json(expected).encode()).hexdigest()


def test_untouched_log_verifies() -> None:
    assert verify_chain(NOTICE, a_log()) == Verification(
        verified=True, entries=5, broken_at=None, reason=None
    )


def test_single_created_entry_verifies() -> None:
    assert verify_chain(NOTICE, a_log(1)).verified


@pytest.mark.parametrize("seq", [0, 2, 4])
@pytest.mark.parametrize(
    "change",
    [
        {"actor": "someone-else"},
        {"kind": EntryKind.ESCALATED},
        {"at": NOW + timedelta(days=1)},
        {"data": {"n": 99}},
        {"prev_hash": "f" * 64},
    ],
    ids=["actor", "kind", "at", "data", "prev_hash"],
)
def test_edited_entry_is_detected_where_it_was_edited(seq: int, change: dict[str, Any]) -> None:
    log = a_log()
    log[seq] = replace(log[seq], **change)
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at, result.entries) == (False, seq, 5)
    assert result.reason == f"entry {seq} was altered: its contents do not match its hash"


def test_edited_entry_with_a_recomputed_hash_breaks_the_link_to_the_next() -> None:
    log = a_log()
    log[2] = resealed(log[2], actor="forger")
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at) == (False, 3)
    assert result.reason == "entry 3 does not follow entry 2: its previous hash does not match"


def test_newest_entry_edited_with_a_recomputed_hash_is_not_detectable_by_the_chain_alone() -> None:
    # A limitation, stated as a test: only a copy of the newest hash kept elsewhere would show it.
    log = a_log()
    log[-1] = resealed(log[-1], actor="forger")
    assert verify_chain(NOTICE, log).verified


def test_removed_entry_is_detected() -> None:
    log = a_log()
    del log[2]
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at, result.entries) == (False, 2, 4)
    assert result.reason == "entry 2 is missing: entry 1 is followed by entry 3"


def test_removed_entry_with_later_seqs_renumbered_breaks_the_chain_where_it_was_removed() -> None:
    log = a_log()
    del log[2]
    log[2:] = [resealed(e, seq=e.seq - 1) for e in log[2:]]
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at) == (False, 2)
    assert result.reason == "entry 2 does not follow entry 1: its previous hash does not match"


def test_missing_first_entry_is_detected() -> None:
    result = verify_chain(NOTICE, a_log()[1:])
    assert (result.verified, result.broken_at) == (False, 0)
    assert result.reason == "the first entry (seq 0) is missing: the log starts at seq 1"


def test_first_entry_that_does_not_start_from_genesis_is_detected() -> None:
    log = a_log()
    log[0] = resealed(log[0], prev_hash="1" * 64)
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at) == (False, 0)
    assert result.reason == "entry 0 does not start the chain: its previous hash is not the genesis hash"


def test_reordered_entries_are_detected() -> None:
    log = a_log()
    log[1], log[3] = log[3], log[1]
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at) == (False, 1)
    assert result.reason == "entry 1 is missing: entry 0 is followed by entry 3"


def test_swapped_seqs_are_detected() -> None:
    # How reordering looks in a store that sorts by seq: the entries trade seq numbers.
    log = a_log()
    log[1], log[2] = replace(log[2], seq=1), replace(log[1], seq=2)
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at) == (False, 1)
    assert result.reason == "entry 1 was altered: its contents do not match its hash"


def test_repeated_entry_is_detected() -> None:
    log = a_log()
    log.insert(3, log[2])
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at) == (False, 3)
    assert result.reason == "entry 2 is out of order: it comes after entry 2"


def test_entry_from_another_notice_is_detected() -> None:
    log = a_log()
    log[3] = a_log(notice_id="ntc_other")[3]
    result = verify_chain(NOTICE, log)
    assert (result.verified, result.broken_at) == (False, 3)
    assert result.reason == f"entry 3 belongs to notice ntc_other, not {NOTICE}"


def test_a_whole_log_of_another_notice_is_not_this_notices_log() -> None:
    result = verify_chain(NOTICE, a_log(notice_id="ntc_other"))
    assert (result.verified, result.broken_at) == (False, 0)


def test_empty_log_is_not_verified_because_every_notice_starts_with_created() -> None:
    result = verify_chain(NOTICE, [])
    assert (result.verified, result.entries, result.broken_at) == (False, 0, 0)
    assert result.reason is not None
    assert "'created'" in result.reason


def test_dropping_the_newest_entries_is_not_detectable_by_the_chain_alone() -> None:
    # A limitation, stated as a test: truncation leaves a valid, shorter chain.
    assert verify_chain(NOTICE, a_log()[:3]).verified


def test_verification_as_json() -> None:
    log = a_log()
    del log[1]
    assert verify_chain(NOTICE, log).as_json() == {
        "verified": False,
        "entries": 4,
        "broken_at": 1,
        "reason": "entry 1 is missing: entry 0 is followed by entry 2",
    }
    assert verify_chain(NOTICE, a_log()).as_json() == {
        "verified": True,
        "entries": 5,
        "broken_at": None,
        "reason": None,
    }


BASE: dict[str, Any] = {
    "notice_id": NOTICE,
    "seq": 3,
    "kind": EntryKind.ACKNOWLEDGED,
    "at": NOW,
    "actor": "sub_1",
    "data": {"channel": "email"},
    "prev_hash": "a" * 64,
}


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("notice_id", "ntc_other"),
        ("seq", 4),
        ("kind", EntryKind.ESCALATED),
        ("at", NOW + timedelta(microseconds=1)),
        ("actor", "sub_2"),
        ("data", {"channel": "sms"}),
        ("prev_hash", "b" * 64),
    ],
)
def test_hash_covers_every_field(field: str, other: Any) -> None:
    assert entry_hash(**BASE) != entry_hash(**{**BASE, field: other})


def test_canonical_encoding_ignores_key_order() -> None:
    one = {**BASE, "data": {"a": 1, "b": {"x": [1, 2], "y": None}}}
    two = {**BASE, "data": {"b": {"y": None, "x": [1, 2]}, "a": 1}}
    assert entry_hash(**one) == entry_hash(**two)


def test_list_order_in_data_counts() -> None:
    assert entry_hash(**{**BASE, "data": {"r": [1, 2]}}) != entry_hash(**{**BASE, "data": {"r": [2, 1]}})


def test_time_is_stored_in_utc_so_the_same_instant_seals_the_same() -> None:
    eastern = timezone(timedelta(hours=-5))
    one = next_entry(None, notice_id=NOTICE, kind=EntryKind.CREATED, at=NOW, actor="system", data={})
    two = next_entry(
        None, notice_id=NOTICE, kind=EntryKind.CREATED, at=NOW.astimezone(eastern), actor="system", data={}
    )
    assert two.at.tzinfo is UTC
    assert one == two


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_entry(
            None, notice_id=NOTICE, kind=EntryKind.CREATED, at=datetime(2012, 2, 17), actor="system", data={}
        )


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"ratio": 0.5}, "data.ratio is a float"),
        ({"when": NOW}, "data.when is a datetime"),
        ({"ids": {"a", "b"}}, "data.ids is a set"),
        ({"deep": [{"x": 1.0}]}, r"data.deep\[0\].x is a float"),
        ({"m": {1: "one"}}, "data.m has a key that is not a string"),
    ],
)
def test_data_that_is_not_json_safe_is_refused(data: dict[str, Any], where: str) -> None:
    with pytest.raises(ValueError, match=where):
        next_entry(None, notice_id=NOTICE, kind=EntryKind.CREATED, at=NOW, actor="system", data=data)


def test_entry_keeps_its_own_copy_of_data_with_tuples_as_lists() -> None:
    data: dict[str, Any] = {"gaps": ("state-executive",), "nested": {"ids": ["a"]}}
    entry = next_entry(None, notice_id=NOTICE, kind=EntryKind.ROUTED, at=NOW, actor="system", data=data)
    data["nested"]["ids"].append("b")
    data["gaps"] = ()
    assert entry.data == {"gaps": ["state-executive"], "nested": {"ids": ["a"]}}
    assert verify_chain(NOTICE, [entry]).verified


def test_chaining_onto_an_entry_of_another_notice_is_refused() -> None:
    other = a_log(1, notice_id="ntc_other")[0]
    with pytest.raises(ValueError, match="ntc_other"):
        next_entry(other, notice_id=NOTICE, kind=EntryKind.ROUTED, at=NOW, actor="system", data={})
