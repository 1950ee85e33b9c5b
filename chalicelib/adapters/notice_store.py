"""DynamoDB store of notices. Item ↔ Notice mapping lives here and nowhere else."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import decode, encode, error_code, iso, parse_iso, unavailable
from chalicelib.domain.errors import NotFound
from chalicelib.domain.notices import Notice, NoticeStatus
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import NoticeExists

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def notice_to_item(notice: Notice) -> dict[str, Any]:
    return {
        "notice_id": notice.id,
        "type": str(notice.type),
        "status": str(notice.status),
        "idempotency_key": notice.idempotency_key,
        "fingerprint": notice.fingerprint,
        "jurisdiction_id": notice.jurisdiction_id,
        "title": notice.title,
        "received_at": iso(notice.received_at),
        # JSON text, not a map: events hold arbitrary nesting and DynamoDB's number type would turn
        # every number into a Decimal on the way back.
        "event_json": json.dumps(notice.event, sort_keys=True),
        "submitted_by": notice.submitted_by,
        "recipients": notice.recipients,
        "coverage_gaps": list(notice.coverage_gaps),
        "routed_at": iso(notice.routed_at),
        "step": notice.step,
        "deadline": iso(notice.deadline),
        "extra_json": json.dumps(notice.extra, sort_keys=True),
    }


def item_to_notice(item: dict[str, Any]) -> Notice:
    received_at = parse_iso(item["received_at"])
    assert received_at is not None  # written by notice_to_item, never absent
    return Notice(
        id=item["notice_id"],
        type=EventType(item["type"]),
        status=NoticeStatus(item["status"]),
        idempotency_key=item["idempotency_key"],
        fingerprint=item["fingerprint"],
        jurisdiction_id=item["jurisdiction_id"],
        title=item["title"],
        received_at=received_at,
        event=json.loads(item["event_json"]),
        submitted_by=item["submitted_by"],
        recipients=int(item.get("recipients", 0)),
        coverage_gaps=tuple(item.get("coverage_gaps", [])),
        routed_at=parse_iso(item.get("routed_at")),
        step=int(item.get("step", 0)),
        deadline=parse_iso(item.get("deadline")),
        extra=json.loads(item.get("extra_json", "{}")),
    )


class DynamoNoticeStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def add(self, notice: Notice) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=encode(notice_to_item(notice)),
                ConditionExpression="attribute_not_exists(notice_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old: Any = exc.response.get("Item")  # returned with ALL_OLD
                raise NoticeExists(item_to_notice(decode(old)) if old else self.get(notice.id)) from exc
            raise unavailable(exc, "put notice") from exc

    def get(self, notice_id: str) -> Notice:
        try:
            response = self._client.get_item(
                TableName=self._table, Key={"notice_id": {"S": notice_id}}, ConsistentRead=True
            )
        except ClientError as exc:
            raise unavailable(exc, "get notice") from exc
        if "Item" not in response:
            raise NotFound(f"no notice {notice_id!r}")
        return item_to_notice(decode(response["Item"]))

    def save_routing(self, notice: Notice) -> None:
        values = encode(
            {
                ":r": notice.recipients,
                ":g": list(notice.coverage_gaps),
                ":t": iso(notice.routed_at),
            }
        )
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"notice_id": {"S": notice.id}},
                UpdateExpression="SET recipients = :r, coverage_gaps = :g, routed_at = :t",
                ConditionExpression="attribute_exists(notice_id)",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFound(f"no notice {notice.id!r}") from exc
            raise unavailable(exc, "update notice routing") from exc
