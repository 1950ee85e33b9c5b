"""DynamoDB store of notices. Item ↔ Notice mapping lives here and nowhere else.

``log_head`` on a notice item belongs to the ack log (``adapters/ack_log.py``), which writes it with
each entry; nothing here writes it. Every write here names the attributes it sets, so it is never
lost."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import (
    ConditionFailed,
    call,
    decode,
    decode_cursor,
    encode,
    encode_cursor,
    iso,
    parse_iso,
    query_all,
    written,
)
from chalicelib.domain.errors import FieldError, InvalidInput, NotFound
from chalicelib.domain.notices import MAX_REPORTS_KEPT, Notice, NoticeStatus
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import NoticeExists, Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# One partition of the escalation index: open notices are few (hundreds), read once a minute.
OPEN_SHARD = "open"
# A second partition of the same index holds the triage queue, oldest first (its sort key is when the
# message was held): held messages are fewer still, and the sweep never reads this partition.
TRIAGE_SHARD = "triage"
DUE_INDEX = "open-by-due"
BY_TYPE_INDEX = "by-type-received"
# Sparse: a decided detainer whose personal data is still kept carries retention_shard and
# personal_data_due_at until the data is removed; the sweep queries it for what falls due. It holds
# the keys only, so the personal data is never copied into it.
RETENTION_INDEX = "personal-data-due"
RETENTION_SHARD = "due"
# The key of an item in that index: what a cursor of recent() holds.
_BY_TYPE_KEY = frozenset({"notice_id", "type", "received_at"})
# What a page of the triage queue (the open-by-due index) ends with: the table's key and the index's.
_BY_DUE_KEY = frozenset({"notice_id", "open_shard", "next_step_at"})


def notice_to_item(notice: Notice) -> dict[str, Any]:
    return {
        "notice_id": notice.id,
        "type": str(notice.type),
        "status": str(notice.status),
        "idempotency_key": notice.idempotency_key,
        "fingerprint": notice.fingerprint,
        "jurisdiction_id": notice.jurisdiction_id,
        "title": notice.title,
        # UTC, so that the by-type index orders notices by time.
        "received_at": _utc(notice.received_at),
        # JSON text, not a map: events hold arbitrary nesting and DynamoDB's number type would turn
        # every number into a Decimal on the way back.
        "event_json": json.dumps(notice.event, sort_keys=True),
        "submitted_by": notice.submitted_by,
        "recipients": notice.recipients,
        "coverage_gaps": list(notice.coverage_gaps),
        "routed_at": iso(notice.routed_at),
        "step": notice.step,
        "deadline": iso(notice.deadline),
        "acknowledged_at": iso(notice.acknowledged_at),
        "decision_json": json.dumps(notice.decision, sort_keys=True) if notice.decision else None,
        "duties_json": json.dumps(list(notice.duties), sort_keys=True),
        "extra_json": json.dumps(notice.extra, sort_keys=True),
        # Each copy of a mailed notice's original (a list of string maps), how many, and their ids.
        "reports": [dict(r) for r in notice.reports],
        "report_count": notice.report_count,
        "report_ids": {str(r["id"]) for r in notice.reports} or None,
        "personal_data_due_at": _utc(notice.personal_data_due_at) if notice.personal_data_due_at else None,
        "personal_data_removed_at": iso(notice.personal_data_removed_at),
        "personal_data_removed": list(notice.personal_data_removed) or None,
        **(
            _queue(notice)
            if notice.status is NoticeStatus.TRIAGE
            else _schedule(notice.status, notice.next_step_at)
        ),
    }


def _queue(notice: Notice) -> dict[str, Any]:
    """A notice in triage waits in the index's triage partition, by when it was held."""
    return {"open_shard": TRIAGE_SHARD, "next_step_at": _utc(notice.received_at)}


def _utc(value: datetime) -> str:
    # One zone for the index's sort key, so that string order is time order.
    return value.astimezone(UTC).isoformat()


