"""The command: ``python -m bench.delivery`` (the package's docstring describes the run)."""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Sequence

import bench.delivery
from bench.common import fake_credentials, machine, parse_sizes
from bench.delivery.measure import run_scenario
from bench.delivery.report import report
from bench.delivery.scenario import SMS_SHARE, WEBHOOK_SHARE, Scenario
from bench.delivery.webhooks import Receiver
from bench.emulator_patches import faster_moto
from chalicelib import logs

DEFAULT_SIZES = (10, 100, 1_000, 10_000)
DEFAULT_MIXED = 1_000
DEFAULT_SEED = 20120222


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=_description())
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=DEFAULT_SIZES,
        help="comma-separated subscriber counts, email only (default: 10,100,1000,10000)",
    )
    parser.add_argument(
        "--mixed",
        type=int,
        default=DEFAULT_MIXED,
        help=f"subscribers of the email+SMS+webhook variant; 0 skips it (default {DEFAULT_MIXED})",
    )
    parser.add_argument(
        "--on-towns",
        type=parse_sizes,
        default=(),
        help="also these counts of email subscribers spread over the 169 towns instead of statewide: "
        "the statewide rollout reaches them through the index's inside rows (default: none)",
    )
    parser.add_argument(
        "--send-workers",
        type=int,
        default=0,
        help="also run the email scenario of 1,000 with this many concurrent send pollers "
        "(Lambda's concurrency: shows ack-log contention); 0 skips it (default)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}")
    parser.add_argument(
        "--faithful-moto",
        action="store_true",
        help="leave moto's TransactWriteItems copying the table once per item and its read responses "
        "serialized shape by shape (much slower; the same counts)",
    )
    args = parser.parse_args(argv)
    fake_credentials()
    importlib.import_module("app")  # it configures logging when imported: import it first, then quiet it
    logs.configure(level="WARNING", json=False)  # every delivery logs at INFO
    scenarios = [Scenario(f"{n:,} email", n, mixed=False) for n in args.sizes]
    if args.mixed:
        scenarios.append(Scenario(f"{args.mixed:,} mixed", args.mixed, mixed=True))
    scenarios += [Scenario(f"{n:,} email on towns", n, mixed=False, on_towns=True) for n in args.on_towns]
    if args.send_workers > 1:
        scenarios.append(
            Scenario(f"1,000 email, {args.send_workers} senders", 1_000, False, args.send_workers)
        )
    print(f"Delivery benchmark: {machine()}")
    print(
        f"scenarios: {', '.join(s.label for s in scenarios)}; seed {args.seed}; mixed: every subscriber "
        f"email, {SMS_SHARE:.0%} also SMS, {WEBHOOK_SHARE:.0%} also a webhook",
        flush=True,
    )
    started = time.perf_counter()
    results = []
    with Receiver() as receiver:
        for scenario in scenarios:
            fast = not args.faithful_moto
            with faster_moto(transactions=fast, reads=fast):
                result = run_scenario(scenario, seed=args.seed, receiver=receiver)
            results.append(result)
            status = "ok" if not result.problems else "PROBLEMS: " + "; ".join(result.problems)
            print(f"  {scenario.label}: {result.wall_seconds:.1f} s, {status}", flush=True)
    report(results, total=time.perf_counter() - started)
    failed = [r for r in results if r.problems]
    return 1 if failed else 0


def _description() -> str | None:
    """The first paragraph of the package's docstring."""
    return bench.delivery.__doc__.split("\n\n")[0] if bench.delivery.__doc__ else None


if __name__ == "__main__":
    raise SystemExit(main())
