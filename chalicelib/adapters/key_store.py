"""DynamoDB store of API keys (hashes only)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import call, decode, encode, iso, parse_iso, scan_all, written
from chalicelib.domain.auth import ApiKey, ApiRole
from chalicelib.domain.errors import Conflict, NotFound

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def key_to_item(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.id,
        "name": key.name,
        "role": str(key.role),
        "secret_hash": key.secret_hash,
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
    }


def item_to_key(item: dict[str, Any]) -> ApiKey:
    created_at = parse_iso(item["created_at"])
    assert created_at is not None  # always written
    return ApiKey(
        id=item["key_id"],
        name=item["name"],
        role=ApiRole(item["role"]),
        secret_hash=item["secret_hash"],
        created_at=created_at,
        revoked_at=parse_iso(item.get("revoked_at")),
    )


class DynamoKeyStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def add(self, key: ApiKey) -> None:
        if not written(
            self._client.put_item,
            TableName=self._table,
            Item=encode(key_to_item(key)),
            ConditionExpression="attribute_not_exists(key_id)",
        ):
            raise Conflict(f"API key {key.id!r} exists")

    def get(self, key_id: str) -> ApiKey | None:
        response = call(
            self._client.get_item, TableName=self._table, Key={"key_id": {"S": key_id}}, ConsistentRead=True
        )
        return item_to_key(decode(response["Item"])) if "Item" in response else None

    def list(self) -> list[ApiKey]:
        items = scan_all(self._client, TableName=self._table, ConsistentRead=True)
        return sorted(map(item_to_key, items), key=lambda k: k.created_at)

    def revoke(self, key_id: str, *, now: datetime) -> None:
        if not written(
            self._client.update_item,
            TableName=self._table,
            Key={"key_id": {"S": key_id}},
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
            ConditionExpression="attribute_exists(key_id)",
            ExpressionAttributeValues={":now": {"S": now.isoformat()}},
        ):
            raise NotFound(f"no API key {key_id!r}")
