"""An in-process moto account for a benchmark: the template's resources deployed, and subscribers
written straight into their tables (a fixture: ``DynamoSubscriberStore.add`` one by one is slow in
moto)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bench.common import REGION
from chalicelib.adapters.dynamodb import batch_write, encode
from chalicelib.adapters.subscriber_store import entry_to_item, subscriber_to_item
from chalicelib.config import Settings
from chalicelib.data import load_registry
from chalicelib.domain.subscribers import Subscriber, index_entries
from vigil_local.stack import deploy_template

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef


def deploy(session: boto3.session.Session, *, stage: str) -> None:
    """The resources of ``infra/template.yaml`` for ``stage``, through ``session``."""
    moto_log = logging.getLogger("moto")
    level = moto_log.level
    moto_log.setLevel(logging.ERROR)  # it logs each resource type it skips (alarms, policies): expected
    try:
        deploy_template(session.client("cloudformation", region_name=REGION), stage=stage)
    finally:
        moto_log.setLevel(level)


def load_subscribers(client: DynamoDBClient, settings: Settings, subscribers: Sequence[Subscriber]) -> int:
    """Write subscriber rows and index rows as ``DynamoSubscriberStore.add`` would; returns index rows."""
    rows: list[WriteRequestTypeDef] = [
        {"PutRequest": {"Item": encode(subscriber_to_item(s))}} for s in subscribers
    ]
    batch_write(client, settings.resource("subscribers"), rows)
    registry = load_registry()
    entries: list[WriteRequestTypeDef] = [
        {"PutRequest": {"Item": encode(entry_to_item(e))}}
        for s in subscribers
        for e in index_entries(s, registry)
    ]
    batch_write(client, settings.resource("subscriptions"), entries)
    return len(entries)
