"""DynamoDB store of escalation policies; an event type without one uses the shipped default."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import call
from chalicelib.domain.policies import DEFAULT_POLICIES, Audience, EscalationPolicy, Step, parse_duration
from chalicelib.domain.subscribers import ChannelType, EventType, Role

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def policy_from_json(data: dict[str, Any]) -> EscalationPolicy:
    def step(value: dict[str, Any]) -> Step:
        after = value.get("after")
        before = value.get("before_deadline")
        return Step(
            notify=Audience(value["notify"]),
            after=parse_duration(after) if after is not None else None,
            before_deadline=parse_duration(before) if before is not None else None,
            channels=tuple(ChannelType(c) for c in value["channels"]),
        )

    return EscalationPolicy(
        event_type=EventType(data["event_type"]),
        required_roles=tuple(Role(r) for r in data["required_roles"]),
        steps=tuple(step(s) for s in data["steps"]),
    )


class DynamoPolicyStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def get(self, event_type: EventType) -> EscalationPolicy:
        response = call(
            self._client.get_item,
            TableName=self._table,
            Key={"event_type": {"S": str(event_type)}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            return DEFAULT_POLICIES[event_type]
        return policy_from_json(json.loads(response["Item"]["policy_json"]["S"]))

    def put(self, policy: EscalationPolicy) -> None:
        call(
            self._client.put_item,
            TableName=self._table,
            Item={
                "event_type": {"S": str(policy.event_type)},
                "policy_json": {"S": json.dumps(policy.as_json(), sort_keys=True)},
            },
        )
