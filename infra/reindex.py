"""`make reindex STAGE=…`: rewrite the subscription index of a deployed stage from its subscribers.

Run it once after deploying the code that writes "inside" rows (a stage whose rows were written
before only has the direct ones, so its rollouts do not yet reach the places inside theirs), and
after any change of chalicelib/data/jurisdictions.json that moves a place under another. Idempotent:
a second run writes the same rows and removes nothing. Uses the caller's own AWS credentials and
records one entry in the audit trail. docs/operations.md describes it.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import boto3

from chalicelib.adapters.ack_log import DynamoAckLog
from chalicelib.adapters.facility_store import DynamoFacilityStore
from chalicelib.adapters.subscriber_store import DynamoSubscriberStore
from chalicelib.config import resource_name
from chalicelib.data import load_registry
from chalicelib.services.place_graph import PlaceGraph
from chalicelib.services.subscribers import Reindexing, reindex_all

ACTOR = "infra/reindex.py"


def main(argv: Sequence[str] | None = None, *, session: boto3.session.Session | None = None) -> Reindexing:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", default=None)
    parser.add_argument("--endpoint-url", default=None, help="a DynamoDB endpoint other than AWS's")
    args = parser.parse_args(argv)
    client = (session or boto3.session.Session()).client(
        "dynamodb", region_name=args.region, endpoint_url=args.endpoint_url
    )
    name = functools.partial(resource_name, args.stage)
    # The graph with the stage's facilities: a subscription to one writes rows under its county.
    places = PlaceGraph(
        load_registry(), DynamoFacilityStore(name("facilities"), client), clock=time.monotonic
    )
    store = DynamoSubscriberStore(name("subscribers"), name("subscriptions"), client, places.current)
    report = reindex_all(
        subscribers=store,
        ack_log=DynamoAckLog(name("ack-log"), client, notices_table=name("notices")),
        actor=ACTOR,
        now=datetime.now(UTC),
    )
    print(  # the command's output
        f"stage {args.stage}: {report.subscribers} subscribers, {report.rows_written} index rows written, "
        f"{report.rows_removed} stale rows removed"
    )
    return report


if __name__ == "__main__":
    main()
