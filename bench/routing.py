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
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from moto import mock_aws

from bench.common import REGION, fake_credentials, machine, parse_sizes, table
from bench.counting import AwsCallCounter, CallCounts, item_size
from bench.emulator_patches import faster_moto
from bench.moto_account import deploy, load_subscribers
from chalicelib import logs
from chalicelib.adapters.delivery_store import partition
from chalicelib.adapters.dynamodb import batch_write, encode
from chalicelib.adapters.sqs import SqsWorkQueue
from chalicelib.adapters.subscriber_store import entry_to_item
from chalicelib.bootstrap import Deps, build
from chalicelib.config import Settings
from chalicelib.data import load_registry
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice, NoticeStatus, fingerprint, notice_id_for
from chalicelib.domain.places import STATE_ID, Jurisdiction, JurisdictionKind
from chalicelib.domain.routing import Reach, covers, reach, recipients_for
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Subscriber,
    Subscription,
    SubscriptionEntry,
    default_ack_required,
    index_entries,
)
from chalicelib.ports import SubscriptionIndex
from chalicelib.services.routing import route

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

T = TypeVar("T")

STAGE = "bench"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_SEED = 20120217
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
PAGE_BYTES = 1_000_000  # a Query returns at most 1 MB of items per request

# Where subscriptions sit: mostly towns (mayors, chiefs, local advocates), a few at each wider level.
SHARES: tuple[tuple[JurisdictionKind, float], ...] = (
    (JurisdictionKind.TOWN, 0.85),
    (JurisdictionKind.COUNTY, 0.05),
    (JurisdictionKind.REGION, 0.05),
    (JurisdictionKind.STATE, 0.05),
)
# Which notices a subscription asks for.
EVENT_TYPE_SHARES: tuple[tuple[frozenset[EventType], float], ...] = (
    (frozenset({EventType.ROLLOUT, EventType.DETAINER}), 0.50),
    (frozenset({EventType.ROLLOUT}), 0.35),
    (frozenset({EventType.DETAINER}), 0.15),
)
ROLES: dict[JurisdictionKind, tuple[Role, ...]] = {
    JurisdictionKind.TOWN: (Role.LOCAL_OFFICIAL, Role.LAW_ENFORCEMENT, Role.ADVOCATE, Role.LEGAL, Role.MEDIA),
    JurisdictionKind.COUNTY: (Role.LAW_ENFORCEMENT, Role.LEGAL, Role.ADVOCATE),
    JurisdictionKind.REGION: (Role.LOCAL_OFFICIAL, Role.ADVOCATE, Role.MEDIA),
    JurisdictionKind.STATE: (Role.STATE_EXECUTIVE, Role.CORRECTIONS, Role.ADVOCATE, Role.MEDIA),
}
SMS_SHARE = 0.25  # every subscriber has an email channel; some also SMS, a few a webhook
WEBHOOK_SHARE = 0.10


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str  # its name for --scenarios
    label: str
    event_type: EventType
    place: str  # as a source system would name it; resolved through the registry


