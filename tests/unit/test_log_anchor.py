"""A log that proves its own end: each chain checked against its head kept outside it (on the notice,
or the audit trail's own item) and against the newest daily digest, through the API and the digest
schedule."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from app import app, on_digest_tick
from chalicelib import bootstrap
from chalicelib.adapters import dynamodb
from chalicelib.domain.acklog import (
    AUDIT_STREAM,
    DigestedHead,
    EntryKind,
    LogEntry,
    LogHead,
    verify_anchored,
)
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.digests import Digest, Previous, day_of, digest_key, read_digest, sha256
from chalicelib.domain.subscribers import Channel, ChannelType, Role
from chalicelib.ports import StoreUnavailable
from chalicelib.services import digests
from tests.builders import NOW, rollout_body, subscriber
from tests.fake_acklog import rewritten_from
from tests.fakes import FakeWorld
from tests.unit.test_acklog import NOTICE, a_log
from tests.unit.test_api import call
from vigil_local.pump import LambdaContext
from vigil_local.ticker import scheduled_event

Keys = dict[ApiRole, str]
TODAY = NOW.date()


def head(entry: LogEntry) -> LogHead:
    return LogHead.of(entry)


# ------------------------------------------------------------------ the rule


def test_a_log_ending_at_its_head_verifies() -> None:
    log = a_log()
    result = verify_anchored(NOTICE, log, anchor=head(log[-1]), digested=None)
    assert (result.verified, result.entries, result.broken_at, result.reason) == (True, 5, None, None)


def test_a_log_whose_entries_all_predate_heads_is_checked_by_its_chain_alone() -> None:
    assert verify_anchored(NOTICE, a_log(), anchor=None, digested=None).verified


def test_a_removed_newest_entry_is_caught_by_the_head() -> None:
    log = a_log()
    result = verify_anchored(NOTICE, log[:-1], anchor=head(log[-1]), digested=None)
    assert (result.verified, result.broken_at) == (False, 4)
    assert result.reason == (
        "the head kept outside the log names entry 4, but the log ends at entry 3: "
        "its newest entries were removed"
    )


def test_a_forged_tail_with_recomputed_hashes_chains_but_is_caught_by_the_head() -> None:
    log = a_log()
    forged = rewritten_from(log, 2, actor="forger")
    assert verify_anchored(NOTICE, forged, anchor=None, digested=None).verified  # the chain alone holds
    result = verify_anchored(NOTICE, forged, anchor=head(log[-1]), digested=None)
    assert (result.verified, result.broken_at) == (False, 4)
    assert result.reason is not None
    assert "rewritten with its hashes recomputed" in result.reason


def test_a_forged_newest_entry_is_caught_by_the_head() -> None:
    log = a_log()
    forged = rewritten_from(log, 4, data={"n": 4, "recipients": []})
    result = verify_anchored(NOTICE, forged, anchor=head(log[-1]), digested=None)
    assert (result.verified, result.broken_at) == (False, 4)


def test_entries_added_past_the_head_are_caught() -> None:
    log = a_log()
    result = verify_anchored(NOTICE, log, anchor=head(log[2]), digested=None)
    assert (result.verified, result.broken_at) == (False, 3)
    assert result.reason is not None
    assert "added without their head" in result.reason


def test_the_chain_is_checked_first() -> None:
    log = a_log()
    log[1] = replace(log[1], actor="forger")
    result = verify_anchored(NOTICE, log, anchor=head(log[-1]), digested=None)
    assert (result.verified, result.broken_at) == (False, 1)
    assert result.reason == "entry 1 was altered: its contents do not match its hash"


def test_a_log_rewritten_with_its_head_is_caught_by_the_digest() -> None:
    log = a_log()
    digested = DigestedHead("2012-02-17", head(log[3]))
    forged = rewritten_from(log, 1, actor="forger")
    result = verify_anchored(NOTICE, forged, anchor=head(forged[-1]), digested=digested)
    assert (result.verified, result.broken_at) == (False, 3)
    assert result.reason == (
        "entry 3 is not the entry the digest of 2012-02-17 recorded: its hash differs, so the log was "
        "rewritten since with its hashes recomputed"
    )


def test_entries_removed_since_the_digest_are_caught_by_it() -> None:
    log = a_log()
    digested = DigestedHead("2012-02-17", head(log[4]))
    result = verify_anchored(NOTICE, log[:3], anchor=head(log[2]), digested=digested)
    assert (result.verified, result.broken_at) == (False, 3)
    assert result.reason is not None
    assert "the digest of 2012-02-17 names entry 4, but the log ends at entry 2" in result.reason


def test_entries_written_after_the_digest_verify() -> None:
    log = a_log()
    digested = DigestedHead("2012-02-17", head(log[1]))
    assert verify_anchored(NOTICE, log, anchor=head(log[-1]), digested=digested).verified


# ------------------------------------------------------------------ the digest


def a_digest(day: date = TODAY, previous: Previous | None = None) -> Digest:
    log = a_log()
    return Digest(day, NOW, previous, {NOTICE: head(log[-1]), AUDIT_STREAM: head(log[0])})


def test_a_digest_reads_back_as_written_and_its_bytes_are_canonical() -> None:
    digest = a_digest(previous=Previous("digests/2012-02-16.json", "c" * 64))
    body = digest.body()
    assert read_digest(body) == digest
    assert body == read_digest(body).body()
    assert body.startswith(b'{"date":"2012-02-17","format":1,"heads":{"audit":')
    assert digest.recorded(NOTICE) == DigestedHead("2012-02-17", digest.heads[NOTICE])
    assert digest.recorded("ntc_other") is None


@pytest.mark.parametrize("body", [b"", b"[]", b'{"date": "2012-02-17"}', b"\xff"])
def test_bytes_that_are_no_digest_are_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"digest|Expecting|codec"):
        read_digest(body)


def test_digest_keys_name_their_date() -> None:
    assert digest_key(TODAY) == "digests/2012-02-17.json"
    assert day_of("digests/2012-02-17.json") == TODAY
    assert day_of("digests/2012-02-17.txt") is None
    assert day_of("other/2012-02-17.json") is None
    assert day_of("digests/yesterday.json") is None


def test_the_first_digest_holds_every_head_and_no_previous(world: FakeWorld) -> None:
    told = a_log()
    for entry in told:
        world.ack_log.append(NOTICE, entry.kind, at=entry.at, actor=entry.actor, data=entry.data)
    audit = world.ack_log.append(AUDIT_STREAM, EntryKind.AUDITED, at=NOW, actor="key_a", data={})
    written = digests.write_daily(ack_log=world.ack_log, digests=world.digests, now=NOW)
    assert (written.key, written.written, written.heads) == ("digests/2012-02-17.json", True, 2)
    digest = read_digest(world.digests.objects["digests/2012-02-17.json"])
    assert digest.previous is None
    assert digest.heads == {AUDIT_STREAM: head(audit), NOTICE: world.ack_log.head(NOTICE)}


def test_a_digest_is_written_once_a_day_and_chains_to_the_one_before(world: FakeWorld) -> None:
    world.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    first = digests.write_daily(ack_log=world.ack_log, digests=world.digests, now=NOW)
    again = digests.write_daily(ack_log=world.ack_log, digests=world.digests, now=NOW + timedelta(hours=1))
    assert (first.written, again.written) == (True, False)
    world.ack_log.append(NOTICE, EntryKind.ROUTED, at=NOW, actor="system", data={})
    # A day the schedule never ran has no digest; the next one chains to the last written.
    later = digests.write_daily(ack_log=world.ack_log, digests=world.digests, now=NOW + timedelta(days=2))
    assert later.key == "digests/2012-02-19.json"
    digest = read_digest(world.digests.objects[later.key])
    stored = world.digests.objects[first.key]
    assert digest.previous == Previous(first.key, sha256(stored))
    assert digest.heads[NOTICE].seq == 1
    assert sorted(world.digests.objects) == ["digests/2012-02-17.json", "digests/2012-02-19.json"]


def test_what_the_newest_digest_says_of_a_chain(world: FakeWorld) -> None:
    assert digests.recorded(NOTICE, digests=world.digests, now=NOW) == digests.DigestRecord()
    world.digests.objects[digest_key(TODAY)] = a_digest().body()
    assert digests.recorded(NOTICE, digests=world.digests, now=NOW).digested == a_digest().recorded(NOTICE)
    assert digests.recorded("ntc_other", digests=world.digests, now=NOW) == digests.DigestRecord()


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("digests/2012-02-18.json", None, "the newest digest, digests/2012-02-18.json, is dated after today"),
        ("digests/2012-02-17.json", b"{}", "the newest digest, digests/2012-02-17.json, is not a digest"),
        (
            "digests/2012-02-17.json",
            a_digest(day=date(2012, 2, 16)).body(),
            "the newest digest, digests/2012-02-17.json, says it is of 2012-02-16",
        ),
    ],
    ids=["future", "garbage", "misdated"],
)
def test_a_newest_digest_that_cannot_be_believed_fails_verification(
    world: FakeWorld, key: str, body: bytes | None, reason: str
) -> None:
    world.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    world.digests.objects[key] = a_digest().body() if body is None else body
    checked = digests.check(NOTICE, ack_log=world.ack_log, digests=world.digests, now=NOW)
    assert (checked.verification.verified, checked.verification.reason) == (False, reason)


def test_the_digest_schedule_writes_the_days_digest(world: FakeWorld) -> None:
    world.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    bootstrap.use(world.deps(), clock=lambda: NOW)
    event = scheduled_event("on_digest_tick", region="us-east-1", now=NOW)
    assert on_digest_tick(event, LambdaContext("on_digest_tick")) == {
        "date": "2012-02-17",
        "key": "digests/2012-02-17.json",
        "written": True,
        "heads": 1,
    }
    assert on_digest_tick(event, LambdaContext("on_digest_tick"))["written"] is False


# ------------------------------------------------------------------ through the API


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    channels = (Channel(ChannelType.EMAIL, "adviser@example.gov"),)
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=channels))
    with Client(app) as test_client:
        yield test_client


def a_notice(client: Client, keys: Keys, world: FakeWorld) -> str:
    from tests.unit.test_pipeline import run  # noqa: PLC0415  # the pipeline's own helper

    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    run(world)
    return str(accepted["notice_id"])


def log_of(client: Client, keys: Keys, notice_id: str) -> dict[str, Any]:
    status, body = call(client, "GET", f"/notices/{notice_id}/log", keys[ApiRole.VIEWER])
    assert status == 200
    return dict(body)


def test_the_log_answer_names_its_head_and_the_newest_digest(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = a_notice(client, keys, world)
    body = log_of(client, keys, notice_id)
    newest = body["entries"][-1]
    assert body["verified"] is True
    assert body["anchor"] == {"seq": newest["seq"], "hash": newest["hash"]}
    assert body["digest"] is None
    digests.write_daily(ack_log=world.ack_log, digests=world.digests, now=NOW)
    assert log_of(client, keys, notice_id)["digest"] == {"date": "2012-02-17", **body["anchor"]}


def test_a_removed_newest_entry_is_not_verified_through_the_api(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = a_notice(client, keys, world)
    log = world.ack_log.entries_by_notice[notice_id]
    newest = log.pop()
    body = log_of(client, keys, notice_id)
    assert (body["verified"], body["broken_at"]) == (False, newest.seq)
    assert "its newest entries were removed" in body["reason"]


def test_a_forged_tail_is_not_verified_through_the_api(client: Client, keys: Keys, world: FakeWorld) -> None:
    notice_id = a_notice(client, keys, world)
    log = world.ack_log.entries_by_notice[notice_id]
    log[:] = rewritten_from(log, 1, data={"recipients": 0, "coverage_gaps": []})
    body = log_of(client, keys, notice_id)
    assert (body["verified"], body["broken_at"]) == (False, log[-1].seq)
    assert "rewritten with its hashes recomputed" in body["reason"]


def test_the_audit_trail_answer_checks_its_own_head(client: Client, keys: Keys, world: FakeWorld) -> None:
    status, trail = call(client, "GET", "/audit", keys[ApiRole.ADMIN])
    assert (status, trail["verified"], trail["anchor"], trail["digest"], trail["reason"]) == (
        200,
        True,
        None,
        None,
        None,
    )
    for n in range(3):
        world.ack_log.append(AUDIT_STREAM, EntryKind.AUDITED, at=NOW, actor="key_a", data={"n": n})
    digests.write_daily(ack_log=world.ack_log, digests=world.digests, now=NOW)
    _, trail = call(client, "GET", "/audit", keys[ApiRole.ADMIN])
    assert (trail["verified"], trail["anchor"]["seq"], trail["digest"]["seq"]) == (True, 2, 2)

    world.ack_log.entries_by_notice[AUDIT_STREAM].pop()
    _, trail = call(client, "GET", "/audit", keys[ApiRole.ADMIN])
    assert (trail["verified"], trail["broken_at"]) == (False, 2)
    assert "its newest entries were removed" in trail["reason"]


def test_an_audit_trail_emptied_of_every_entry_is_not_verified(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    world.ack_log.append(AUDIT_STREAM, EntryKind.AUDITED, at=NOW, actor="key_a", data={})
    world.ack_log.entries_by_notice[AUDIT_STREAM].clear()
    _, trail = call(client, "GET", "/audit", keys[ApiRole.ADMIN])
    assert (trail["verified"], trail["total"], trail["anchor"]["seq"]) == (False, 0, 0)


# ------------------------------------------------------------------ a write that meets a log's transaction


def conflicting(times: int) -> Any:
    """A DynamoDB write refused ``times`` times because a transaction held its item, then applied."""
    calls: list[int] = []

    def update_item(**_: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) <= times:
            raise ClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "held"}}, "UpdateItem"
            )
        return {}

    update_item.calls = calls  # type: ignore[attr-defined]
    return update_item


def test_a_write_refused_while_a_log_transaction_holds_the_notice_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dynamodb, "_CONFLICT_BACKOFF", 0.0)
    write = conflicting(times=3)
    assert dynamodb.call(write, TableName="vigil-test-notices") == {}
    assert len(write.calls) == 4


def test_a_write_held_up_every_time_is_a_store_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamodb, "_CONFLICT_BACKOFF", 0.0)
    write = conflicting(times=10)
    with pytest.raises(
        StoreUnavailable, match="UpdateItem on vigil-test-notices: TransactionConflictException"
    ):
        dynamodb.call(write, TableName="vigil-test-notices")
    assert len(write.calls) == 4


class AppendingWhileRead:
    """The ack log of a notice the pipeline appends to while it is being checked: each of the first
    ``appends`` reads of the entries lets one more entry land just after it."""

    def __init__(self, world: FakeWorld, appends: int) -> None:
        self._log = world.ack_log
        self._appends = appends

    def head(self, notice_id: str) -> LogHead | None:
        return self._log.head(notice_id)

    def entries(self, notice_id: str) -> list[LogEntry]:
        read = self._log.entries(notice_id)
        if self._appends:
            self._appends -= 1
            self._log.append(notice_id, EntryKind.DELIVERED, at=NOW, actor="system", data={})
        return read


@pytest.mark.parametrize("appends", [1, 3])
def test_entries_appended_while_a_chain_is_checked_do_not_pass_for_tampering(
    world: FakeWorld, appends: int
) -> None:
    world.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    racing = AppendingWhileRead(world, appends)
    checked = digests.check(NOTICE, ack_log=racing, digests=world.digests, now=NOW)  # type: ignore[arg-type]  # reason: a test double of the two reads check makes
    assert checked.verification.verified, checked.verification.reason
    assert [e.seq for e in checked.entries] == list(range(appends + 1))
    assert checked.anchor == head(checked.entries[-1])


def test_a_log_missing_its_newest_entry_is_still_reported_when_nothing_races(world: FakeWorld) -> None:
    world.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    world.ack_log.append(NOTICE, EntryKind.DELIVERED, at=NOW, actor="system", data={})
    racing = AppendingWhileRead(world, 0)
    del world.ack_log.entries_by_notice[NOTICE][-1]
    checked = digests.check(NOTICE, ack_log=racing, digests=world.digests, now=NOW)  # type: ignore[arg-type]  # reason: a test double of the two reads check makes
    assert checked.verification.verified is False
    assert "newest entries were removed" in (checked.verification.reason or "")
