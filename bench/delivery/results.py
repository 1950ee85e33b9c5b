"""What a scenario measured: its phases' counts and units, its invocations, what it sent."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from bench.counting import CallCounts
from bench.delivery.metering import Usage
from bench.delivery.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Invocation:
    """One handler invocation: its messages as (channel, deliveries), and its wall time."""

    messages: tuple[tuple[str, int], ...]
    seconds: float


@dataclass(frozen=True)
class Phase:
    counts: CallCounts
    usage: Usage
    seconds: float


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    deliveries: Counter[str]  # by channel, deliveries created
    sent: Counter[str]  # by channel, deliveries ending sent
    provider: dict[str, int]  # SendEmail, Publish, webhook POSTs
    phases: dict[str, Phase]  # ingest, route, deliver
    esm: CallCounts  # the pump's SQS calls (the event source mapping's, in AWS)
    esm_usage: Usage
    route_invocations: list[Invocation]
    send_invocations: list[Invocation]
    webhook_seconds: float
    load_seconds: float
    wall_seconds: float
    problems: list[str]

    @property
    def total(self) -> CallCounts:
        total = CallCounts()
        for phase in self.phases.values():
            total = add_counts(total, phase.counts)
        return total

    @property
    def usage(self) -> Usage:
        total = Usage()
        for phase in self.phases.values():
            total = total + phase.usage
        return total

    @property
    def delivered(self) -> int:
        return sum(self.sent.values())

    @property
    def overhead(self) -> int:
        total = self.total
        return total.requests("dynamodb") + total.requests("sqs")

    def per_delivery(self, n: float) -> float:
        return n / self.delivered if self.delivered else math.nan


def add_counts(a: CallCounts, b: CallCounts) -> CallCounts:
    return CallCounts(
        calls=a.calls + b.calls,
        attempts=a.attempts + b.attempts,
        errors=a.errors + b.errors,
        items_read=a.items_read + b.items_read,
        items_scanned=a.items_scanned + b.items_scanned,
        bytes_read=a.bytes_read + b.bytes_read,
        items_written=a.items_written + b.items_written,
    )