NATIONAL_SCENARIOS = (
    Scenario("county", "county rollout (Harris County, TX)", EventType.ROLLOUT, "Harris County, Texas"),
    Scenario("state", "statewide rollout (Texas)", EventType.ROLLOUT, "Texas"),
    Scenario(
        "facility", "facility detainer (Hartford CC)", EventType.DETAINER, "Hartford Correctional Center"
    ),
)
# 2020 Census resident population, in thousands: the national population's weights (a model, not
# data the service uses, so it lives here).
STATE_POPULATION: dict[str, int] = {
    "us-al": 5024, "us-ak": 733, "us-az": 7152, "us-ar": 3012, "us-ca": 39538, "us-co": 5774,
    "us-ct": 3606, "us-de": 990, "us-dc": 690, "us-fl": 21538, "us-ga": 10712, "us-hi": 1455,
    "us-id": 1839, "us-il": 12813, "us-in": 6786, "us-ia": 3190, "us-ks": 2938, "us-ky": 4506,
    "us-la": 4658, "us-me": 1362, "us-md": 6177, "us-ma": 7030, "us-mi": 10077, "us-mn": 5706,
    "us-ms": 2961, "us-mo": 6155, "us-mt": 1084, "us-ne": 1962, "us-nv": 3105, "us-nh": 1378,
    "us-nj": 9289, "us-nm": 2118, "us-ny": 20201, "us-nc": 10439, "us-nd": 779, "us-oh": 11799,
    "us-ok": 3959, "us-or": 4237, "us-pa": 13003, "us-ri": 1097, "us-sc": 5118, "us-sd": 887,
    "us-tn": 6911, "us-tx": 29146, "us-ut": 3272, "us-vt": 643, "us-va": 8631, "us-wa": 7705,
    "us-wv": 1794, "us-wi": 5894, "us-wy": 577, "us-pr": 3286, "us-gu": 154, "us-vi": 87,
    "us-as": 50, "us-mp": 47,
}  # fmt: skip
NATIONAL_STATEWIDE_SHARE = 0.05
LARGEST_FIRST = ("us-tx/county/harris",)  # the scenario's county leads its state's Zipf order

SCENARIOS = (
    Scenario("town", "town rollout (New Haven)", EventType.ROLLOUT, "New Haven"),
    Scenario("county", "county rollout (Fairfield County)", EventType.ROLLOUT, "Fairfield County"),
    Scenario("state", "statewide rollout", EventType.ROLLOUT, "statewide"),
    Scenario(
        "facility", "facility detainer (Hartford CC)", EventType.DETAINER, "Hartford Correctional Center"
    ),
)


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the population says a notice's routing query should find: the ground truth to check."""

    # Subscribers whose subscription covers the notice, by the rule (``routing.covers``).
    subscribers: int
    # The index rows each read of the reach should return (by the rows ``index_entries`` writes),
    # and their size by AWS's item-size rules, per place read.
    rows: int
    bytes_by_read: dict[str, int]

    @property
    def pages(self) -> int:
        """Query requests DynamoDB needs: one per read, plus one per further 1 MB of its rows."""
        return sum(max(1, math.ceil(size / PAGE_BYTES)) for size in self.bytes_by_read.values())

    @property
    def largest(self) -> tuple[str, int]:
        return max(self.bytes_by_read.items(), key=lambda kv: kv[1])


@dataclass(frozen=True, slots=True)
class CoveringResult:
    reads: int
    counts: CallCounts
    cpu_ms: float


@dataclass(frozen=True, slots=True)
class RouteResult:
    notice_id: str
    coverage: Coverage
    covering: CoveringResult
    counts: CallCounts
    recipients: int
    deliveries: int
    cpu_ms: float
    routed: bool = True  # False with --query-only: the routing query alone was measured

    @property
    def overhead(self) -> int:
        return self.counts.requests("dynamodb") + self.counts.requests("sqs")

    @property
    def overhead_per_delivery(self) -> float | None:
        return self.overhead / self.deliveries if self.deliveries else None


@dataclass(frozen=True, slots=True)
class SizeResult:
    size: int
    index_rows: int
    load_seconds: float
    measure_seconds: float
    routes: dict[str, RouteResult]


# --- the population ----------------------------------------------------------------------------


def _pick[T](rng: random.Random, shares: Sequence[tuple[T, float]]) -> T:
    return rng.choices([value for value, _ in shares], weights=[weight for _, weight in shares])[0]


def national_weights(registry: JurisdictionRegistry, *, seed: int) -> tuple[list[Jurisdiction], list[float]]:
    """Every place a national subscriber may subscribe to, and its share (``--population national``)."""
    rng = random.Random(seed)
    places: list[Jurisdiction] = []
    weights: list[float] = []
    for state in sorted(registry.states(), key=lambda s: s.id):
        people = STATE_POPULATION[state.id]
        inside = registry.within(state.id)
        if state.id == STATE_ID:
            for kind, share in SHARES:
                of_kind = [p for p in inside if p.kind is kind]
                places += of_kind
                weights += [people * share / len(of_kind)] * len(of_kind)
            continue
        counties = [p for p in inside if p.kind is JurisdictionKind.COUNTY]
        rng.shuffle(counties)
        counties.sort(key=lambda c: c.id not in LARGEST_FIRST)
        zipf = [1 / rank for rank in range(1, len(counties) + 1)]
        places += [state, *counties]
        weights += [people * NATIONAL_STATEWIDE_SHARE]
        weights += [people * (1 - NATIONAL_STATEWIDE_SHARE) * z / sum(zipf) for z in zipf]
    return places, weights


