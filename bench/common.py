"""What every benchmark shares: the machine it ran on, Markdown tables, credentials that can reach
no real account, and the ``--sizes`` option's parsing."""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Sequence

import boto3
import botocore
import moto

REGION = "us-east-1"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[bool]) -> str:
    """A Markdown table, padded so that it also reads in a terminal."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        ("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right, strict=True)
    )
    return "\n".join([line(headers), rule + "|", *(line(r) for r in rows)])


def parse_sizes(text: str) -> tuple[int, ...]:
    """An option's comma-separated positive counts (``1000,10_000``), sorted, each once; "" is none."""
    try:
        counts = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}") from None
    if any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError("sizes must be positive")
    return tuple(sorted(set(counts)))


def machine() -> str:
    """CPU, CPUs, memory, Python and library versions, and the load average (the machine is shared)."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{_proc_field('/proc/cpuinfo', 'model name') or platform.processor() or 'unknown CPU'}, "
        f"nproc {len(os.sched_getaffinity(0))}, {_memory()} memory, "
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"moto {moto.__version__}, boto3 {boto3.__version__}, botocore {botocore.__version__}; "
        f"load average {load}"
    )


def _memory() -> str:
    total = _proc_field("/proc/meminfo", "MemTotal")
    return f"{int(total.split()[0]) / 1024 / 1024:.1f} GiB" if total else "unknown"


def _proc_field(path: str, name: str) -> str | None:
    """The first ``name: value`` line of a /proc file (Linux only; None elsewhere)."""
    try:
        with open(path, encoding="ascii", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        return None
    return None


def fake_credentials() -> None:
    """mock_aws intercepts every call, but make sure nothing could reach a real account anyway."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SECURITY_TOKEN": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }
    )
