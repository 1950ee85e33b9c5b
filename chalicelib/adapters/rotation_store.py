"""DynamoDB store of duty rotations: one item per rotation, and the ``by-place`` index routing reads.

An item is keyed by ``rotation_id``, which is made from its place and role (``rotation_id_for``), so
a second rotation of a role at a place is refused by the conditional put alone. The index
``by-place`` (``jurisdiction_id``, ``role``) gives the rotations of a place in one Query: routing
and the sweep read the notice's place and the places above it, never a Scan.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import (
    ConditionFailed,
    call,
    decode,
    encode,
    iso,
    parse_iso,
    query_all,
    scan_all,
    written,
)
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.policies import parse_duration
from chalicelib.domain.rotations import Override, Rotation
from chalicelib.domain.subscribers import Role

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_PLACE = "by-place"


def rotation_to_item(rotation: Rotation) -> dict[str, Any]:
    shown = rotation.as_json()
    return {
        "rotation_id": rotation.id,
        "jurisdiction_id": rotation.jurisdiction_id,
        "role": str(rotation.role),
        "name": rotation.name,
        "members": list(rotation.members),
        "shift": shown["shift"],
        "handoff": shown["handoff"],
        "start": shown["start"],
        # One attribute: overrides are read and written whole, with the rotation.
        "overrides_json": json.dumps([o.as_json() for o in rotation.overrides], sort_keys=True),
        "created_at": iso(rotation.created_at),
        "updated_at": iso(rotation.updated_at),
    }


def item_to_rotation(item: dict[str, Any]) -> Rotation:
    return Rotation(
        id=item["rotation_id"],
        jurisdiction_id=item["jurisdiction_id"],
        role=Role(item["role"]),
        members=tuple(item.get("members") or ()),
        shift=parse_duration(item["shift"]),
        handoff=time.fromisoformat(item["handoff"]),
        start=date.fromisoformat(item["start"]),
        overrides=tuple(
            Override(
                start=datetime.fromisoformat(o["start"]),
                end=datetime.fromisoformat(o["end"]),
                subscriber_id=o["subscriber_id"],
                note=o.get("note", ""),
            )
            for o in json.loads(item.get("overrides_json") or "[]")
        ),
        name=item.get("name", ""),
        created_at=parse_iso(item.get("created_at")),
        updated_at=parse_iso(item.get("updated_at")),
    )


class DynamoRotationStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def add(self, rotation: Rotation) -> None:
        if not written(
            self._client.put_item,
            TableName=self._table,
            Item=encode(rotation_to_item(rotation)),
            ConditionExpression="attribute_not_exists(rotation_id)",
        ):
            raise Conflict(
                f"{rotation.jurisdiction_id} has a rotation of {rotation.role} already: {rotation.id}"
            )

    def get(self, rotation_id: str) -> Rotation:
        response = call(
            self._client.get_item,
            TableName=self._table,
            Key={"rotation_id": {"S": rotation_id}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise NotFound(f"no rotation {rotation_id!r}")
        return item_to_rotation(decode(response["Item"]))

    def replace(self, rotation: Rotation) -> None:
        if not written(
            self._client.put_item,
            TableName=self._table,
            Item=encode(rotation_to_item(rotation)),
            ConditionExpression="attribute_exists(rotation_id)",
        ):
            raise NotFound(f"no rotation {rotation.id!r}")

    def remove(self, rotation_id: str) -> Rotation:
        try:
            response = call(
                self._client.delete_item,
                TableName=self._table,
                Key={"rotation_id": {"S": rotation_id}},
                ConditionExpression="attribute_exists(rotation_id)",
                ReturnValues="ALL_OLD",
            )
        except ConditionFailed:
            raise NotFound(f"no rotation {rotation_id!r}") from None
        return item_to_rotation(decode(response["Attributes"]))

    def list(self) -> list[Rotation]:
        """Every rotation: a Scan, for the admins' listing and the coverage report (dozens of rows)."""
        items = scan_all(self._client, TableName=self._table, ConsistentRead=True)
        return sorted(map(item_to_rotation, items), key=lambda r: (r.jurisdiction_id, r.role))

    def at(self, places: Sequence[str]) -> list[Rotation]:
        found: list[Rotation] = []
        for place in dict.fromkeys(places):
            found += map(
                item_to_rotation,
                query_all(
                    self._client,
                    TableName=self._table,
                    IndexName=BY_PLACE,
                    KeyConditionExpression="jurisdiction_id = :place",
                    ExpressionAttributeValues={":place": {"S": place}},
                ),
            )
        return found
