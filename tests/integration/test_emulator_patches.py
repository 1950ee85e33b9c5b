"""``bench/emulator_patches.py`` against the installed moto: the internals each patch replaces are
there, moto answers the same with the patch as without it, and the patch is undone on exit.

An upgrade of moto that moves those internals fails here, by name, rather than halfway through a
benchmark or, worse, in a benchmark that runs and counts on an emulator behaving differently.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import moto
import pytest
from botocore.exceptions import ClientError

from bench import emulator_patches
from bench.emulator_patches import EmulatorPatchError
from tests.integration.conftest import Aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

# moto's internals, untyped as the patches see them.
models: Any = importlib.import_module("moto.dynamodb.models")
responses: Any = importlib.import_module("moto.dynamodb.responses")

# Shaped like the deliveries table (a partition per notice, sorted by delivery) and the subscribers
# table (one item per key); the index is how a partition is read by another attribute.
DELIVERIES = "patch-check-deliveries"
SUBSCRIBERS = "patch-check-subscribers"
BY_STATUS = "by_status"

Patch = Callable[[], AbstractContextManager[None]]

PATCHES: dict[str, Patch] = {
    "transactions": emulator_patches.moto_transactions_undo_touched_items,
    "reads compared with moto's serializer": emulator_patches.moto_dynamodb_reads_as_plain_json,
    "reads as plain JSON only": lambda: emulator_patches.moto_dynamodb_reads_as_plain_json(compared=0),
    "both": lambda: emulator_patches.faster_moto(transactions=True, reads=True),
}


def moto_state() -> dict[str, object]:
    """What the patches replace, as moto's own modules and classes hold it."""
    return {
        "models.copy": vars(models).get("copy"),
        "DynamoDBBackend.transact_write_items": vars(models.DynamoDBBackend).get("transact_write_items"),
        "DynamoResult.execute_result": vars(responses.DynamoResult).get("execute_result"),
    }


# --- (a) the internals are there, and a changed one is named -------------------------------------


def test_the_internals_each_patch_replaces_are_those_of_the_installed_moto() -> None:
    emulator_patches.check_transaction_internals()
    emulator_patches.check_read_internals()


def test_inside_the_patches_moto_runs_the_patched_code() -> None:
    table = object.__new__(models.Table)  # no table is built: only its type matters to the copy
    before = moto_state()
    with emulator_patches.faster_moto(transactions=True, reads=True):
        inside = moto_state()
        assert models.copy.deepcopy(table) is table  # no whole-table copies
        assert models.copy.deepcopy([1, [2]]) == [1, [2]]  # anything else is copied as before
    assert all(inside[name] is not before[name] for name in before)


@pytest.mark.parametrize(
    ("patch", "owner", "name", "stand_in", "named"),
    [
        pytest.param(
            emulator_patches.moto_transactions_undo_touched_items,
            models.DynamoDBBackend,
            "transact_write_items",
            lambda self, transact_items, client_request_token: None,
            "DynamoDBBackend.transact_write_items takes (self, transact_items, client_request_token)",
            id="transactions: a parameter added",
        ),
        pytest.param(
            emulator_patches.moto_transactions_undo_touched_items,
            models,
            "copy",
            object(),
            "moto.dynamodb.models.copy is not the standard copy module",
            id="transactions: tables no longer copied with the copy module",
        ),
        pytest.param(
            emulator_patches.moto_transactions_undo_touched_items,
            models.Table,
            "delete_item",
            lambda self, key: None,
            "Table.delete_item takes (self, key)",
            id="transactions: items deleted by key",
        ),
        pytest.param(
            emulator_patches.moto_dynamodb_reads_as_plain_json,
            responses.DynamoResult,
            "execute_result",
            lambda self, context, protocol: None,
            "DynamoResult.execute_result takes (self, context, protocol)",
            id="reads: a parameter added",
        ),
    ],
)
def test_a_changed_internal_is_named_with_the_moto_version_and_nothing_is_patched(
    monkeypatch: pytest.MonkeyPatch, patch: Patch, owner: object, name: str, stand_in: object, named: str
) -> None:
    monkeypatch.setattr(owner, name, stand_in)
    before = moto_state()
    with pytest.raises(EmulatorPatchError) as raised, patch():
        pytest.fail("the patch applied itself to internals it is not written for")
    message = str(raised.value)
    assert named in message
    assert f"moto {moto.__version__}" in message
    assert f"is written against moto {emulator_patches.WRITTEN_AGAINST}" in message
    assert moto_state() == before


def test_a_missing_internal_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(models.Table, "get_item")
    with pytest.raises(EmulatorPatchError, match=r"moto\.dynamodb\.models\.Table\.get_item does not exist"):
        emulator_patches.check_transaction_internals()


