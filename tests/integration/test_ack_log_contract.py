"""The ack log's contract, against the in-memory fake and the DynamoDB adapter (moto, table from infra/)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.ack_log import DynamoAckLog, entry_to_item
from chalicelib.adapters.dynamodb import encode, error_code
from chalicelib.domain.acklog import (
    AUDIT_STREAM,
    GENESIS,
    EntryKind,
    LogConflict,
    LogEntry,
    LogHead,
    verify_chain,
)
from chalicelib.domain.errors import NotFound
from chalicelib.ports import StoreUnavailable
from tests.builders import NOW
from tests.fake_acklog import RIVAL, InMemoryAckLog
from tests.integration.conftest import STAGE, Aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = f"vigil-{STAGE}-ack-log"
NOTICES = f"vigil-{STAGE}-notices"
NOTICE = "ntc_acklog"
# The notices these tests keep logs of (the adapter keeps each log's head on its notice).
KNOWN = (NOTICE, "ntc_a", "ntc_b", "ntc_other")
WRITERS = 8


class AckLog(Protocol):
    def append(
        self, notice_id: str, kind: EntryKind, *, at: datetime, actor: str, data: Mapping[str, Any]
    ) -> LogEntry: ...

    def entries(self, notice_id: str) -> list[LogEntry]: ...

    def head(self, notice_id: str) -> LogHead | None: ...

    def heads(self) -> Iterator[tuple[str, LogHead]]: ...


@dataclass
class Backend:
    ack_log: AckLog
    # The coming appends lose this many races: each time, a rival writer takes the seq first.
    lose_races: Callable[[int], None]
    # Play the attacker with direct access to the store: put this entry in the slot (notice, seq).
    overwrite: Callable[[str, int, LogEntry], None]
    remove: Callable[[str, int], None]


class RacingClient:
    """A DynamoDB client whose next appends each lose a race: a rival appends just before the
    adapter's transaction goes out.

    It also makes each transaction atomic, as DynamoDB's are: moto checks the conditions, then
    writes, with no lock, so two threads could both pass the check. The race this suite is about,
    between the adapter's read and its write, stays open.
    """

    _atomic = threading.Lock()

    def __init__(self, client: DynamoDBClient) -> None:
        self._client = client
        self._rival = DynamoAckLog(TABLE, client, notices_table=NOTICES)
        self.rivals = 0
        self.writes: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.writes.append(kwargs)
        if self.rivals > 0:
            self.rivals -= 1
            item = kwargs["TransactItems"][0]["Put"]["Item"]
            self._rival.append(
                item["notice_id"]["S"],
                EntryKind(item["kind"]["S"]),
                at=datetime.fromisoformat(item["at"]["S"]),
                actor=RIVAL,
                data={"rival": True},
            )
        with self._atomic:
            return self._client.transact_write_items(**kwargs)


def _key(notice_id: str, seq: int) -> dict[str, Any]:
    return {"notice_id": {"S": notice_id}, "seq": {"N": str(seq)}}


def fake_backend() -> Backend:
    fake = InMemoryAckLog()

    def lose_races(count: int) -> None:
        fake.steal_next_seq = count

    def overwrite(notice_id: str, seq: int, entry: LogEntry) -> None:
        log = fake.entries_by_notice.setdefault(notice_id, [])
        log[:] = [e for e in log if e.seq != seq] + [replace(entry, notice_id=notice_id, seq=seq)]

    def remove(notice_id: str, seq: int) -> None:
        log = fake.entries_by_notice[notice_id]
        log[:] = [e for e in log if e.seq != seq]

    return Backend(fake, lose_races, overwrite, remove)


def dynamo_backend(client: DynamoDBClient) -> Backend:
    for notice_id in KNOWN:  # enough of a notice for its log's head
        client.put_item(TableName=NOTICES, Item={"notice_id": {"S": notice_id}})
    racing = RacingClient(client)

    def lose_races(count: int) -> None:
        racing.rivals = count

    def overwrite(notice_id: str, seq: int, entry: LogEntry) -> None:
        item = entry_to_item(entry)
        if (entry.notice_id, entry.seq) != (notice_id, seq):
            client.delete_item(TableName=TABLE, Key=_key(notice_id, seq))
            client.put_item(TableName=TABLE, Item=encode({**item, "notice_id": notice_id, "seq": seq}))
            return
        attributes = [name for name in item if name not in {"notice_id", "seq"}]
        client.update_item(
            TableName=TABLE,
            Key=_key(notice_id, seq),
            UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in attributes),
            ExpressionAttributeNames={f"#{name}": name for name in attributes},
            ExpressionAttributeValues=encode({f":{name}": item[name] for name in attributes}),
        )

    def remove(notice_id: str, seq: int) -> None:
        client.delete_item(TableName=TABLE, Key=_key(notice_id, seq))

    log = DynamoAckLog(TABLE, cast("DynamoDBClient", racing), notices_table=NOTICES)
    return Backend(log, lose_races, overwrite, remove)


@pytest.fixture
def dynamodb(aws: Aws, stack: dict[str, str]) -> DynamoDBClient:
    assert stack["AckLogTableName"] == TABLE
    client: DynamoDBClient = aws.client("dynamodb")
    return client


@pytest.fixture(params=["fake", pytest.param("dynamodb", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        return fake_backend()
    return dynamo_backend(request.getfixturevalue("dynamodb"))


STORY: list[tuple[EntryKind, str, dict[str, Any]]] = [
    (EntryKind.CREATED, "key_source", {"type": "rollout"}),
    (EntryKind.ROUTED, "system", {"recipients": 3, "coverage_gaps": []}),
    (EntryKind.DELIVERED, "system", {"delivery_id": "d1", "channel": "email"}),
    (EntryKind.ACKNOWLEDGED, "sub_1", {"via": "link"}),
    (EntryKind.CLOSED, "key_admin", {}),
]


def told(ack_log: AckLog, notice_id: str = NOTICE) -> list[LogEntry]:
    return [
        ack_log.append(notice_id, kind, at=NOW + timedelta(minutes=n), actor=actor, data=data)
        for n, (kind, actor, data) in enumerate(STORY)
    ]


def test_appended_entries_come_back_oldest_first_and_verify(backend: Backend) -> None:
    appended = told(backend.ack_log)
    assert backend.ack_log.entries(NOTICE) == appended
    assert [e.kind for e in appended] == [kind for kind, _, _ in STORY]
    assert verify_chain(NOTICE, appended).as_json() == {
        "verified": True,
        "entries": 5,
        "broken_at": None,
        "reason": None,
    }


def test_first_entry_is_seq_0_from_genesis_and_each_one_chains_onto_the_last(backend: Backend) -> None:
    entries = told(backend.ack_log)
    assert [e.seq for e in entries] == [0, 1, 2, 3, 4]
    assert [e.prev_hash for e in entries] == [GENESIS] + [e.hash for e in entries[:-1]]


def test_data_and_time_round_trip_exactly(backend: Backend) -> None:
    data = {
        "big": 2**62 + 1,
        "negative": -7,
        "text": "Señora Ñandú — 東京",
        "flags": [True, False, None],
        "nested": {"empty": [], "deeper": {"z": 1, "a": "x"}},
    }
    at = NOW + timedelta(microseconds=123456)
    entry = backend.ack_log.append(NOTICE, EntryKind.CREATED, at=at, actor="system", data=data)
    assert backend.ack_log.entries(NOTICE) == [entry]
    assert entry.data == data
    assert entry.at == at
    assert verify_chain(NOTICE, backend.ack_log.entries(NOTICE)).verified


def test_logs_of_different_notices_are_separate(backend: Backend) -> None:
    told(backend.ack_log, "ntc_a")
    backend.ack_log.append("ntc_b", EntryKind.CREATED, at=NOW, actor="system", data={})
    assert [e.seq for e in backend.ack_log.entries("ntc_b")] == [0]
    assert {e.notice_id for e in backend.ack_log.entries("ntc_a")} == {"ntc_a"}
    assert verify_chain("ntc_a", backend.ack_log.entries("ntc_a")).verified
    assert verify_chain("ntc_b", backend.ack_log.entries("ntc_b")).verified


def test_unknown_notice_has_an_empty_log_that_does_not_verify(backend: Backend) -> None:
    assert backend.ack_log.entries("ntc_nothing") == []
    assert verify_chain("ntc_nothing", []).broken_at == 0


def test_an_append_that_loses_a_race_chains_onto_the_winner(backend: Backend) -> None:
    backend.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    backend.lose_races(2)
    mine = backend.ack_log.append(NOTICE, EntryKind.ACKNOWLEDGED, at=NOW, actor="sub_1", data={"via": "sms"})
    entries = backend.ack_log.entries(NOTICE)
    assert [(e.seq, e.actor) for e in entries] == [(0, "system"), (1, RIVAL), (2, RIVAL), (3, "sub_1")]
    assert entries[3] == mine
    assert mine.prev_hash == entries[2].hash
    assert verify_chain(NOTICE, entries).verified


def test_no_entry_is_ever_overwritten(backend: Backend) -> None:
    backend.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    backend.lose_races(1)
    backend.ack_log.append(NOTICE, EntryKind.ACKNOWLEDGED, at=NOW, actor="sub_1", data={})
    rival = backend.ack_log.entries(NOTICE)[1]
    assert (rival.seq, rival.actor, rival.data) == (1, RIVAL, {"rival": True})


def test_an_append_that_keeps_losing_raises_log_conflict_and_writes_nothing(backend: Backend) -> None:
    backend.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    backend.lose_races(10)
    with pytest.raises(LogConflict) as caught:
        backend.ack_log.append(NOTICE, EntryKind.ACKNOWLEDGED, at=NOW, actor="sub_1", data={})
    assert (caught.value.notice_id, caught.value.attempts) == (NOTICE, 10)
    entries = backend.ack_log.entries(NOTICE)
    assert [e.actor for e in entries] == ["system"] + [RIVAL] * 10
    assert verify_chain(NOTICE, entries).verified


def test_concurrent_appends_each_get_their_own_seq_and_the_chain_verifies(backend: Backend) -> None:
    backend.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    start = threading.Barrier(WRITERS)

    def acknowledge(n: int) -> LogEntry:
        start.wait()
        return backend.ack_log.append(NOTICE, EntryKind.ACKNOWLEDGED, at=NOW, actor=f"sub_{n}", data={"n": n})

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        appended = list(pool.map(acknowledge, range(WRITERS)))

    entries = backend.ack_log.entries(NOTICE)
    assert [e.seq for e in entries] == list(range(WRITERS + 1))
    assert sorted(e.seq for e in appended) == list(range(1, WRITERS + 1))
    assert {e.actor for e in entries[1:]} == {f"sub_{n}" for n in range(WRITERS)}
    assert sorted(appended, key=lambda e: e.seq) == entries[1:]
    assert verify_chain(NOTICE, entries).verified


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "forger"},
        {"data": {"via": "nothing"}},
        {"kind": EntryKind.DECIDED},
        {"at": NOW - timedelta(days=1)},
        {"prev_hash": "0" * 63 + "1"},
        {"hash": "f" * 64},
    ],
    ids=["actor", "data", "kind", "at", "prev_hash", "hash"],
)
def test_tampering_with_a_stored_item_makes_verification_fail(
    backend: Backend, change: dict[str, Any]
) -> None:
    stored = told(backend.ack_log)
    backend.overwrite(NOTICE, 2, replace(stored[2], **change))
    result = verify_chain(NOTICE, backend.ack_log.entries(NOTICE))
    assert (result.verified, result.broken_at, result.entries) == (False, 2, 5)


def test_removing_a_stored_item_makes_verification_fail(backend: Backend) -> None:
    told(backend.ack_log)
    backend.remove(NOTICE, 3)
    result = verify_chain(NOTICE, backend.ack_log.entries(NOTICE))
    assert (result.verified, result.broken_at) == (False, 3)
    assert result.reason == "entry 3 is missing: entry 2 is followed by entry 4"


def test_removing_the_first_stored_item_makes_verification_fail(backend: Backend) -> None:
    told(backend.ack_log)
    backend.remove(NOTICE, 0)
    result = verify_chain(NOTICE, backend.ack_log.entries(NOTICE))
    assert (result.verified, result.broken_at) == (False, 0)


def test_swapping_two_stored_items_makes_verification_fail(backend: Backend) -> None:
    stored = told(backend.ack_log)
    backend.overwrite(NOTICE, 1, stored[3])
    backend.overwrite(NOTICE, 3, stored[1])
    result = verify_chain(NOTICE, backend.ack_log.entries(NOTICE))
    assert (result.verified, result.broken_at) == (False, 1)


def test_an_entry_copied_from_another_notice_makes_verification_fail(backend: Backend) -> None:
    told(backend.ack_log)
    other = told(backend.ack_log, "ntc_other")
    backend.overwrite(NOTICE, 2, other[2])
    result = verify_chain(NOTICE, backend.ack_log.entries(NOTICE))
    assert (result.verified, result.broken_at) == (False, 2)


def test_an_append_after_tampering_does_not_repair_the_chain(backend: Backend) -> None:
    stored = told(backend.ack_log)
    backend.overwrite(NOTICE, 4, replace(stored[4], actor="forger"))
    backend.ack_log.append(NOTICE, EntryKind.ESCALATED, at=NOW, actor="system", data={})
    result = verify_chain(NOTICE, backend.ack_log.entries(NOTICE))
    assert (result.verified, result.broken_at) == (False, 4)


# The head kept outside the chain.


def test_each_append_keeps_the_newest_entry_as_the_chains_head(backend: Backend) -> None:
    assert backend.ack_log.head(NOTICE) is None
    appended = told(backend.ack_log)
    assert backend.ack_log.head(NOTICE) == LogHead(4, appended[-1].hash)
    assert backend.ack_log.head("ntc_other") is None


def test_the_head_follows_the_winner_of_a_race(backend: Backend) -> None:
    backend.ack_log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    backend.lose_races(2)
    mine = backend.ack_log.append(NOTICE, EntryKind.ACKNOWLEDGED, at=NOW, actor="sub_1", data={})
    assert backend.ack_log.head(NOTICE) == LogHead(mine.seq, mine.hash) == LogHead(3, mine.hash)


def test_the_audit_trail_has_a_head_of_its_own(backend: Backend) -> None:
    told(backend.ack_log, NOTICE)
    entry = backend.ack_log.append(AUDIT_STREAM, EntryKind.AUDITED, at=NOW, actor="key_admin", data={})
    assert backend.ack_log.head(AUDIT_STREAM) == LogHead(0, entry.hash)
    assert backend.ack_log.entries(AUDIT_STREAM) == [entry]  # the head is no entry of the trail
    heads = dict(backend.ack_log.heads())
    assert heads[AUDIT_STREAM] == LogHead(0, entry.hash)
    assert heads[NOTICE] == backend.ack_log.head(NOTICE)
    assert next(iter(backend.ack_log.heads()))[0] == AUDIT_STREAM


def test_entries_dropped_or_rewritten_in_the_table_leave_the_head_alone(backend: Backend) -> None:
    stored = told(backend.ack_log)
    backend.remove(NOTICE, 4)
    backend.overwrite(NOTICE, 3, replace(stored[3], actor="forger"))
    assert backend.ack_log.head(NOTICE) == LogHead(4, stored[4].hash)


# DynamoDB only: the table itself refuses overwrites, and its errors become the project's.


@pytest.mark.integration
def test_the_log_of_a_notice_that_does_not_exist_is_not_written(dynamodb: DynamoDBClient) -> None:
    log = dynamo_backend(dynamodb).ack_log
    with pytest.raises(NotFound):
        log.append("ntc_nothing", EntryKind.CREATED, at=NOW, actor="system", data={})
    assert log.entries("ntc_nothing") == []
    assert dynamodb.get_item(TableName=NOTICES, Key={"notice_id": {"S": "ntc_nothing"}}).get("Item") is None


@pytest.mark.integration
def test_the_head_is_written_with_the_entry_or_not_at_all(dynamodb: DynamoDBClient) -> None:
    """One transaction: when the notice's side is refused, the entry is not written either."""
    log = dynamo_backend(dynamodb).ack_log
    first = log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    dynamodb.delete_item(TableName=NOTICES, Key={"notice_id": {"S": NOTICE}})
    with pytest.raises(NotFound):
        log.append(NOTICE, EntryKind.ROUTED, at=NOW, actor="system", data={})
    assert log.entries(NOTICE) == [first]


