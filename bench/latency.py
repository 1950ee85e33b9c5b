"""End-to-end latency on the local stack: event accepted -> first message in the outbox.

    .venv/bin/python -m bench.latency [--events 60] [--poll-ms 5] [--demo]

Starts ``python -m vigil_local`` as a subprocess on free ports, as ``tests/e2e/conftest.py``
does (its helpers are reused), with the ticker slowed to once an hour so no escalation step runs
during the measurement, and without the demo subscribers unless ``--demo`` (then each event also
goes to the demo's statewide offices). One subscriber is created through the API (email only,
statewide, rollouts), its address confirmed through the outbox link as ``vigil_local.demo``
does. Then, one at a time (a few uncounted warm-up events first), each event is POSTed and
``GET /dev/outbox?to=<address>`` is polled every ``--poll-ms`` until its email (found by the
event's unique title in the subject) is there. The stack runs exactly as ``make run`` does (moto
unpatched) unless ``--fast-moto``.

Reported, over the events: the POST's round trip, accepted (202 received) -> email observed in the
outbox, and accepted -> the email's ``sent_at`` (the time the local stack noted after SES returned,
same clock; free of the polling interval). The notice's log (``GET /notices/{id}/log``) splits the
path: created -> routed (the route handler's start) -> delivered (the send handler's start) ->
``sent_at``.

The queue pump long-polls each queue (``WaitTimeSeconds=1``); moto's ReceiveMessage wakes as soon as
a message is sent to a queue it waits on, so the long poll adds no waiting of its own (in AWS the
event source mapping long-polls too). What it does add is one HTTP round trip to moto per hop.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import machine, table
from tests.e2e.conftest import RunningStack, StackNotReady, launched_stack

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EVENTS = 60
WARM_UP_EVENTS = 3
DEFAULT_POLL_MS = 5.0
EVENT_TIMEOUT_SECONDS = 60.0
PROBE_ADDRESS = "latency.probe@bench.example.gov"


class StackFailed(RuntimeError):
    """The local stack did not start, or answered something unexpected."""


_FAST_MOTO_MAIN = "from bench.latency import serve_with_fast_moto; raise SystemExit(serve_with_fast_moto())"


def serve_with_fast_moto() -> int:
    """``python -m vigil_local``, with the moto speed-ups of ``bench.emulator_patches`` installed first.

    moto 5.2's TransactWriteItems deep-copies the whole table once per item of the transaction:
    with the deliveries of a few hundred notices in the table, routing one notice to 50 people
    (50 items) takes seconds, and the local stack's throughput measures that copying, not Vigil.
    """
    from bench.emulator_patches import (  # noqa: PLC0415  # only in the stack's process
        moto_dynamodb_reads_as_plain_json,
        moto_transactions_undo_touched_items,
    )
    from vigil_local.__main__ import main  # noqa: PLC0415  # reads its settings when called

    with moto_transactions_undo_touched_items(), moto_dynamodb_reads_as_plain_json():
        return main()


@dataclass(frozen=True)
class Handle:
    """A running local stack, and where its moto listens (for queue depths)."""

    stack: RunningStack
    moto_url: str


@contextlib.contextmanager
def local_stack(
    *, demo: bool = False, tick_seconds: float = 3600.0, fast_moto: bool = True
) -> Iterator[Handle]:
    """``python -m vigil_local`` in its own process on free ports; stopped (SIGTERM) on exit.

    With ``fast_moto`` the process is started through ``serve_with_fast_moto`` instead, which
    installs ``bench.emulator_patches``' moto speed-ups (same behaviour, no whole-table copies per
    transaction item) in the stack's own process before running the same ``main()``.
    """
    env = {
        "VIGIL_DEMO": "1" if demo else "0",
        "VIGIL_TICK_SECONDS": str(tick_seconds),
        # The stack logs every delivery at INFO; writing that file would be what is measured.
        "VIGIL_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", _FAST_MOTO_MAIN] if fast_moto else [sys.executable, "-m", "vigil_local"]
    with tempfile.TemporaryDirectory(prefix="vigil-bench-stack-") as tmp:
        try:
            with launched_stack(Path(tmp) / "output.log", env=env, command=command) as stack:
                yield Handle(stack, stack.moto_url)
        except StackNotReady as exc:
            raise StackFailed(str(exc)) from None


def outbox_for(stack: RunningStack, address: str) -> dict[str, Any]:
    answer = stack.call("GET", f"/dev/outbox?{urllib.parse.urlencode({'to': address})}", key=None)
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise StackFailed(f"GET /dev/outbox answered {answer.status}: {answer.body!r}")
    return answer.body


def create_subscriber(stack: RunningStack, body: dict[str, Any]) -> dict[str, Any]:
    """POST /subscribers, then confirm each email as its owner would: the link in the outbox."""
    answer = stack.call("POST", "/subscribers", body)
    if answer.status != 201 or not isinstance(answer.body, dict):
        raise StackFailed(f"POST /subscribers answered {answer.status}: {answer.body!r}")
    for channel in answer.body.get("channels", []):
        if channel.get("type") != "email" or channel.get("state") != "unverified":
            continue
        address = str(channel["address"])
        links = [
            e["text"].split("/verify/")[1].split()[0]
            for e in outbox_for(stack, address)["emails"]
            if "/verify/" in e["text"]
        ]
        if not links:
            raise StackFailed(f"no confirmation email reached {address}")
        confirmed = stack.call(
            "POST",
            f"/verify/{links[-1]}",
            key=None,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if confirmed.status != 200:
            raise StackFailed(f"confirming {address} answered {confirmed.status}")
    return answer.body


def rollout(external_id: str, title: str, jurisdiction: str = "statewide") -> dict[str, Any]:
    return {
        "type": "rollout",
        "external_id": external_id,
        "program": "secure-communities",
        "jurisdiction": jurisdiction,
        "effective_at": "2026-12-02T00:00:00-05:00",
        "title": title,
        "summary": "Benchmark event: Secure Communities activates (no real program change)",
        "source": {"agency": "ICE", "channel": "email"},
    }


# --- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    notice_id: str
    title: str
    accepted_wall: datetime
    post_ms: float
    observed_ms: float  # accepted -> seen in the outbox
    polls: int
    sent_ms: float | None = None  # accepted -> sent_at
    created_to_routed_ms: float | None = None
    routed_to_delivering_ms: float | None = None
    delivering_to_sent_ms: float | None = None


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def measure_one(stack: RunningStack, run: str, n: int, *, poll_seconds: float) -> Sample:
    title = f"Latency probe {run}-{n:03d}"
    started = time.perf_counter()
    answer = stack.call("POST", "/events", rollout(f"bench-latency-{run}-{n}", title))
    accepted = time.perf_counter()
    accepted_wall = datetime.now(UTC)
    if answer.status != 202 or not isinstance(answer.body, dict):
        raise StackFailed(f"POST /events answered {answer.status}: {answer.body!r}")
    deadline = accepted + EVENT_TIMEOUT_SECONDS
    polls = 0
    while True:
        polls += 1
        emails = [e for e in outbox_for(stack, PROBE_ADDRESS)["emails"] if title in e["subject"]]
        if emails:
            seen = time.perf_counter()
            break
        if time.perf_counter() > deadline:
            raise StackFailed(f"no email for {title} after {EVENT_TIMEOUT_SECONDS:g} s")
        time.sleep(poll_seconds)
    return Sample(
        notice_id=str(answer.body["notice_id"]),
        title=title,
        accepted_wall=accepted_wall,
        post_ms=(accepted - started) * 1000,
        observed_ms=(seen - accepted) * 1000,
        polls=polls,
    )


def with_log(stack: RunningStack, sample: Sample, address: str) -> Sample:
    """Split the path with the notice's log entries and the email's sent_at.

    Read after the fact: the outbox can show an email (moto has it) a moment before the local
    stack has noted its sent_at (after SES answered).
    """
    log = stack.call("GET", f"/notices/{sample.notice_id}/log")
    entries = log.body.get("entries", []) if log.status == 200 and isinstance(log.body, dict) else []
    at = {e["kind"]: _at(e.get("at")) for e in reversed(entries)}
    emails = [e for e in outbox_for(stack, address)["emails"] if sample.title in e["subject"]]
    sent = _at(emails[0].get("sent_at")) if emails else None
    created, routed, delivering = at.get("created"), at.get("routed"), at.get("delivered")

    def ms(a: datetime | None, b: datetime | None) -> float | None:
        return (b - a).total_seconds() * 1000 if a and b else None

    return dataclasses.replace(
        sample,
        sent_ms=ms(sample.accepted_wall, sent),
        created_to_routed_ms=ms(created, routed),
        routed_to_delivering_ms=ms(routed, delivering),
        delivering_to_sent_ms=ms(delivering, sent),
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: with 60 values, p99 is the largest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def stats_row(label: str, values: Sequence[float]) -> list[str]:
    if not values:
        return [label, "0", "-", "-", "-", "-", "-"]
    return [
        label,
        str(len(values)),
        f"{percentile(values, 50):,.1f}",
        f"{percentile(values, 90):,.1f}",
        f"{percentile(values, 99):,.1f}",
        f"{max(values):,.1f}",
        f"{statistics.fmean(values):,.1f}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help=f"default {DEFAULT_EVENTS}")
    parser.add_argument("--poll-ms", type=float, default=DEFAULT_POLL_MS, help=f"default {DEFAULT_POLL_MS:g}")
    parser.add_argument("--demo", action="store_true", help="seed the demo subscribers too")
    parser.add_argument(
        "--fast-moto",
        action="store_true",
        help="install the moto speed-ups of bench.emulator_patches in the stack (off by default: the tables "
        "stay small here, so the stack runs exactly as `make run` does)",
    )
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be positive")
    print(f"Latency benchmark: {machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    started = time.perf_counter()
    run = datetime.now(UTC).strftime("%H%M%S")
    with local_stack(demo=args.demo, fast_moto=args.fast_moto) as handle:
        stack = handle.stack
        print(f"local stack ready in {time.perf_counter() - started:.1f} s at {stack.api_url}", flush=True)
        create_subscriber(
            stack,
            {
                "name": "Latency probe office",
                "role": "state-executive",
                "organization": "Benchmark",
                "channels": [{"type": "email", "address": PROBE_ADDRESS}],
                "subscriptions": [{"jurisdiction": "statewide", "event_types": ["rollout"]}],
            },
        )
        poll = args.poll_ms / 1000
        for n in range(WARM_UP_EVENTS):
            measure_one(stack, f"{run}w", n, poll_seconds=poll)
        measured = [measure_one(stack, run, n, poll_seconds=poll) for n in range(args.events)]
        samples = [with_log(stack, s, PROBE_ADDRESS) for s in measured]
        outbox_ms = []
        for _ in range(20):
            t = time.perf_counter()
            outbox_for(stack, PROBE_ADDRESS)
            outbox_ms.append((time.perf_counter() - t) * 1000)
    print()
    print(f"{args.events} events, one at a time, to 1 subscriber (email); ms")
    print()
    rows = [
        stats_row("POST /events round trip", [s.post_ms for s in samples]),
        stats_row("accepted -> email seen in /dev/outbox", [s.observed_ms for s in samples]),
        stats_row(
            "accepted -> email sent_at (no polling)", [s.sent_ms for s in samples if s.sent_ms is not None]
        ),
        stats_row(
            "  created -> routed (log)",
            [s.created_to_routed_ms for s in samples if s.created_to_routed_ms is not None],
        ),
        stats_row(
            "  routed -> send handler start (log)",
            [s.routed_to_delivering_ms for s in samples if s.routed_to_delivering_ms is not None],
        ),
        stats_row(
            "  send handler start -> sent_at",
            [s.delivering_to_sent_ms for s in samples if s.delivering_to_sent_ms is not None],
        ),
        stats_row("GET /dev/outbox?to= (one poll)", outbox_ms),
    ]
    print(
        table(
            ["measure", "n", "p50", "p90", "p99", "max", "mean"],
            rows,
            right=[False, True, True, True, True, True, True],
        )
    )
    print()
    print(
        f"polled every {args.poll_ms:g} ms (median {statistics.median(s.polls for s in samples):.0f} polls "
        f"per event); percentiles are nearest-rank (p99 of {args.events} is the "
        f"{int(percentile(range(1, args.events + 1), 99))}th value)"
    )
    print(f"total runtime {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
