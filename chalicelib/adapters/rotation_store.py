"""DynamoDB store of duty rotations: one item per rotation, keyed by ``rotation_id``.

A rotation's id is made from its place and role (``rotation_id_for``), so a second rotation of a
role at a place is refused by the conditional put alone, and the rotations of a few places are read
by key: routing and the sweep ask for every id the notice's place and the places above it could
have (five places and eight roles at most: one BatchGetItem), never a Query or a Scan, and read
consistently, so a rotation applies from the moment it is stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import (
    ConditionFailed,
    Item,
    batch_get,
    call,
    decode,
    encode,
    iso,
    parse_iso,
    scan_all,
    written,
)
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.policies import parse_duration
from chalicelib.domain.rotations import Override, Rotation, rotation_id_for
from chalicelib.domain.subscribers import Role

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


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

    def at(self, places: Sequence[str]) -> list[Rotation]:
        keys: list[Item] = [
            {"rotation_id": {"S": rotation_id_for(place, role)}}
            for place in dict.fromkeys(places)
            for role in Role
        ]
        found = (
            [item_to_rotation(item) for item in batch_get(self._client, self._table, keys)] if keys else []
        )
        order = {place: i for i, place in enumerate(places)}
        return sorted(found, key=lambda r: (order.get(r.jurisdiction_id, len(order)), r.role))

    def list(self) -> list[Rotation]:
        """Every rotation: a Scan, for the admins' listing and the coverage report (dozens of rows)."""
        items = scan_all(self._client, TableName=self._table, ConsistentRead=True)
        return sorted(map(item_to_rotation, items), key=lambda r: (r.jurisdiction_id, r.role))
