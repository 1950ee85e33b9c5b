"""DynamoDB store of trusted senders: the addresses and domains admins trust to send or forward notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import (
    ConditionFailed,
    Item,
    batch_get,
    call,
    decode,
    encode,
    scan_all,
    written,
)
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.mail_trust import SenderKind, TrustedSender

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def sender_to_item(entry: TrustedSender) -> dict[str, Any]:
    return {
        "sender": entry.sender,
        "kind": str(entry.kind),
        "note": entry.note,
        "added_by": entry.added_by,
        "added_at": entry.added_at.isoformat(),
    }


def item_to_sender(item: dict[str, Any]) -> TrustedSender:
    return TrustedSender(
        sender=item["sender"],
        kind=SenderKind(item["kind"]),
        note=item.get("note", ""),
        added_by=item.get("added_by", ""),
        added_at=datetime.fromisoformat(item["added_at"]),
    )


class DynamoTrustedSenderStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def add(self, entry: TrustedSender) -> None:
        if not written(
            self._client.put_item,
            TableName=self._table,
            Item=encode(sender_to_item(entry)),
            ConditionExpression="attribute_not_exists(sender)",
        ):
            raise Conflict(f"{entry.sender} is a trusted sender already")

    def remove(self, sender: str) -> TrustedSender:
        try:
            response = call(
                self._client.delete_item,
                TableName=self._table,
                Key={"sender": {"S": sender}},
                ConditionExpression="attribute_exists(sender)",
                ReturnValues="ALL_OLD",
            )
        except ConditionFailed:
            raise NotFound(f"{sender!r} is not a trusted sender") from None
        return item_to_sender(decode(response["Attributes"]))

    def find(self, senders: Sequence[str]) -> list[TrustedSender]:
        keys: list[Item] = [{"sender": {"S": sender}} for sender in dict.fromkeys(senders)]
        return [item_to_sender(item) for item in batch_get(self._client, self._table, keys)] if keys else []

    def list(self) -> list[TrustedSender]:
        """Every row: a Scan, for the admins' listing (trusted senders number in the dozens)."""
        items = scan_all(self._client, TableName=self._table, ConsistentRead=True)
        return sorted(map(item_to_sender, items), key=lambda entry: entry.sender)