def population(
    count: int, *, seed: int, registry: JurisdictionRegistry, national: bool = False
) -> list[Subscriber]:
    """``count`` subscribers, one subscription each; the first n are the same for every count >= n."""
    rng = random.Random(seed)
    places = {kind: [p for p in registry.within(STATE_ID) if p.kind is kind] for kind, _ in SHARES}
    everywhere, weights = national_weights(registry, seed=seed) if national else ([], [])
    cumulative = list(itertools.accumulate(weights))
    seen: set[str] = set()
    out: list[Subscriber] = []
    while len(out) < count:
        subscriber_id = f"sub_{rng.getrandbits(64):016x}"  # the service's id shape: random, so keys spread
        if subscriber_id in seen:
            continue
        seen.add(subscriber_id)
        if national:
            place = rng.choices(everywhere, cum_weights=cumulative)[0]
            kind = place.kind
        else:
            kind = _pick(rng, SHARES)
            place = rng.choice(places[kind])
        role = rng.choice(ROLES[kind])
        n = len(out)
        channels = [Channel(ChannelType.EMAIL, f"office{n}@example.gov")]
        if rng.random() < SMS_SHARE:
            channels.append(Channel(ChannelType.SMS, f"+1860555{n % 10_000:04d}"))
        if rng.random() < WEBHOOK_SHARE:
            channels.append(
                Channel(ChannelType.WEBHOOK, f"https://hooks{n}.example.org/vigil", f"whsec_bench{n:06d}")
            )
        out.append(
            Subscriber(
                id=subscriber_id,
                name=f"Office {n}",
                role=role,
                organization=f"Organization {n}",
                ack_required=default_ack_required(role),
                channels=tuple(channels),
                subscriptions=(Subscription(place.id, _pick(rng, EVENT_TYPE_SHARES)),),
                created_at=NOW,
            )
        )
    return out


def coverage(subscribers: Sequence[Subscriber], wanted: Reach, registry: JurisdictionRegistry) -> Coverage:
    place = wanted.place
    assert place is not None  # a notice's reach starts at its own place
    sizes = {p: 0 for p in (place, *wanted.above)}
    rows = 0
    covered: set[str] = set()
    for subscriber in subscribers:
        if any(covers(s, place, wanted.event_type, registry) for s in subscriber.subscriptions):
            covered.add(subscriber.id)
        for entry in index_entries(subscriber, registry):
            if entry.event_type is not wanted.event_type or entry.jurisdiction_id not in sizes:
                continue
            if entry.jurisdiction_id == place or entry.covers_below:
                sizes[entry.jurisdiction_id] += item_size(dict(encode(entry_to_item(entry))))
                rows += 1
    return Coverage(len(covered), rows, sizes)


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


# --- reporting ---------------------------------------------------------------------------------


def _read(counts: CallCounts) -> str:
    """Items read; items scanned too if they differ (a filter discarding what was paid for)."""
    read, scanned = counts.read("dynamodb", "Query"), counts.scanned("dynamodb", "Query")
    return f"{read:,}" + ("" if scanned == read else f" (scanned {scanned:,})")


def _kb(size: int) -> str:
    return f"{size / 1000:,.0f}"


def _short(jurisdiction_id: str) -> str:
    return jurisdiction_id.rsplit("/", 1)[-1]


