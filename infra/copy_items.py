"""Copy the items of one DynamoDB table into another with the same key: the last step of a restore.

A point-in-time restore always makes a new table, and every function reads its stage's tables by
name (``vigil-<stage>-<table>``), so a restored table is put to use by copying its items back into
the live one (docs/operations.md, "Restoring a table"):

    python -m infra.copy_items --source vigil-prod-notices-restored --target vigil-prod-notices
    python -m infra.copy_items --source … --target … --overwrite

By default an item whose key the target already holds is left as it is (the live table's version
wins) and only missing items are put back; ``--overwrite`` replaces those too. Uses the caller's own
AWS credentials and region.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError


@dataclass(frozen=True)
class Copied:
    copied: int  # items put into the target
    kept: int  # items the target already had, left as they were


def _key_schema(client: Any, table: str) -> list[tuple[str, str]]:
    described = client.describe_table(TableName=table)["Table"]
    return [(k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]]


def _items(client: Any, table: str) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**params)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def copy_items(client: Any, source: str, target: str, *, overwrite: bool = False) -> Copied:
    """Put every item of ``source`` into ``target`` (see the module docstring)."""
    schema = _key_schema(client, source)
    if schema != _key_schema(client, target):
        raise SystemExit(
            f"{source} and {target} have different keys: {schema} and {_key_schema(client, target)}"
        )
    partition_key = schema[0][0]
    copied = kept = 0
    for item in _items(client, source):
        condition: dict[str, Any] = (
            {}
            if overwrite
            else {
                "ConditionExpression": "attribute_not_exists(#key)",
                "ExpressionAttributeNames": {"#key": partition_key},
            }
        )
        try:
            client.put_item(TableName=target, Item=item, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            kept += 1
        else:
            copied += 1
    return Copied(copied, kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", required=True, help="the restored table")
    parser.add_argument("--target", required=True, help="the stage's live table")
    parser.add_argument("--overwrite", action="store_true", help="replace items the target already has")
    args = parser.parse_args(argv)
    if args.source == args.target:
        parser.error("--source and --target are the same table")
    done = copy_items(
        boto3.session.Session().client("dynamodb"), args.source, args.target, overwrite=args.overwrite
    )
    print(f"{done.copied} items copied from {args.source} to {args.target}; {done.kept} already there, kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
