"""DynamoDB store of SMS reply codes: (phone, code) → the delivery it acknowledges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamodb import call, decode, encode, transact_conditional
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
        return self.issue_many([(phone, target)], now=now)[0]

    def issue_many(self, wanted: Sequence[tuple[str, CodeTarget]], *, now: datetime) -> list[str]:
        """One conditional TransactWriteItems per 100 codes rather than a PutItem per text: the
        condition keeps each code unique among its phone's live codes, and a code that collides
        is drawn again and resubmitted."""
        codes: list[str | None] = [None] * len(wanted)
        expires_at = int((now + CODE_LIFETIME).timestamp())
        for _ in range(_ATTEMPTS):
            pending = [i for i, code in enumerate(codes) if code is None]
            if not pending:
                break
            drawn = _draw(wanted, pending, taken={(wanted[i][0], c) for i, c in enumerate(codes) if c})
            puts = {
                i: {
                    "Put": {
                        "TableName": self._table,
                        "Item": encode(_row(wanted[i][0], drawn[i], wanted[i][1], expires_at)),
                        # A live code of this phone is never reassigned; an expired one may be.
                        "ConditionExpression": "attribute_not_exists(code) OR expires_at < :now",
                        "ExpressionAttributeValues": {":now": {"N": str(int(now.timestamp()))}},
                    }
                }
                for i in pending
            }
            for i in transact_conditional(self._client, pending, puts.__getitem__):
                codes[i] = drawn[i]
        issued = [c for c in codes if c is not None]
        if len(issued) != len(wanted):
            raise StoreUnavailable(f"no free reply code after {_ATTEMPTS} attempts")
        return issued

    def lookup(self, phone: str, code: str, *, now: datetime | None = None) -> CodeTarget | None:
        response = call(
            self._client.get_item,
            TableName=self._table,
            Key={"phone": {"S": phone}, "code": {"S": code}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            return None
        item = decode(response["Item"])
        if now is not None and int(item["expires_at"]) < now.timestamp():
            return None
        if item.get("purpose") == "verify":
            return ChannelRef(subscriber_id=item["subscriber_id"], channel_id=item["channel_id"])
        return AckTarget(notice_id=item["notice_id"], delivery_id=item["delivery_id"])


def _draw(
    wanted: Sequence[tuple[str, CodeTarget]], pending: Sequence[int], *, taken: set[tuple[str, str]]
) -> dict[int, str]:
    """A fresh code for each pending request, never one this batch already holds for the same phone
    (one transaction may not write the same item twice)."""
    drawn: dict[int, str] = {}
    for i in pending:
        phone = wanted[i][0]
        code = new_reply_code()
        while (phone, code) in taken:
            code = new_reply_code()
        taken.add((phone, code))
        drawn[i] = code
    return drawn


def _row(phone: str, code: str, target: CodeTarget, expires_at: int) -> dict[str, object]:
    row: dict[str, object] = {"phone": phone, "code": code, "expires_at": expires_at}
    if isinstance(target, AckTarget):
        return row | {"purpose": "ack", "notice_id": target.notice_id, "delivery_id": target.delivery_id}
    return row | {"purpose": "verify", "subscriber_id": target.subscriber_id, "channel_id": target.channel_id}
