"""The tables the delivery benchmark prints."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from bench.common import table
from bench.counting import CallCounts
from bench.delivery.cost import cost
from bench.delivery.results import Result
from bench.delivery.scenario import STAGE

TARGET = 0.12  # the target: overhead requests per delivery at 1,000 recipients and more
TARGET_FROM = 1_000
COST_TARGET = 0.02  # the target: AWS overhead as a share of the messages' own price


def _short(resource: str) -> str:
    return resource.replace(f"vigil-{STAGE}-", "")


def summary_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        t = r.total
        per = r.per_delivery(r.overhead)
        target = "-" if r.scenario.subscribers < TARGET_FROM else ("met" if per <= TARGET else "NOT met")
        rows.append(
            [
                r.scenario.label,
                f"{r.delivered:,}",
                f"{r.provider['SendEmail']:,} / {r.provider['Publish']:,} / {r.provider['POST']:,}",
                f"{t.requests('dynamodb'):,}",
                f"{t.requests('sqs'):,}",
                f"{r.overhead:,}",
                f"{per:.3f}",
                target,
                f"{r.esm.requests('sqs', 'ReceiveMessage')} / {r.esm.requests('sqs', 'DeleteMessageBatch')}",
                f"{len(r.send_invocations)}",
                f"{r.wall_seconds:,.1f}",
            ]
        )
    return table(
        [
            "scenario",
            "deliveries sent",
            "SES / SNS / webhook sends",
            "DynamoDB req",
            "SQS req",
            "overhead req",
            "per delivery",
            "≤ 0.12?",
            "ESM Receive / DeleteBatch (excluded)",
            "send invocations",
            "wall s",
        ],
        rows,
        right=[False, True, True, True, True, True, True, False, True, True, True],
    )


def phase_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        for name, phase in r.phases.items():
            c = phase.counts
            rows.append(
                [
                    r.scenario.label,
                    name,
                    _ops(c, "dynamodb"),
                    _ops(c, "sqs"),
                    f"{c.requests('dynamodb') + c.requests('sqs'):,}",
                    f"{r.per_delivery(c.requests('dynamodb') + c.requests('sqs')):.4f}",
                    f"{phase.seconds:,.2f}",
                ]
            )
    return table(
        ["scenario", "phase", "DynamoDB", "SQS", "overhead", "per delivery", "s (moto)"],
        rows,
        right=[False, False, False, False, True, True, True],
    )


def _ops(counts: CallCounts, service: str) -> str:
    return ", ".join(f"{op} {n:,}" for op, n in counts.by_operation(service).items()) or "-"


def operation_table(result: Result) -> str:
    usage = result.usage
    total = result.overhead
    rows = []
    keys = [k for k in usage.calls if k[0] in {"dynamodb", "sqs"}]
    for key in sorted(keys, key=lambda k: -usage.calls[k]):
        svc, op, resource = key
        n = usage.calls[key]
        per_phase = "/".join(str(p.usage.calls.get(key, 0)) for p in result.phases.values())
        rows.append(
            [
                f"{svc} {op}",
                _short(resource),
                f"{n:,}",
                per_phase,
                f"{result.per_delivery(n):.4f}",
                f"{n / total:.0%}",
                f"{usage.wru.get(key, 0):,.0f}",
                f"{usage.rru.get(key, 0):,.1f}",
                str(usage.errors.get(key, 0)),
            ]
        )
    return table(
        [
            "operation",
            "table / queue",
            "requests",
            "ingest/route/deliver",
            "per delivery",
            "share",
            "WRU",
            "RRU",
            "errors",
        ],
        rows,
        right=[False, False, True, True, True, True, True, True, True],
    )


def cost_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        c = cost(r)
        k = 1000 / r.delivered if r.delivered else math.nan
        usage = r.usage
        rows.append(
            [
                r.scenario.label,
                f"{r.per_delivery(usage.total(usage.wru)):.2f}",
                f"{r.per_delivery(usage.total(usage.rru)):.2f}",
                f"${c.dynamodb * k:.6f}",
                f"${c.sqs_vigil * k:.6f} + ${c.sqs_esm * k:.6f}",
                f"${c.lambda_ * k:.6f}",
                f"${c.overhead * k:.6f}",
                f"${c.messages * k:.4f}",
                f"{c.overhead / c.messages:.1%}" if c.messages else "-",
                _cost_verdict(r, c.overhead / c.messages if c.messages else math.nan),
                f"{c.lambda_seconds / max(1, len(r.send_invocations)):.1f}",
            ]
        )
    return table(
        [
            "scenario",
            "WRU/delivery",
            "RRU/delivery",
            "DynamoDB /1k",
            "SQS Vigil + ESM /1k",
            "Lambda /1k",
            "overhead /1k",
            "messages /1k (SES+SMS)",
            "overhead ÷ messages",
            "≤ 2%?",
            "est. s per send invocation",
        ],
        rows,
        right=[False, *[True] * 8, False, True],
    )


def _cost_verdict(r: Result, share: float) -> str:
    if r.scenario.subscribers < TARGET_FROM or math.isnan(share):
        return "-"
    return "met" if share <= COST_TARGET else "NOT met"


def timing_lines(results: Sequence[Result]) -> list[str]:
    lines = []
    for r in results:
        send = [i.seconds for i in r.send_invocations]
        median = statistics.median(send) if send else 0.0
        lines.append(
            f"- {r.scenario.label}: {len(r.route_invocations)} route + {len(r.send_invocations)} send "
            f"invocations ({sum(len(i.messages) for i in r.send_invocations)} send messages); "
            f"send invocation median {median * 1000:,.0f} ms in moto; subscribers loaded in "
            f"{r.load_seconds:.1f} s; scenario wall time {r.wall_seconds:.1f} s"
        )
    return lines


def report(results: Sequence[Result], *, total: float) -> None:
    print()
    print("Requests per delivery: provider sends vs Vigil's overhead (DynamoDB + SQS), one notice")
    print()
    print(summary_table(results))
    print()
    print("Overhead by phase")
    print()
    print(phase_table(results))
    for r in results:
        if r.scenario.subscribers >= TARGET_FROM:
            print()
            print(f"Overhead by operation and table: {r.scenario.label}")
            print()
            print(operation_table(r))
    print()
    print("Cost per 1,000 deliveries (us-east-1 list prices; model in docs/benchmarks.md)")
    print()
    print(cost_table(results))
    print()
    print("\n".join(timing_lines(results)))
    print(f"total runtime {total:.0f} s")
