"""What ``GET /stats/acknowledgments`` reads: requests and time against the number of notices in its weeks.

    .venv/bin/python -m bench.ack_times [--copies 1,4,8] [--runs 5]

Runs in process against moto (``mock_aws``) with the resources of ``infra/template.yaml`` and the real
adapters (``chalicelib.bootstrap.build``); every AWS call is counted with a botocore event hook
(``bench.counting.AwsCallCounter``). The store is the demo's: its offices (``vigil_local.demo``) and
its twelve weeks of past notices (``vigil_local.demo_history``), the first size exactly what ``make
run`` starts with; each further copy adds another twelve weeks of the same kind (another seed), so
``--copies 8`` holds eight times the demo's notices. For each size and type the use case the route
calls (``services.dashboard.acknowledgment_times``, the most recent 50 notices and the weekly series)
is run ``--runs`` times; reported are the notices it read, its requests by operation, the items and kB
it read, and the median time of a run. The time is moto's in this process, patched as
``bench.routing`` patches it (``--faithful-moto`` leaves it alone: its Query sorts the whole table,
and the time grows with the table rather than with what is read); it is informational, DynamoDB
answering each Query in milliseconds. The request counts are what the code asks of AWS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3
from moto import mock_aws

from bench.common import REGION, fake_credentials, machine, parse_sizes, table
from bench.counting import AwsCallCounter
from bench.moto_account import deploy
from bench.routing import moto_speedups
from chalicelib import logs
from chalicelib.bootstrap import build
from chalicelib.config import Settings
from chalicelib.domain.subscribers import EventType
from chalicelib.services import dashboard
from vigil_local.demo import DEMO_ROLLOUT_POLICY, demo_records
from vigil_local.demo_history import SEED, seed_history

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STAGE = "bench"
LIMIT = 50


@dataclass(frozen=True)
class Measured:
    copies: int
    kind: EventType
    notices_read: int
    complete: bool
    requests: dict[str, int]
    items_read: int
    kb_read: float
    median_ms: float


def run(copies: Sequence[int], *, runs: int, now: datetime, faithful_moto: bool) -> list[Measured]:
    fake_credentials()
    logs.configure(level="WARNING", json=False)
    results: list[Measured] = []
    with ExitStack() as stack:
        stack.enter_context(mock_aws())
        if not faithful_moto:
            stack.enter_context(moto_speedups())
        session = boto3.Session(region_name=REGION)
        counter = AwsCallCounter().attach(session)  # before build(): clients copy the session's hooks
        deploy(session, stage=STAGE)
        settings = Settings.from_env(
            {"VIGIL_STAGE": STAGE, "VIGIL_ACK_SECRET": "bench-only-link-signing-secret-0123456789"}
        )
        deps = build(settings, session=session)
        writer: DynamoDBClient = session.client("dynamodb", region_name=REGION)
        deps.policies.put(DEMO_ROLLOUT_POLICY)  # as the demo stores it
        offices = {}
        for record in demo_records(deps.registry, now=now):
            deps.subscribers.add(record)
            offices[record.name] = record.id
        loaded = 0
        for size in sorted(copies):
            for copy in range(loaded, size):
                seed_history(deps, writer, offices, now=now, seed=SEED + copy)
            loaded = size
            for kind in EventType:
                seconds: list[float] = []
                for _ in range(runs):
                    before = counter.snapshot()
                    started = time.perf_counter()
                    answer = dashboard.acknowledgment_times(
                        kind,
                        limit=LIMIT,
                        notices=deps.notices,
                        deliveries=deps.deliveries,
                        policies=deps.policies,
                        registry=deps.registry,
                        now=now,
                    )
                    seconds.append(time.perf_counter() - started)
                    counts = counter.snapshot() - before
                results.append(
                    Measured(
                        copies=size,
                        kind=kind,
                        notices_read=answer["weekly"]["notices_read"],
                        complete=answer["weekly"]["complete"],
                        requests=counts.by_operation("dynamodb"),
                        items_read=counts.read("dynamodb"),
                        kb_read=counts.read_bytes("dynamodb") / 1024,
                        median_ms=statistics.median(seconds) * 1000,
                    )
                )
                print(f"  {size} × the demo, {kind}: {results[-1].notices_read} notices read", flush=True)
    return results


def report(results: Sequence[Measured]) -> str:
    rows = [
        [
            f"{r.copies} × demo",
            str(r.kind),
            f"{r.notices_read}",
            "yes" if r.complete else "no (the bound)",
            f"{sum(r.requests.values())}",
            ", ".join(f"{op} {n}" for op, n in sorted(r.requests.items())),
            f"{r.items_read}",
            f"{r.kb_read:.0f}",
            f"{r.median_ms:.0f}",
        ]
        for r in results
    ]
    return table(
        [
            "store",
            "type",
            "notices read",
            "all the weeks' notices",
            "requests",
            "by operation",
            "items read",
            "kB read",
            "ms (moto)",
        ],
        rows,
        right=[False, False, True, False, True, False, True, True, True],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=parse_sizes, default=(1, 4, 8), help="stores of N × the demo")
    parser.add_argument("--runs", type=int, default=5, help="runs per size and type (median time)")
    parser.add_argument("--faithful-moto", action="store_true", help="leave moto unpatched (much slower)")
    args = parser.parse_args(argv)
    print(f"Acknowledgment times benchmark on {machine()}")
    now = datetime.now(UTC)
    results = run(args.copies, runs=args.runs, now=now, faithful_moto=args.faithful_moto)
    print()
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
