"""Routing scale: DynamoDB and SQS requests per routed event as the number of subscriptions grows.

    .venv/bin/python -m bench.routing [--sizes 1000,10000,100000] [--scenarios town,county,state,facility]
                                      [--population connecticut|national]
                                      [--query-only] [--seed N] [--faithful-moto]

Runs in process against moto (``mock_aws``), with the resources of ``infra/template.yaml`` and the
real adapters from ``chalicelib.bootstrap.build``. Every AWS call is counted with a botocore event
hook (``bench.counting.AwsCallCounter``). For each size it loads that many subscriptions (one
jurisdiction each, seeded random), then routes one notice per representative scenario with
``services.routing.route`` and reports

The populations (``--population``):

- ``connecticut`` (the default): every subscription in Connecticut, most on towns: 85% towns, 5%
  counties, 5% planning regions, 5% statewide. Scenarios: a town, a county, the state, a facility.
- ``national``: subscribers spread over the country by population. A subscriber's state is drawn by
  its 2020 Census population (``STATE_POPULATION``); within it 5% subscribe statewide and 95% to a
  county (in Connecticut, the shares above instead). The Census lists ship no county populations,
  so a state's counties take Zipf weights (the k-th gets 1/k) in a seeded order, the scenario's
  county first (Harris County is Texas's most populous): a few large counties and a long tail, as
  in the country. Scenarios (``county,state,facility``): a Harris County rollout (reaching Harris
  County's and Texas's subscribers), a Texas statewide rollout (reaching every Texas county's
  subscribers through the state's inside rows, and Texas's), and a detainer at Hartford
  Correctional Center (Connecticut: the only state with facilities).

- the routing query inside it: ``SubscriptionIndex.covering`` over the notice's reach (its own place,
  then each place above it: Query requests, items and kB read, the 1 MB pages), measured by wrapping
  the index route() is given, and checked against the subscribers ``routing.covers`` says it reaches;
- the whole route() call: DynamoDB requests by operation, SQS requests, deliveries created, the
  overhead (DynamoDB + SQS requests) per delivery, and CPU time.

``--query-only`` measures the routing query alone (no deliveries are created): a statewide rollout
at 100,000 subscriptions reaches most of them, and creating its deliveries in moto takes long.

The sizes are loaded cumulatively (the first 1,000 of the seeded population, then the next 9,000, ...)
into one moto account, so each size holds the smaller ones. Subscriptions are written straight into
the tables with ``batch_write`` (a fixture: ``DynamoSubscriberStore.add`` one by one is slow in moto).

moto is slow at this scale in ways that change no answer, so by default the run patches them for
its duration (``--faithful-moto`` leaves moto alone; the counts are the same, the run far longer):
its Query sorts every item of the table to find one partition, its TransactWriteItems deep-copies
the whole table once per item of the transaction, and it serializes every item read shape by shape
(the last two: ``bench.emulator_patches``). CPU time still includes the rest of moto's work in this
process: it is informational, not what DynamoDB would cost. The request counts are what the code
asks of AWS, emulator or not.

The populations and their ground truth are in ``bench/routing_population.py``; the results and the
tables printed, in ``bench/routing_results.py``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws

from bench.common import REGION, fake_credentials, machine, parse_sizes
from bench.counting import AwsCallCounter
from bench.emulator_patches import faster_moto
from bench.moto_account import deploy, load_subscribers
from bench.routing_population import (
    NATIONAL_SCENARIOS,
    NATIONAL_STATEWIDE_SHARE,
    NOW,
    SCENARIOS,
    SHARES,
    Coverage,
    Scenario,
    coverage,
    population,
)
from bench.routing_results import (
    CoveringResult,
    RouteResult,
    SizeResult,
    prediction_table,
    query_table,
    requests_table,
    route_table,
)
from chalicelib import logs
from chalicelib.adapters.delivery_store import partition
from chalicelib.adapters.dynamodb import batch_write
from chalicelib.adapters.sqs import SqsWorkQueue
from chalicelib.bootstrap import Deps, build
from chalicelib.config import Settings
from chalicelib.domain.notices import Notice, NoticeStatus, fingerprint, notice_id_for
from chalicelib.domain.places import Jurisdiction
from chalicelib.domain.routing import Reach, reach, recipients_for
from chalicelib.domain.subscribers import EventType, SubscriptionEntry
from chalicelib.ports import SubscriptionIndex
from chalicelib.services.routing import route

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef


STAGE = "bench"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_SEED = 20120217


# --- measuring ---------------------------------------------------------------------------------


class MeasuredIndex:
    """The index route() is given, counting the calls and CPU time of its routing query alone.

    route() hands ``covering``'s iterator to a pure function, so every AWS call made between the
    first item and the last is the routing query's own.
    """

    def __init__(self, inner: SubscriptionIndex, counter: AwsCallCounter) -> None:
        self._inner = inner
        self._counter = counter
        self.result: CoveringResult | None = None

    def covering(self, reach: Reach) -> Iterator[SubscriptionEntry]:
        before = self._counter.snapshot()
        cpu = 0.0
        entries = self._inner.covering(reach)
        while True:
            started = time.process_time()
            try:
                entry = next(entries)
            except StopIteration:
                break
            finally:
                cpu += time.process_time() - started
            yield entry
        self.result = CoveringResult(reach.reads, self._counter.snapshot() - before, cpu * 1000)


def measure(
    deps: Deps,
    counter: AwsCallCounter,
    place: Jurisdiction,
    scenario: Scenario,
    *,
    size: int,
    expected: Coverage,
) -> RouteResult:
    key = f"bench-{size}-{scenario.label}"
    event = {"bench": True, "size": size, "place": scenario.place}
    notice = Notice(
        id=notice_id_for(scenario.event_type, key),
        type=scenario.event_type,
        status=NoticeStatus.OPEN,
        idempotency_key=key,
        fingerprint=fingerprint(event),
        jurisdiction_id=place.id,
        title=f"Benchmark: {scenario.label}",
        received_at=NOW,
        event=event,
        submitted_by="bench",
    )
    deps.notices.add(notice)  # what ingest did before: not part of routing
    index = MeasuredIndex(deps.index, counter)
    counter.reset()
    cpu = time.process_time()
    routed = route(
        notice.id,
        notices=deps.notices,
        index=index,
        send_queue=deps.send_queue,
        registry=deps.registry,
        policies=deps.policies,
        ack_log=deps.ack_log,
        rotations=deps.rotations,
        subscribers=deps.subscribers,
        now=NOW,
    )
    cpu_ms = (time.process_time() - cpu) * 1000
    if index.result is None:
        raise RuntimeError("route() did not run the routing query")
    return RouteResult(
        notice.id, expected, index.result, counter.snapshot(), routed.recipients, routed.deliveries, cpu_ms
    )


def measure_query(
    deps: Deps, counter: AwsCallCounter, place: Jurisdiction, scenario: Scenario, *, expected: Coverage
) -> RouteResult:
    """The routing query alone, as route() makes it (``--query-only``): nothing is written."""
    index = MeasuredIndex(deps.index, counter)
    counter.reset()
    recipients = recipients_for(index.covering(reach(deps.registry, place.id, scenario.event_type)))
    if index.result is None:
        raise RuntimeError("the routing query did not run")
    return RouteResult("", expected, index.result, counter.snapshot(), len(recipients), 0, 0.0, routed=False)


def forget_deliveries(deps: Deps, client: DynamoDBClient, settings: Settings, notice_id: str) -> None:
    """Delete a measured notice's deliveries: nothing later reads them, and a deliveries table that
    only grew would make each later notice slower to route in moto (not in the counts)."""
    deletes: list[WriteRequestTypeDef] = [
        {
            "DeleteRequest": {
                "Key": {
                    "notice_id": {"S": partition(d.notice_id, d.subscriber_id)},
                    "delivery_id": {"S": d.delivery_id},
                }
            }
        }
        for d in deps.deliveries.for_notice(notice_id)
    ]
    batch_write(client, settings.resource("deliveries"), deletes)


def warm_up(deps: Deps, counter: AwsCallCounter, loader: DynamoDBClient, settings: Settings) -> None:
    """What a warm Lambda container has done before: resolve the queue URL, make the first calls.

    GetQueueUrl runs once per container (the adapter keeps the URL), so it is not counted per notice;
    the first calls also pay for loading botocore's models and moto's parsers, which CPU time would
    otherwise charge to the first notice measured.
    """
    if isinstance(deps.send_queue, SqsWorkQueue):
        _ = deps.send_queue.url
    place = deps.registry.resolve("Andover")
    scenario = Scenario("warm-up", "warm-up", EventType.ROLLOUT, place.name)
    routed = measure(deps, counter, place, scenario, size=0, expected=Coverage(0, 0, {}))
    forget_deliveries(deps, loader, settings, routed.notice_id)
    counter.reset()


# --- moto at scale -----------------------------------------------------------------------------


@contextmanager
def moto_speedups() -> Iterator[None]:
    """The patches for the run: the same answers from moto in a fraction of the time. Its
    TransactWriteItems without whole-table copies and its reads written as plain JSON
    (``bench.emulator_patches``), and its Query reading one partition (below)."""
    with faster_moto(transactions=True, reads=True), moto_query_reads_one_partition():
        yield


@contextmanager
def moto_query_reads_one_partition() -> Iterator[None]:
    """moto's Query on a table goes through ``all_items()`` (every item of the table, sorted) and
    keeps one partition's: show it only that partition, which is all it would keep. Queries on an
    index are left alone. Changes no answer; a Query on 150,000 rows goes from seconds to milliseconds.
    """
    table: Any = importlib.import_module("moto.dynamodb.models.table").Table  # moto internals, only here
    original: Callable[..., Any] = table.query
    signature = inspect.signature(original)
    if not {"hash_key", "index_name"} <= set(signature.parameters):
        print("moto's Table.query changed: running it unpatched (the same counts, much slower)")
        yield
        return

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        hash_key = arguments.get("hash_key")
        if arguments.get("index_name") or hash_key is None:
            return original(self, *args, **kwargs)
        everything = self.items
        partition = everything.get(hash_key)
        self.items = {hash_key: partition} if partition is not None else {}
        try:
            return original(self, *args, **kwargs)
        finally:
            self.items = everything

    table.query = query
    try:
        yield
    finally:
        table.query = original


# --- the run -----------------------------------------------------------------------------------


def run(
    sizes: Sequence[int],
    *,
    scenarios: Sequence[Scenario],
    seed: int,
    faithful_moto: bool,
    query_only: bool,
    national: bool = False,
) -> list[SizeResult]:
    fake_credentials()
    logs.configure(level="WARNING", json=False)  # route() logs every notice at INFO
    results: list[SizeResult] = []
    with ExitStack() as stack:
        stack.enter_context(mock_aws())
        if not faithful_moto:
            stack.enter_context(moto_speedups())
        session = boto3.Session(region_name=REGION)
        counter = AwsCallCounter().attach(session)  # before build(): clients copy the session's hooks
        deploy(session, stage=STAGE)
        # Outside the local and test stages Settings insists on an ack secret; this one signs nothing real.
        settings = Settings.from_env(
            {"VIGIL_STAGE": STAGE, "VIGIL_ACK_SECRET": "bench-only-link-signing-secret-0123456789"}
        )
        deps = build(settings, session=session)
        loader: DynamoDBClient = session.client("dynamodb", region_name=REGION)
        registry = deps.registry
        people = population(max(sizes), seed=seed, registry=registry, national=national)
        warm_up(deps, counter, loader, settings)
        loaded, index_rows = 0, 0
        for size in sorted(sizes):
            started = time.perf_counter()
            index_rows += load_subscribers(loader, settings, people[loaded:size])
            loaded = size
            load_seconds = time.perf_counter() - started
            started = time.perf_counter()
            routes: dict[str, RouteResult] = {}
            for scenario in scenarios:
                place = registry.resolve(scenario.place)
                expected = coverage(people[:size], reach(registry, place.id, scenario.event_type), registry)
                if query_only:
                    routes[scenario.label] = measure_query(deps, counter, place, scenario, expected=expected)
                    continue
                routes[scenario.label] = measure(deps, counter, place, scenario, size=size, expected=expected)
                forget_deliveries(deps, loader, settings, routes[scenario.label].notice_id)
            result = SizeResult(size, index_rows, load_seconds, time.perf_counter() - started, routes)
            results.append(result)
            print(
                f"  {size:>7,} subscriptions ({index_rows:,} index rows): loaded in {load_seconds:.0f} s, "
                f"measured in {result.measure_seconds:.0f} s",
                flush=True,
            )
    return results


def parse_scenarios(text: str) -> frozenset[str]:
    """``--scenarios`` as their keys (``town,state``): those of the population's scenarios."""
    wanted = frozenset(part.strip() for part in text.split(",") if part.strip())
    known = {s.key for s in (*SCENARIOS, *NATIONAL_SCENARIOS)}
    if wanted - known or not wanted:
        raise argparse.ArgumentTypeError(f"scenarios are among {', '.join(sorted(known))}; got {text!r}")
    return wanted


