"""Whether moto can stand in for DynamoDB under a claim written in PartiQL.

The claim that keeps anyone from being messaged twice is a conditional write per delivery. Batched,
DynamoDB bills it 2 write units an item inside TransactWriteItems (what the claim is) and 1 unit an
item through PartiQL's BatchExecuteStatement (25 statements a request): the one lever that brings
the AWS overhead under 2 % of SES's price. The local stack and the tests run on moto, so the claim
can move to PartiQL only once moto keeps the conditions such a claim relies on. This prints, for
each, what DynamoDB does (its documented behaviour) and what moto does.

    python -m bench.partiql_claim
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws

from bench.common import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import BatchStatementRequestTypeDef

TABLE = "claims"  # the statements below name it


def _table(client: DynamoDBClient) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    # A delivery already sent: no claim may take it again.
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "ntc"}, "sk": {"S": "sent"}, "status": {"S": "sent"}, "attempts": {"N": "1"}},
    )


def _outcome(client: DynamoDBClient, statements: list[BatchStatementRequestTypeDef]) -> str:
    try:
        answer = client.batch_execute_statement(Statements=statements)
    except Exception as exc:  # reason: what moto raises is the finding, whatever it is
        return f"raises {type(exc).__name__}: {str(exc)[:90]}"
    errors = [r.get("Error", {}).get("Code", "none") for r in answer["Responses"]]
    return "errors: " + ", ".join(errors)


def _row(client: DynamoDBClient, sk: str) -> dict[str, Any]:
    return client.get_item(TableName=TABLE, Key={"pk": {"S": "ntc"}, "sk": {"S": sk}}).get("Item", {})


def main() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client)
        probes: list[tuple[str, str, list[BatchStatementRequestTypeDef]]] = [
            (
                "INSERT with parameters (the claim of a new delivery)",
                "accepted; ConditionalCheckFailed or DuplicateItem for a key that exists",
                [
                    {
                        "Statement": "INSERT INTO claims VALUE {'pk': ?, 'sk': ?, 'status': ?}",
                        "Parameters": [{"S": "ntc"}, {"S": "new"}, {"S": "sending"}],
                    }
                ],
            ),
            (
                "INSERT of a key that exists (a delivery already sent)",
                "DuplicateItem: the sent row is left as it is",
                [{"Statement": "INSERT INTO claims VALUE {'pk': 'ntc', 'sk': 'sent', 'status': 'sending'}"}],
            ),
        ]
        for what, dynamodb, statements in probes:
            print(f"{what}\n  DynamoDB: {dynamodb}\n  moto:     {_outcome(client, statements)}")
        print(f"  the sent row after it: {_row(client, 'sent')}")
        client.put_item(
            TableName=TABLE, Item={"pk": {"S": "ntc"}, "sk": {"S": "held"}, "status": {"S": "sending"}}
        )
        update: list[BatchStatementRequestTypeDef] = [
            {
                "Statement": "UPDATE claims SET status = ? WHERE pk = ? AND sk = ? AND status = ?",
                "Parameters": [{"S": "sending"}, {"S": "ntc"}, {"S": "held"}, {"S": "failed"}],
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        ]
        print(
            "UPDATE ... WHERE a condition the row fails (a delivery another sender holds)\n"
            "  DynamoDB: ConditionalCheckFailed, with the row as it stands\n"
            f"  moto:     {_outcome(client, update)}"
        )


if __name__ == "__main__":
    main()
