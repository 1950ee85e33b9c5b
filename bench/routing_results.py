"""What the routing benchmark (``python -m bench.routing``) measures and the tables it prints: the
routing query per scenario and size, the whole route() call, Query requests against size, and the
prediction from the population alone (``--predict-only``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import table
from bench.counting import CallCounts
from bench.routing_population import Coverage, Scenario, coverage, population
from chalicelib.data import load_registry
from chalicelib.domain.routing import reach


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