def _schedule(status: NoticeStatus, next_step_at: datetime | None) -> dict[str, Any]:
    """The sparse open-by-due index holds only open notices with a step still to come."""
    if status is not NoticeStatus.OPEN or next_step_at is None:
        return {}
    return {"open_shard": OPEN_SHARD, "next_step_at": _utc(next_step_at)}


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
        # The triage partition's sort key is when the message was held, not a step of escalation.
        next_step_at=parse_iso(item.get("next_step_at")) if item.get("open_shard") != TRIAGE_SHARD else None,
        deadline=parse_iso(item.get("deadline")),
        acknowledged_at=parse_iso(item.get("acknowledged_at")),
        decision=json.loads(item["decision_json"]) if item.get("decision_json") else None,
        duties=tuple(json.loads(item.get("duties_json", "[]"))),
        extra=json.loads(item.get("extra_json", "{}")),
        reports=tuple(item.get("reports", [])),
        report_count=int(item.get("report_count", 0)),
        personal_data_due_at=parse_iso(item.get("personal_data_due_at")),
        personal_data_removed_at=parse_iso(item.get("personal_data_removed_at")),
        personal_data_removed=tuple(item.get("personal_data_removed", [])),
    )


class DynamoNoticeStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def add(self, notice: Notice) -> None:
        try:
            call(
                self._client.put_item,
                TableName=self._table,
                Item=encode(notice_to_item(notice)),
                ConditionExpression="attribute_not_exists(notice_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as taken:
            old = taken.item
            raise NoticeExists(item_to_notice(decode(old)) if old else self.get(notice.id)) from taken

    def get(self, notice_id: str) -> Notice:
        response = call(
            self._client.get_item,
            TableName=self._table,
            Key={"notice_id": {"S": notice_id}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise NotFound(f"no notice {notice_id!r}")
        return item_to_notice(decode(response["Item"]))

    def save_routing(self, notice: Notice) -> None:
        counts = {":r": notice.recipients, ":g": list(notice.coverage_gaps), ":t": iso(notice.routed_at)}
        update = "SET recipients = :r, coverage_gaps = :g, routed_at = :t"
        schedule = _schedule(NoticeStatus.OPEN, notice.next_step_at)
        # Only the first fan-out schedules: a re-route must not pull back a later step's schedule,
        # nor put an acknowledged notice back on the sweep's index.
        if schedule and self._conditional_update(
            notice.id,
            f"{update}, open_shard = :shard, next_step_at = :next",
            "step = :zero AND #s = :open",
            {**counts, ":shard": OPEN_SHARD, ":next": schedule["next_step_at"], ":zero": 0, ":open": "open"},
        ):
            return
        if not written(
            self._client.update_item,
            TableName=self._table,
            Key={"notice_id": {"S": notice.id}},
            UpdateExpression=update,
            ConditionExpression="attribute_exists(notice_id)",
            ExpressionAttributeValues=encode(counts),
        ):
            raise NotFound(f"no notice {notice.id!r}")

    def recent(self, event_type: EventType, *, limit: int, cursor: str | None) -> Page[Notice]:
        """Notices of one type, newest first, a page at a time."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_TYPE_INDEX,
            "KeyConditionExpression": "#t = :t",
            "ExpressionAttributeNames": {"#t": "type"},
            "ExpressionAttributeValues": {":t": {"S": str(event_type)}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, keys=_BY_TYPE_KEY)
        if start is not None and start["type"] != str(event_type):
            raise InvalidInput(
                "cursor is invalid", [FieldError("cursor", f"is not a cursor of {event_type} notices")]
            )
        if start:
            request["ExclusiveStartKey"] = encode(start)
        response = call(self._client.query, **request)
        last = response.get("LastEvaluatedKey")
        return Page(
            items=[item_to_notice(decode(i)) for i in response.get("Items", [])],
            cursor=encode_cursor(decode(last)) if last else None,
        )

    def cursor_after(self, notice: Notice) -> str:
        """The cursor recent() would have returned had its page ended at ``notice``: the index's key."""
        cursor = encode_cursor(
            {"notice_id": notice.id, "type": str(notice.type), "received_at": _utc(notice.received_at)}
        )
        assert cursor is not None  # a non-empty key always encodes
        return cursor

    def received_between(
        self, event_type: EventType, start: datetime, end: datetime, *, newest_first: bool = False
    ) -> Iterator[Notice]:
        """Every notice of a type received in [start, end), oldest first (for reports) or newest first
        (acknowledgment times: a reader that stops early keeps the latest)."""
        for item in query_all(
            self._client,
            TableName=self._table,
            IndexName=BY_TYPE_INDEX,
            ScanIndexForward=not newest_first,
            KeyConditionExpression="#t = :t AND received_at BETWEEN :a AND :b",
            ExpressionAttributeNames={"#t": "type"},
            ExpressionAttributeValues={
                ":t": {"S": str(event_type)},
                ":a": {"S": _utc(start)},
                ":b": {"S": _utc(end - timedelta(microseconds=1))},
            },
        ):
            yield item_to_notice(item)

    def due(self, now: datetime, *, limit: int) -> list[Notice]:
        response = call(
            self._client.query,
            TableName=self._table,
            IndexName=DUE_INDEX,
            KeyConditionExpression="open_shard = :shard AND next_step_at <= :now",
            ExpressionAttributeValues={":shard": {"S": OPEN_SHARD}, ":now": {"S": _utc(now)}},
            Limit=limit,
        )
        return [item_to_notice(decode(item)) for item in response.get("Items", [])]

    def advance_step(
        self, notice_id: str, *, from_step: int, to_step: int, next_step_at: datetime | None
    ) -> bool:
        values: dict[str, Any] = {":from": from_step, ":to": to_step, ":open": str(NoticeStatus.OPEN)}
        if next_step_at is None:
            update = "SET step = :to REMOVE open_shard, next_step_at"
        else:
            update = "SET step = :to, open_shard = :shard, next_step_at = :next"
            values |= {":shard": OPEN_SHARD, ":next": _utc(next_step_at)}
        return self._conditional_update(notice_id, update, "step = :from AND #s = :open", values)

    def record_decision(
        self,
        notice_id: str,
        *,
        decision: dict[str, Any],
        duties: list[dict[str, Any]],
        at: datetime,
        personal_data_due: datetime | None = None,
    ) -> bool:
        """Once per notice: the decision closes it and takes it off the escalation schedule, and (with
        ``personal_data_due``) puts it on the retention index."""
        values: dict[str, Any] = {
            ":d": json.dumps(decision, sort_keys=True),
            ":u": json.dumps(duties, sort_keys=True),
            ":closed": str(NoticeStatus.CLOSED),
        }
        update = "SET decision_json = :d, duties_json = :u, #s = :closed"
        if personal_data_due is not None:
            update += ", retention_shard = :due, personal_data_due_at = :due_at"
            values |= {":due": RETENTION_SHARD, ":due_at": _utc(personal_data_due)}
        return self._conditional_update(
            notice_id,
            f"{update} REMOVE open_shard, next_step_at",
            "attribute_not_exists(decision_json) AND #s <> :closed",
            values,
        )

    def personal_data_due(self, now: datetime, *, limit: int) -> list[str]:
        """Ids of the notices whose personal data fell due by ``now``, the longest due first."""
        response = call(
            self._client.query,
            TableName=self._table,
            IndexName=RETENTION_INDEX,
            KeyConditionExpression="retention_shard = :shard AND personal_data_due_at <= :now",
            ExpressionAttributeValues={":shard": {"S": RETENTION_SHARD}, ":now": {"S": _utc(now)}},
            Limit=limit,
        )
        return [str(decode(item)["notice_id"]) for item in response.get("Items", [])]

    def remove_personal_data(
        self, notice_id: str, *, event: dict[str, Any], fields: list[str], at: datetime
    ) -> bool:
        """Replace the event with one without its personal data, once; the notice stays on the
        retention index until ``retention_done``. False if it was removed before or is not due."""
        return self._conditional_update(
            notice_id,
            "SET event_json = :e, personal_data_removed_at = :at, personal_data_removed = :f",
            "attribute_exists(retention_shard) AND attribute_not_exists(personal_data_removed_at)",
            {":e": json.dumps(event, sort_keys=True), ":at": iso(at), ":f": fields},
        )

    def schedule_personal_data_removal(self, notice_id: str, *, due: datetime) -> bool:
        return self._conditional_update(
            notice_id,
            "SET retention_shard = :due, personal_data_due_at = :due_at",
            "attribute_exists(decision_json) AND attribute_not_exists(personal_data_due_at)"
            " AND attribute_not_exists(personal_data_removed_at)",
            {":due": RETENTION_SHARD, ":due_at": _utc(due)},
        )

    def retention_done(self, notice_id: str) -> None:
        """Off the retention index: its personal data is removed and the removal recorded."""
        self._conditional_update(
            notice_id, "REMOVE retention_shard", "attribute_exists(personal_data_removed_at)", {}
        )

    def save_duties(self, notice_id: str, duties: list[dict[str, Any]]) -> None:
        self._conditional_update(
            notice_id,
            "SET duties_json = :u",
            "attribute_exists(decision_json)",
            {":u": json.dumps(duties, sort_keys=True)},
        )

    def close_triage(self, notice_id: str, *, routed_as: str, at: datetime) -> bool:
        return self._leave_triage(notice_id, {"routed_as": routed_as, "triaged_at": at.isoformat()})

    def dismiss_triage(self, notice_id: str, *, reason: str, by: str, at: datetime) -> bool:
        return self._leave_triage(
            notice_id, {"dismissed": {"reason": reason, "by": by, "at": at.isoformat()}}
        )

    def _leave_triage(self, notice_id: str, outcome: dict[str, Any]) -> bool:
        notice = self.get(notice_id)
        if notice.status is not NoticeStatus.TRIAGE:
            return False
        return self._conditional_update(
            notice_id,
            "SET #s = :closed, extra_json = :x REMOVE open_shard, next_step_at",
            "#s = :triage",
            {
                ":closed": str(NoticeStatus.CLOSED),
                ":triage": str(NoticeStatus.TRIAGE),
                ":x": json.dumps({**notice.extra, **outcome}, sort_keys=True),
            },
        )

    def held(self, *, limit: int, cursor: str | None) -> Page[Notice]:
        """The triage partition of the open-by-due index, oldest first, a page at a time."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "open_shard = :shard",
            "ExpressionAttributeValues": {":shard": {"S": TRIAGE_SHARD}},
            "ScanIndexForward": True,
            "Limit": limit,
        }
        start = decode_cursor(cursor, keys=_BY_DUE_KEY)
        if start:
            request["ExclusiveStartKey"] = encode(start)
        response = call(self._client.query, **request)
        last = response.get("LastEvaluatedKey")
        return Page(
            items=[item_to_notice(decode(i)) for i in response.get("Items", [])],
            cursor=encode_cursor(decode(last)) if last else None,
        )

    def add_report(self, notice_id: str, report: Mapping[str, Any]) -> bool:
        """Kept in full while the list is short; counted (and its id remembered) either way."""
        values = {
            ":one": 1,
            ":zero": 0,
            ":id": str(report["id"]),
            ":ids": {str(report["id"])},
            ":r": [dict(report)],
            ":empty": [],
            ":max": MAX_REPORTS_KEPT,
        }
        counted = "report_count = if_not_exists(report_count, :zero) + :one"
        fresh = "attribute_exists(notice_id) AND NOT contains(report_ids, :id)"
        if written(
            self._client.update_item,
            TableName=self._table,
            Key={"notice_id": {"S": notice_id}},
            UpdateExpression=f"SET {counted}, reports = list_append(if_not_exists(reports, :empty), :r) "
            "ADD report_ids :ids",
            ConditionExpression=f"{fresh} AND (attribute_not_exists(reports) OR size(reports) < :max)",
            ExpressionAttributeValues=encode(values),
        ):
            return True
        notice = self.get(notice_id)  # NotFound when there is no such notice
        if len(notice.reports) < MAX_REPORTS_KEPT:
            return False  # counted before (the list has room, so the id was the condition)
        return written(
            self._client.update_item,
            TableName=self._table,
            Key={"notice_id": {"S": notice_id}},
            UpdateExpression=f"SET {counted} ADD report_ids :ids",
            ConditionExpression=fresh,
            ExpressionAttributeValues=encode({k: values[k] for k in (":one", ":zero", ":id", ":ids")}),
        )

    def mark_acknowledged(self, notice_id: str, *, at: datetime) -> bool:
        values = {":ack": str(NoticeStatus.ACKNOWLEDGED), ":open": str(NoticeStatus.OPEN), ":at": iso(at)}
        return self._conditional_update(
            notice_id,
            "SET #s = :ack, acknowledged_at = :at REMOVE open_shard, next_step_at",
            "#s = :open",
            values,
        )

    def _conditional_update(
        self, notice_id: str, update: str, condition: str, values: dict[str, Any]
    ) -> bool:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"notice_id": {"S": notice_id}},
            "UpdateExpression": update,
            "ConditionExpression": f"attribute_exists(notice_id) AND {condition}",
        }
        if values:  # DynamoDB refuses an empty map of values
            request["ExpressionAttributeValues"] = encode(values)
        if "#s" in update or "#s" in condition:  # "status" is a reserved word in DynamoDB expressions
            request["ExpressionAttributeNames"] = {"#s": "status"}
        return written(self._client.update_item, **request)
