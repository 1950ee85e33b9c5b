"""DynamoDB store of the correctional facilities admins add (table ``facilities``, key ``facility_id``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import call, decode, encode, iso, parse_iso, scan_all, written
from chalicelib.domain.errors import ChangedMeanwhile, Conflict, NotFound
from chalicelib.domain.facilities import Facility, FacilityKind

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def facility_to_item(facility: Facility) -> dict[str, Any]:
    return {
        "facility_id": facility.id,
        "state_id": facility.state_id,
        "name": facility.name,
        "place_id": facility.place_id,
        "kind": str(facility.kind),
        "aliases": list(facility.aliases),
        "retired_at": iso(facility.retired_at),
        "revision": facility.revision,
        "added_by": facility.added_by,
        "added_at": iso(facility.added_at),
        "changed_at": iso(facility.changed_at),
    }


def item_to_facility(item: dict[str, Any]) -> Facility:
    return Facility(
        id=item["facility_id"],
        name=item["name"],
        place_id=item["place_id"],
        kind=FacilityKind(item["kind"]),
        aliases=tuple(item.get("aliases", ())),
        retired_at=parse_iso(item.get("retired_at")),
        revision=int(item.get("revision", 0)),
        added_by=item.get("added_by", ""),
        added_at=parse_iso(item.get("added_at")),
        changed_at=parse_iso(item.get("changed_at")),
    )


class DynamoFacilityStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def add(self, facility: Facility) -> None:
        if not written(
            self._client.put_item,
            TableName=self._table,
            Item=encode(facility_to_item(facility)),
            ConditionExpression="attribute_not_exists(facility_id)",
        ):
            raise Conflict(f"a facility with the id {facility.id} exists")

    def get(self, facility_id: str) -> Facility:
        response = call(
            self._client.get_item,
            TableName=self._table,
            Key={"facility_id": {"S": facility_id}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise NotFound(f"no facility {facility_id!r}")
        return item_to_facility(decode(response["Item"]))

    def replace(self, facility: Facility) -> None:
        written_as = dataclasses.replace(facility, revision=facility.revision + 1)
        if not written(
            self._client.put_item,
            TableName=self._table,
            Item=encode(facility_to_item(written_as)),
            ConditionExpression="attribute_exists(facility_id) AND revision = :based_on",
            ExpressionAttributeValues={":based_on": {"N": str(facility.revision)}},
        ):
            self.get(facility.id)  # NotFound if there is none
            raise ChangedMeanwhile(f"facility {facility.id!r} changed since it was read")

    def list(self) -> list[Facility]:
        items = scan_all(self._client, TableName=self._table, ConsistentRead=True)
        return sorted(map(item_to_facility, items), key=lambda facility: facility.id)