def query_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for r in results:
        for label, x in r.routes.items():
            q, expected = x.covering, x.coverage
            found, read = x.recipients, q.counts.read("dynamodb", "Query")
            largest_id, largest_size = expected.largest
            rows.append(
                [
                    f"{r.size:,}",
                    label,
                    str(q.reads),
                    str(q.counts.requests("dynamodb", "Query")),
                    str(expected.pages),
                    _read(q.counts) + ("" if read == expected.rows else f" (expected {expected.rows:,})"),
                    _kb(q.counts.read_bytes("dynamodb", "Query")),
                    f"{_kb(largest_size)} ({_short(largest_id)})",
                    f"{found:,}"
                    + ("" if found == expected.subscribers else f" (expected {expected.subscribers:,})"),
                    f"{q.cpu_ms:,.0f}",
                ]
            )
    return table(
        [
            "subscriptions",
            "notice",
            "reads",
            "Query requests",
            "pages predicted",
            "items read",
            "kB read",
            "largest read kB",
            "subscribers covering",
            "CPU ms",
        ],
        rows,
        right=[True, False, True, True, True, True, True, True, True, True],
    )


def _ops(counts: CallCounts, service: str) -> str:
    return ", ".join(f"{op} {n}" for op, n in counts.by_operation(service).items()) or "-"


def route_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for r in results:
        for label, x in r.routes.items():
            if not x.routed:
                continue
            per = x.overhead_per_delivery
            rows.append(
                [
                    f"{r.size:,}",
                    label,
                    f"{x.recipients:,}",
                    f"{x.deliveries:,}",
                    _ops(x.counts, "dynamodb"),
                    _ops(x.counts, "sqs"),
                    str(x.overhead),
                    f"{per:.3f}" if per is not None else "-",
                    f"{x.cpu_ms:,.0f}",
                ]
            )
    return table(
        [
            "subscriptions",
            "notice",
            "recipients",
            "deliveries",
            "DynamoDB requests",
            "SQS requests",
            "DynamoDB+SQS",
            "per delivery",
            "CPU ms",
        ],
        rows,
        right=[True, False, True, True, False, False, True, True, True],
    )


def requests_table(results: Sequence[SizeResult]) -> str:
    """Per notice: the routing query's requests at each size, against one per read + extra pages."""
    rows = []
    for label in results[0].routes:
        first = results[0].routes[label]
        measured = [r.routes[label].covering.counts.requests("dynamodb", "Query") for r in results]
        predicted = [r.routes[label].coverage.pages for r in results]
        rows.append(
            [
                label,
                str(first.covering.reads),
                *(str(m) for m in measured),
                "yes" if measured == predicted else f"no (predicted {' / '.join(map(str, predicted))})",
            ]
        )
    return table(
        [
            "notice",
            "reads",
            *(f"Query requests at {r.size:,}" for r in results),
            "= reads + extra 1 MB pages",
        ],
        rows,
        right=[False, True, *(True for _ in results), False],
    )


def prediction_table(sizes: Sequence[int], scenarios: Sequence[Scenario], seed: int, national: bool) -> str:
    """What the routing query of each scenario must read at each size, by the rule and the rows
    ``index_entries`` writes (``Coverage``): the figures a run checks moto's answers against, for
    sizes too large to load into the emulator."""
    registry = load_registry()
    people = population(max(sizes), seed=seed, registry=registry, national=national)
    rows = []
    for size in sizes:
        for scenario in scenarios:
            place = registry.resolve(scenario.place)
            wanted = reach(registry, place.id, scenario.event_type)
            expected = coverage(people[:size], wanted, registry)
            largest_id, largest_size = expected.largest
            rows.append(
                [
                    f"{size:,}",
                    scenario.label,
                    str(wanted.reads),
                    str(expected.pages),
                    f"{expected.rows:,}",
                    _kb(sum(expected.bytes_by_read.values())),
                    f"{_kb(largest_size)} ({_short(largest_id)})",
                    f"{expected.subscribers:,}",
                ]
            )
    return table(
        [
            "subscriptions",
            "notice",
            "reads",
            "Query requests",
            "items read",
            "kB read",
            "largest read kB",
            "subscribers covering",
        ],
        rows,
        right=[True, False, True, True, True, True, True, True],
    )


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
