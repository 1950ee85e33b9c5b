"""DynamoDB store of SMS reply codes: (phone, code) → the delivery it acknowledges."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import decode, encode, error_code, unavailable
from chalicelib.domain.acknowledgments import new_reply_code
from chalicelib.domain.subscribers import ChannelRef
from chalicelib.domain.tokens import AckTarget
from chalicelib.ports import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CodeTarget = AckTarget | ChannelRef

# Long enough to cover every escalation step of a notice; DynamoDB's TTL removes the row after.
CODE_LIFETIME = timedelta(days=14)
_ATTEMPTS = 8


class DynamoAckCodeStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def issue(self, phone: str, target: CodeTarget, *, now: datetime) -> str:
        for _ in range(_ATTEMPTS):
            code = new_reply_code()
            item: dict[str, object] = {
                "phone": phone,
                "code": code,
                "expires_at": int((now + CODE_LIFETIME).timestamp()),
            }
            if isinstance(target, AckTarget):
                item |= {"purpose": "ack", "notice_id": target.notice_id, "delivery_id": target.delivery_id}
            else:
                item |= {
                    "purpose": "verify",
                    "subscriber_id": target.subscriber_id,
                    "channel_id": target.channel_id,
                }
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=encode(item),
                    # A live code of this phone is never reassigned; an expired one may be.
                    ConditionExpression="attribute_not_exists(code) OR expires_at < :now",
                    ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    continue
                raise unavailable(exc, "issue reply code") from exc
            return code
        raise StoreUnavailable(f"no free reply code after {_ATTEMPTS} attempts")

    def lookup(self, phone: str, code: str, *, now: datetime | None = None) -> CodeTarget | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key={"phone": {"S": phone}, "code": {"S": code}}, ConsistentRead=True
            )
        except ClientError as exc:
            raise unavailable(exc, "look up reply code") from exc
        if "Item" not in response:
            return None
        item = decode(response["Item"])
        if now is not None and int(item["expires_at"]) < now.timestamp():
            return None
        if item.get("purpose") == "verify":
            return ChannelRef(subscriber_id=item["subscriber_id"], channel_id=item["channel_id"])
        return AckTarget(notice_id=item["notice_id"], delivery_id=item["delivery_id"])
