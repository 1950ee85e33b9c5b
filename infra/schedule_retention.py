"""`make schedule-retention STAGE=…`: give detainers decided before the retention index existed
the time their personal data falls due.

A decision records when the person's data falls due for removal (docs/decisions.md); a detainer
decided by an earlier version of Vigil has no such time, so the sweep would keep its data for ever.
Run this once after deploying the version that removes it, with the stage's retention period (the
PersonalDataRetentionDays parameter, default 90): each such detainer falls due that many days after
its decision, and those whose time has passed are removed by the sweep's next run. Idempotent.
Uses the caller's own AWS credentials and records one entry in the audit trail.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import boto3

from chalicelib.adapters.ack_log import DynamoAckLog
from chalicelib.adapters.notice_store import DynamoNoticeStore
from chalicelib.config import resource_name
from chalicelib.domain.retention import DEFAULT_RETENTION_DAYS
from chalicelib.services.retention import schedule_decided

ACTOR = "infra/schedule_retention.py"


def main(argv: Sequence[str] | None = None, *, session: boto3.session.Session | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument(
        "--days", type=int, default=DEFAULT_RETENTION_DAYS, help="the stage's PersonalDataRetentionDays"
    )
    parser.add_argument("--region", default=None)
    parser.add_argument("--endpoint-url", default=None, help="a DynamoDB endpoint other than AWS's")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be 1 or more")
    client = (session or boto3.session.Session()).client(
        "dynamodb", region_name=args.region, endpoint_url=args.endpoint_url
    )
    name = functools.partial(resource_name, args.stage)
    scheduled = schedule_decided(
        notices=DynamoNoticeStore(name("notices"), client),
        ack_log=DynamoAckLog(name("ack-log"), client, notices_table=name("notices")),
        retention=timedelta(days=args.days),
        actor=ACTOR,
        now=datetime.now(UTC),
    )
    print(  # the command's output
        f"stage {args.stage}: {len(scheduled)} decided detainers given a removal time, {args.days} days "
        "after their decision"
    )
    return scheduled


if __name__ == "__main__":
    main()
