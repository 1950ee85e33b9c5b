"""Load on the local stack: many events to many subscribers, every email exactly once.

    .venv/bin/python -m bench.load [--events 200] [--subscribers 50] [--workers 8] [--timeout 1200]

Starts ``python -m vigil_local`` as a subprocess on free ports (``bench.latency.local_stack``,
built on ``tests/e2e/conftest.py``'s helpers), without the demo subscribers and with the ticker
slowed to once an hour, so the only email is what the events send (no escalation step falls due
during the run). Then:

1. creates the subscribers through ``POST /subscribers`` (unique example.gov addresses, email only,
   statewide, rollouts; a fifth of them ``state-executive`` so no notice is a low-key one) and
   confirms each address through the link in the outbox, as ``vigil_local.demo`` does;
2. submits the events from a small thread pool (each a statewide rollout with a unique
   ``external_id`` and title; a POST that fails is retried with the same key, which the service
   must treat as the same event);
3. waits until the route, send and dead-letter queues are empty (asked of the stack's moto directly)
   and the outbox count stops changing;
4. reads the outbox once and checks that every (event, subscriber) email is there exactly once.

Reports lost and duplicated emails, anything dead-lettered, throughput (events accepted per second,
emails sent per second) and wall time; per-event latency under load (accepted -> first and last of
its emails' ``sent_at``). Exits 1 if anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from bench.common import machine, table
from bench.latency import Handle, StackFailed, create_subscriber, local_stack, percentile, rollout
from vigil_local.runner import FAKE_CREDENTIAL

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

DEFAULT_EVENTS = 200
DEFAULT_SUBSCRIBERS = 50
DEFAULT_WORKERS = 8
DEFAULT_TIMEOUT = 1200.0
POST_ATTEMPTS = 3
QUIET_SECONDS = 3.0
ROLES = ("state-executive", "local-official", "law-enforcement", "advocate", "legal")


@dataclass(frozen=True, slots=True)
class Submitted:
    n: int
    notice_id: str | None
    started: float
    accepted: float | None
    accepted_wall: datetime | None
    attempts: int
    duplicate_answers: int
    error: str | None = None


def address(run: str, n: int) -> str:
    return f"load{n:02d}.{run}@office{n:02d}.example.gov"


def title(run: str, n: int) -> str:
    return f"Load {run} #{n:04d}"


def submit(handle: Handle, run: str, n: int) -> Submitted:
    started = time.perf_counter()
    duplicates = 0
    error = None
    for attempt in range(1, POST_ATTEMPTS + 1):
        try:
            answer = handle.stack.call("POST", "/events", rollout(f"bench-load-{run}-{n}", title(run, n)))
        except OSError as exc:  # a timeout or reset: the same key again is safe
            error = f"{type(exc).__name__}: {exc}"
            continue
        if answer.status == 202 and isinstance(answer.body, dict):
            duplicates += bool(answer.body.get("duplicate"))
            return Submitted(
                n,
                str(answer.body["notice_id"]),
                started,
                time.perf_counter(),
                datetime.now(UTC),
                attempt,
                duplicates,
            )
        error = f"HTTP {answer.status}: {str(answer.body)[:200]}"
        if answer.status < 500:
            break
    return Submitted(n, None, started, None, None, POST_ATTEMPTS, duplicates, error)


def sqs_client(moto_url: str) -> SQSClient:
    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIAL, aws_secret_access_key=FAKE_CREDENTIAL, region_name="us-east-1"
    )
    client: SQSClient = session.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    return client


def depths(sqs: SQSClient) -> dict[str, int]:
    out = {}
    for name in ("route", "send", "route-dlq", "send-dlq"):
        url = sqs.get_queue_url(QueueName=f"vigil-local-{name}")["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        out[name] = int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )
    return out


def outbox_emails(handle: Handle) -> list[dict[str, Any]]:
    answer = handle.stack.call("GET", "/dev/outbox", key=None)
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise StackFailed(f"GET /dev/outbox answered {answer.status}")
    emails: list[dict[str, Any]] = answer.body["emails"]
    return emails


def wait_until_quiet(handle: Handle, *, expected: int, timeout: float) -> tuple[dict[str, int], bool]:
    """Queues empty, then the outbox count unchanged over QUIET_SECONDS; False on timeout."""
    sqs = sqs_client(handle.moto_url)
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while time.monotonic() < deadline:
        now = depths(sqs)
        if time.monotonic() - last_report > 15:
            print(f"    queues {now}", flush=True)
            last_report = time.monotonic()
        if now["route"] == 0 and now["send"] == 0:
            before = len(outbox_emails(handle))
            time.sleep(QUIET_SECONDS)
            after = len(outbox_emails(handle))
            if before == after and depths(sqs)["send"] == 0:
                return depths(sqs), True
            if after >= expected:
                continue
        time.sleep(1.0)
    return depths(sqs), False


@dataclass(frozen=True)
class Check:
    expected: int
    delivered: int
    lost: list[tuple[int, str]]
    duplicated: dict[tuple[int, str], int]
    unexpected: int
    first_sent: dict[int, datetime]
    last_sent: dict[int, datetime]


def check(
    emails: Sequence[dict[str, Any]], run: str, events: Sequence[Submitted], addresses: Sequence[str]
) -> Check:
    by_title = {title(run, s.n): s.n for s in events}
    marker = f"Load {run} #"
    counts: Counter[tuple[int, str]] = Counter()
    first: dict[int, datetime] = {}
    last: dict[int, datetime] = {}
    unexpected = 0
    wanted = set(addresses)
    for email in emails:
        subject = str(email.get("subject", ""))
        if marker not in subject:
            continue
        n = next((i for t, i in by_title.items() if subject.endswith(t)), None)
        for to in email.get("to", []):
            if n is None or to not in wanted:
                unexpected += 1
                continue
            counts[(n, to)] += 1
            sent = datetime.fromisoformat(email["sent_at"]) if email.get("sent_at") else None
            if sent is not None:
                first[n] = min(first.get(n, sent), sent)
                last[n] = max(last.get(n, sent), sent)
    expected = [(s.n, a) for s in events if s.notice_id for a in addresses]
    return Check(
        expected=len(expected),
        delivered=sum(counts.values()),
        lost=[k for k in expected if counts[k] == 0],
        duplicated={k: c for k, c in counts.items() if c > 1},
        unexpected=unexpected,
        first_sent=first,
        last_sent=last,
    )


def create_subscribers(handle: Handle, addresses: Sequence[str]) -> float:
    started = time.perf_counter()
    for n, to in enumerate(addresses):
        create_subscriber(
            handle.stack,
            {
                "name": f"Load office {n:02d}",
                "role": ROLES[n % len(ROLES)],
                "organization": f"Benchmark organization {n:02d}",
                "channels": [{"type": "email", "address": to}],
                "subscriptions": [{"jurisdiction": "statewide", "event_types": ["rollout"]}],
            },
        )
    return time.perf_counter() - started


def submit_all(handle: Handle, run: str, events: int, workers: int) -> list[Submitted]:
    lock = threading.Lock()
    done = 0

    def one(n: int) -> Submitted:
        nonlocal done
        result = submit(handle, run, n)
        with lock:
            done += 1
            if done % 50 == 0:
                print(f"    {done} events submitted", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-post") as pool:
        return list(pool.map(one, range(events)))


@dataclass(frozen=True)
class Run:
    events: int
    subscribers: int
    workers: int
    submitted: list[Submitted]
    submitted_seconds: float
    drained_seconds: float
    setup_seconds: float
    wall_seconds: float
    depths: dict[str, int]
    quiet: bool
    check: Check
    first_post: datetime

    @property
    def accepted(self) -> list[Submitted]:
        return [s for s in self.submitted if s.notice_id]

    @property
    def refused(self) -> list[Submitted]:
        return [s for s in self.submitted if not s.notice_id]

    @property
    def failed(self) -> bool:
        return bool(self.check.lost or self.check.duplicated or self.refused or not self.quiet)


def summary_rows(r: Run) -> list[list[str]]:
    c = r.check
    sent_times = [*c.first_sent.values(), *c.last_sent.values()]
    send_span = (max(sent_times) - min(sent_times)).total_seconds() if sent_times else 0.0
    to_last = (max(sent_times) - r.first_post).total_seconds() if sent_times else 0.0
    refused = r.refused
    return [
        ["events accepted (202)", f"{len(r.accepted):,} of {r.events:,}"],
        ["events refused after retries", f"{len(refused)}" + (f" ({refused[0].error})" if refused else "")],
        ["POSTs retried (same key)", str(sum(1 for s in r.submitted if s.attempts > 1))],
        ["emails expected", f"{c.expected:,}"],
        ["emails delivered (matching)", f"{c.delivered:,}"],
        ["lost", f"{len(c.lost):,}"],
        ["duplicated (event, subscriber) pairs", f"{len(c.duplicated):,}"],
        ["unexpected emails (marker, wrong address)", f"{c.unexpected:,}"],
        ["dead-lettered (route-dlq / send-dlq)", f"{r.depths['route-dlq']} / {r.depths['send-dlq']}"],
        ["queues drained and outbox quiet", "yes" if r.quiet else "NO (timed out)"],
        ["submission time", f"{r.submitted_seconds:.1f} s"],
        ["events accepted per second", f"{len(r.accepted) / r.submitted_seconds:.1f}"],
        ["first POST -> last email sent", f"{to_last:.1f} s"],
        [
            "emails sent per second (first to last sent_at)",
            f"{c.delivered / send_span:.1f}" if send_span else "-",
        ],
        ["emails per second, first POST -> last sent", f"{c.delivered / to_last:.1f}" if to_last else "-"],
        [f"first POST -> queues empty, outbox quiet {QUIET_SECONDS:g} s", f"{r.drained_seconds:.1f} s"],
        ["subscriber set-up (create + confirm)", f"{r.setup_seconds:.1f} s"],
        ["wall time, stack start to stop", f"{r.wall_seconds:.1f} s"],
    ]


def latency_rows(r: Run) -> list[list[str]]:
    c = r.check
    accepted = r.accepted
    series = (
        (
            "POST /events round trip under load",
            [((s.accepted or s.started) - s.started) * 1000 for s in accepted],
        ),
        (
            "accepted -> first email sent_at",
            [
                (c.first_sent[s.n] - s.accepted_wall).total_seconds() * 1000
                for s in accepted
                if s.accepted_wall and s.n in c.first_sent
            ],
        ),
        (
            "accepted -> last email sent_at",
            [
                (c.last_sent[s.n] - s.accepted_wall).total_seconds() * 1000
                for s in accepted
                if s.accepted_wall and s.n in c.last_sent
            ],
        ),
    )
    return [
        [
            label,
            f"{percentile(values, 50):,.0f}",
            f"{percentile(values, 90):,.0f}",
            f"{percentile(values, 99):,.0f}",
            f"{max(values):,.0f}",
            f"{statistics.fmean(values):,.0f}",
        ]
        for label, values in series
        if values
    ]


def execute(events: int, subscribers: int, workers: int, timeout: float, *, fast_moto: bool) -> Run:
    began = time.perf_counter()
    run = datetime.now(UTC).strftime("%H%M%S")
    addresses = [address(run, n) for n in range(subscribers)]
    with local_stack(fast_moto=fast_moto) as handle:
        print(f"  local stack ready in {time.perf_counter() - began:.1f} s", flush=True)
        setup_seconds = create_subscribers(handle, addresses)
        print(f"  {subscribers} subscribers created and confirmed in {setup_seconds:.1f} s", flush=True)
        submitting = time.perf_counter()
        first_post = datetime.now(UTC)
        submitted = submit_all(handle, run, events, workers)
        submitted_seconds = time.perf_counter() - submitting
        accepted = sum(1 for s in submitted if s.notice_id)
        print(f"  {accepted} of {events} events accepted in {submitted_seconds:.1f} s", flush=True)
        left = max(0.0, timeout - (time.perf_counter() - submitting))
        final_depths, quiet = wait_until_quiet(handle, expected=accepted * subscribers, timeout=left)
        drained_seconds = time.perf_counter() - submitting
        emails = outbox_emails(handle)
    print(f"  run {run} done", flush=True)
    return Run(
        events=events,
        subscribers=subscribers,
        workers=workers,
        submitted=submitted,
        submitted_seconds=submitted_seconds,
        drained_seconds=drained_seconds,
        setup_seconds=setup_seconds,
        wall_seconds=time.perf_counter() - began,
        depths=final_depths,
        quiet=quiet,
        check=check(emails, run, submitted, addresses),
        first_post=first_post,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help=f"default {DEFAULT_EVENTS}")
    parser.add_argument(
        "--subscribers", type=int, default=DEFAULT_SUBSCRIBERS, help=f"default {DEFAULT_SUBSCRIBERS}"
    )
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help=f"default {DEFAULT_WORKERS}")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for the queues to drain (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--faithful-moto",
        action="store_true",
        help="run the stack's moto unpatched: its TransactWriteItems copies the deliveries table once "
        "per item, so the run measures that (a few notices a second at best) and takes very long",
    )
    args = parser.parse_args(argv)
    if min(args.events, args.subscribers, args.workers) < 1:
        parser.error("--events, --subscribers and --workers must be positive")
    print(f"Load benchmark: {machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    r = execute(args.events, args.subscribers, args.workers, args.timeout, fast_moto=not args.faithful_moto)
    print()
    print(f"{r.events} events x {r.subscribers} subscribers, {r.workers} submitting threads")
    print()
    print(table(["measure", "value"], summary_rows(r), right=[False, True]))
    print()
    print(
        table(
            ["per event, ms", "p50", "p90", "p99", "max", "mean"], latency_rows(r), right=[False, *[True] * 5]
        )
    )
    if r.check.lost:
        print(f"\nfirst lost: {r.check.lost[:5]}")
    if r.check.duplicated:
        print(f"\nfirst duplicated: {list(r.check.duplicated.items())[:5]}")
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"total runtime {r.wall_seconds:.0f} s")
    return 1 if r.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