# --- (b) the same answers, with the patch and without it -----------------------------------------


@pytest.mark.parametrize("patch", PATCHES.values(), ids=PATCHES.keys())
def test_moto_answers_the_benchmarks_operations_the_same_under_the_patch(aws: Aws, patch: Patch) -> None:
    client: DynamoDBClient = aws.client("dynamodb")
    unpatched = exercise(client)
    with patch():
        patched = exercise(client)
    assert patched == unpatched
    assert_covers_what_the_benchmark_relies_on(unpatched)


def assert_covers_what_the_benchmark_relies_on(answers: list[dict[str, Any]]) -> None:
    """The exercise reaches every path the patches touch: reads that find something and reads that
    do not, binary values, a page boundary, and transactions committed and cancelled."""
    errors = [a["error"]["Error"]["Code"] for a in answers if "error" in a]
    assert errors.count("TransactionCanceledException") == 2
    assert "ValidationException" in errors  # the same item twice in one transaction
    assert any("LastEvaluatedKey" in a.get("answer", {}) for a in answers)
    assert any(a.get("answer") == {} for a in answers)  # a GetItem of a missing key
    assert any("B" in value for a in answers for value in _values(a))


def _values(answer: dict[str, Any]) -> Iterator[dict[str, Any]]:
    body = answer.get("answer", {})
    items = [body["Item"]] if "Item" in body else body.get("Items", [])
    for table_items in body.get("Responses", {}).values():
        items.extend(table_items)
    for item in items:
        yield from item.values()


def exercise(client: DynamoDBClient) -> list[dict[str, Any]]:
    """The operations the delivery benchmark's path makes, from fresh tables; every answer, and the
    tables' contents at the end."""
    create_tables(client)
    try:
        answers = [*write(client), *read(client), *transact(client), *read(client)]
        answers += [answer(client, "scan", TableName=name) for name in (DELIVERIES, SUBSCRIBERS)]
    finally:
        for name in (DELIVERIES, SUBSCRIBERS):
            client.delete_table(TableName=name)
    return answers


def answer(client: DynamoDBClient, operation: str, **params: Any) -> dict[str, Any]:
    """An operation's parsed answer, or its error with the cancellation reasons, without request ids."""
    call: Callable[..., Any] = getattr(client, operation)
    try:
        response = dict(call(**params))
    except ClientError as error:
        refused = dict(error.response)
        refused.pop("ResponseMetadata", None)
        return {"operation": operation, "error": refused}
    response.pop("ResponseMetadata", None)
    return {"operation": operation, "answer": response}


def create_tables(client: DynamoDBClient) -> None:
    client.create_table(
        TableName=DELIVERIES,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "notice_id", "AttributeType": "S"},
            {"AttributeName": "delivery_id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "notice_id", "KeyType": "HASH"},
            {"AttributeName": "delivery_id", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": BY_STATUS,
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "delivery_id", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.create_table(
        TableName=SUBSCRIBERS,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "subscriber_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "subscriber_id", "KeyType": "HASH"}],
    )


def delivery(notice: str, n: int, status: str = "pending") -> dict[str, Any]:
    return {
        "notice_id": {"S": notice},
        "delivery_id": {"S": f"{n:03d}#email"},
        "status": {"S": status},
        "attempts": {"N": "0"},
        "address": {"S": f"office{n}@example.gov"},
    }


def subscriber(n: int) -> dict[str, Any]:
    return {
        "subscriber_id": {"S": f"sub_{n:03d}"},
        "name": {"S": f"Office {n} – Hartford"},
        "secret": {"B": bytes(range(n, n + 24))},
        "channels": {"L": [{"M": {"type": {"S": "email"}, "active": {"BOOL": True}}}, {"NULL": True}]},
        "roles": {"SS": ["advocate", "legal"]},
        "weights": {"NS": ["1", "2.5"]},
    }


def write(client: DynamoDBClient) -> list[dict[str, Any]]:
    return [
        answer(
            client,
            "batch_write_item",
            RequestItems={
                DELIVERIES: [{"PutRequest": {"Item": delivery("ntc_a", n)}} for n in range(12)],
                SUBSCRIBERS: [{"PutRequest": {"Item": subscriber(n)}} for n in range(6)],
            },
        ),
        answer(client, "put_item", TableName=DELIVERIES, Item=delivery("ntc_b", 0, "sent")),
        answer(
            client,
            "put_item",
            TableName=DELIVERIES,
            Item=delivery("ntc_b", 0),
            ConditionExpression="attribute_not_exists(delivery_id)",
        ),
    ]


def read(client: DynamoDBClient) -> list[dict[str, Any]]:
    key = {"notice_id": {"S": "ntc_a"}, "delivery_id": {"S": "003#email"}}
    return [
        answer(client, "get_item", TableName=DELIVERIES, Key=key, ConsistentRead=True),
        answer(client, "get_item", TableName=DELIVERIES, Key={**key, "delivery_id": {"S": "999#email"}}),
        answer(client, "get_item", TableName=SUBSCRIBERS, Key={"subscriber_id": {"S": "sub_002"}}),
        answer(
            client,
            "batch_get_item",
            RequestItems={
                DELIVERIES: {
                    "Keys": [{**key, "delivery_id": {"S": f"{n:03d}#email"}} for n in (0, 5, 11, 50)],
                    "ConsistentRead": True,
                },
                SUBSCRIBERS: {"Keys": [{"subscriber_id": {"S": f"sub_{n:03d}"}} for n in (1, 4, 9)]},
            },
        ),
        answer(
            client,
            "query",
            TableName=DELIVERIES,
            KeyConditionExpression="notice_id = :n",
            ExpressionAttributeValues={":n": {"S": "ntc_a"}},
            Limit=5,
            ExclusiveStartKey={**key, "delivery_id": {"S": "002#email"}},
        ),
        answer(
            client,
            "query",
            TableName=DELIVERIES,
            KeyConditionExpression="notice_id = :n AND begins_with(delivery_id, :p)",
            FilterExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":n": {"S": "ntc_a"}, ":p": {"S": "01"}, ":s": {"S": "pending"}},
            ScanIndexForward=False,
        ),
        answer(
            client,
            "query",
            TableName=DELIVERIES,
            IndexName=BY_STATUS,
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "claimed"}},
        ),
        answer(client, "scan", TableName=SUBSCRIBERS, Limit=4),
    ]