@pytest.mark.integration
def test_the_put_the_adapter_makes_is_refused_at_an_existing_seq(dynamodb: DynamoDBClient) -> None:
    dynamo_backend(dynamodb)  # the notices
    racing = RacingClient(dynamodb)
    log = DynamoAckLog(TABLE, cast("DynamoDBClient", racing), notices_table=NOTICES)
    first = log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={"n": 1})
    [put, _] = racing.writes[-1]["TransactItems"]
    forged = {**put["Put"], "Item": encode(entry_to_item(replace(first, actor="forger")))}
    with pytest.raises(ClientError) as caught:
        dynamodb.put_item(**forged)
    assert error_code(caught.value) == "ConditionalCheckFailedException"
    assert log.entries(NOTICE) == [first]


@pytest.mark.integration
def test_dynamodb_errors_become_store_unavailable(aws: Aws) -> None:
    log = DynamoAckLog("vigil-test-no-such-table", aws.client("dynamodb"), notices_table=NOTICES)
    with pytest.raises(StoreUnavailable, match="ResourceNotFoundException"):
        log.append(NOTICE, EntryKind.CREATED, at=NOW, actor="system", data={})
    with pytest.raises(StoreUnavailable, match="ResourceNotFoundException"):
        log.entries(NOTICE)
