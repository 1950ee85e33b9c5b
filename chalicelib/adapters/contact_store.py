"""DynamoDB store of contacts: each email address and phone number belongs to one subscriber."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.dynamodb import call, decode, written
from chalicelib.domain.errors import Conflict
from chalicelib.domain.subscribers import ChannelRef

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoContactStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def claim(self, address: str, ref: ChannelRef) -> None:
        """Raises Conflict if another subscriber has this address (the same subscriber may re-claim it)."""
        if not written(
            self._client.put_item,
            TableName=self._table,
            Item={
                "address": {"S": address},
                "subscriber_id": {"S": ref.subscriber_id},
                "channel_id": {"S": ref.channel_id},
            },
            ConditionExpression="attribute_not_exists(address) OR subscriber_id = :me",
            ExpressionAttributeValues={":me": {"S": ref.subscriber_id}},
        ):
            raise Conflict("this address already belongs to another subscriber")

    def release(self, address: str, subscriber_id: str) -> None:
        # Not written when the address is another subscriber's (or no one's): theirs is left alone.
        written(
            self._client.delete_item,
            TableName=self._table,
            Key={"address": {"S": address}},
            ConditionExpression="subscriber_id = :me",
            ExpressionAttributeValues={":me": {"S": subscriber_id}},
        )

    def owner(self, address: str) -> ChannelRef | None:
        response = call(
            self._client.get_item, TableName=self._table, Key={"address": {"S": address}}, ConsistentRead=True
        )
        if "Item" not in response:
            return None
        item = decode(response["Item"])
        return ChannelRef(subscriber_id=item["subscriber_id"], channel_id=item["channel_id"])