def parse_some_sizes(text: str) -> tuple[int, ...]:
    """``--sizes`` as ``bench.common.parse_sizes`` reads it, at least one."""
    sizes = parse_sizes(text)
    if not sizes:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.routing",
        description="DynamoDB and SQS requests per routed event, at growing numbers of subscriptions.",
    )
    parser.add_argument(
        "--sizes",
        type=parse_some_sizes,
        default=DEFAULT_SIZES,
        help="comma-separated subscription counts (default 1000,10000,100000; 100,000 takes minutes)",
    )
    parser.add_argument(
        "--scenarios",
        type=parse_scenarios,
        default=None,
        help=f"which notices, comma-separated (default all: {','.join(s.key for s in SCENARIOS)}; "
        f"national: {','.join(s.key for s in NATIONAL_SCENARIOS)})",
    )
    parser.add_argument(
        "--population",
        choices=("connecticut", "national"),
        default="connecticut",
        help="where subscribers are (default connecticut; national: over the country by population)",
    )
    parser.add_argument(
        "--query-only",
        action="store_true",
        help="measure the routing query alone, creating no deliveries (a statewide rollout at 100,000)",
    )
    parser.add_argument(
        "--predict-only",
        action="store_true",
        help="no emulator: what the routing query must read at each size (Query requests, items, kB), "
        "from the rows index_entries writes; the runs check these against moto's answers",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"population seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--faithful-moto",
        action="store_true",
        help="do not patch moto's Query, TransactWriteItems and reads for speed (same counts, far slower)",
    )
    args = parser.parse_args(argv)
    national = args.population == "national"
    offered = NATIONAL_SCENARIOS if national else SCENARIOS
    if args.scenarios and args.scenarios - {s.key for s in offered}:
        parser.error(f"the {args.population} population's scenarios are {','.join(s.key for s in offered)}")
    scenarios = tuple(s for s in offered if args.scenarios is None or s.key in args.scenarios)
    print(f"Routing benchmark on {machine()}")
    shares = ", ".join(f"{kind} {share:.0%}" for kind, share in SHARES)
    model = (
        f"over the country by 2020 population, {NATIONAL_STATEWIDE_SHARE:.0%} statewide, counties by Zipf "
        f"weights (Connecticut: {shares})"
        if national
        else shares
    )
    only = "; routing query only" if args.query_only else ""
    print(
        f"sizes {', '.join(f'{s:,}' for s in args.sizes)}; one subscription each ({model}); "
        f"seed {args.seed}; notices: {', '.join(s.key for s in scenarios)}{only}"
    )
    if args.predict_only:
        predicted = prediction_table(args.sizes, scenarios, args.seed, national)
        print(f"\nPredicted from the population alone (no emulator)\n\n{predicted}")
        return 0
    started, cpu = time.perf_counter(), time.process_time()
    results = run(
        args.sizes,
        scenarios=scenarios,
        seed=args.seed,
        faithful_moto=args.faithful_moto,
        query_only=args.query_only,
        national=national,
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    sections = [
        ("Routing query (SubscriptionIndex.covering inside route())", query_table(results)),
        ("Query requests against the number of subscriptions", requests_table(results)),
    ]
    if not args.query_only:
        sections.append(("route() for one notice", route_table(results)))
    for heading, text in sections:
        print(f"\n{heading}\n\n{text}")
    unpatched = " (moto unpatched)" if args.faithful_moto else ""
    print(f"\ntotal runtime {wall:.0f} s wall, {cpu:.0f} s CPU{unpatched}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