def claim(notice: str, n: int) -> dict[str, Any]:
    """One item of a claim: pending becomes claimed, as the send handler claims its deliveries."""
    return {
        "Update": {
            "TableName": DELIVERIES,
            "Key": {"notice_id": {"S": notice}, "delivery_id": {"S": f"{n:03d}#email"}},
            "UpdateExpression": "SET #s = :claimed ADD attempts :one",
            "ConditionExpression": "#s = :pending",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":claimed": {"S": "claimed"},
                ":pending": {"S": "pending"},
                ":one": {"N": "1"},
            },
        }
    }


def transact(client: DynamoDBClient) -> list[dict[str, Any]]:
    new_code = {
        "Put": {
            "TableName": SUBSCRIBERS,
            "Item": {"subscriber_id": {"S": "code#1234"}, "delivery": {"S": "ntc_a/004"}},
            "ConditionExpression": "attribute_not_exists(subscriber_id)",
        }
    }
    removed = {"Delete": {"TableName": SUBSCRIBERS, "Key": {"subscriber_id": {"S": "sub_005"}}}}
    return [
        # Committed: claims of one notice's deliveries.
        answer(client, "transact_write_items", TransactItems=[claim("ntc_a", n) for n in range(4)]),
        # Cancelled by the last claim (ntc_b's 000 is sent): every earlier write is put back, the new
        # item and the deleted one included.
        answer(
            client,
            "transact_write_items",
            TransactItems=[claim("ntc_a", n) for n in range(4, 8)] + [new_code, removed, claim("ntc_b", 0)],
            ReturnConsumedCapacity="NONE",
        ),
        # Cancelled by the first item (already claimed), with the item's old values asked for.
        answer(
            client,
            "transact_write_items",
            TransactItems=[
                {"Update": {**claim("ntc_a", 0)["Update"], "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                claim("ntc_a", 9),
            ],
        ),
        # Refused before any write: the same item twice.
        answer(client, "transact_write_items", TransactItems=[claim("ntc_a", 10), claim("ntc_a", 10)]),
        # Committed: a code issued, a subscriber removed, a claim.
        answer(client, "transact_write_items", TransactItems=[new_code, removed, claim("ntc_a", 11)]),
    ]


# --- (c) undone on exit ------------------------------------------------------------------------------


@pytest.mark.parametrize("patch", PATCHES.values(), ids=PATCHES.keys())
def test_the_patch_is_undone_on_exit(patch: Patch) -> None:
    before = moto_state()
    with patch():
        pass
    assert moto_state() == before
    assert models.copy is copy


@pytest.mark.parametrize("patch", PATCHES.values(), ids=PATCHES.keys())
def test_the_patch_is_undone_when_the_block_raises(patch: Patch) -> None:
    before = moto_state()
    with pytest.raises(LookupError), patch():
        raise LookupError
    assert moto_state() == before
