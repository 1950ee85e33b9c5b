"""What the jurisdiction registry costs at cold start, and what its data files weigh.

    .venv/bin/python -m bench.jurisdictions [--runs 20]

Every figure comes from a fresh interpreter (``python -c``), as a Lambda container's first event
would meet it; the runs take turns with each other so a shared machine's drift touches them alike.

- ``import + load``: from a bare interpreter, ``import chalicelib.data`` (which imports the
  registry's module) and ``load_registry()``: Connecticut's graph and every state's node, parsed and
  indexed. The budget is 30 ms.
- ``load after import app``: ``load_registry()`` alone once ``app`` is imported (app imports the
  module; the first request's ``bootstrap.build`` loads the registry): what the first request pays.
- ``first county of another state``: ``resolve("Harris County, Texas")`` after the load: Texas's
  file read and indexed.
- ``every state``: ``all()`` after the load: every state's file, what a bare name found nowhere
  else, or a typo, costs once per container.
- ``graph with 3,000 facilities``: ``with_facilities`` of a jail in each of 3,000 counties (about as
  many as the country's jails) and the first Texas lookup on it: what ``PlaceGraph`` pays once a
  minute per container (services/place_graph.py), the Scan of the table aside. ``… every state``:
  ``all()`` on that graph, the worst case of the same minute.

Each as median / p90 (nearest rank) of wall and CPU (``time.process_time``) milliseconds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.common import machine, table

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "chalicelib" / "data"

_TIMED = """
import json, sys, time
{before}
wall, cpu = time.perf_counter(), time.process_time()
{timed}
out = {{"wall": (time.perf_counter() - wall) * 1000, "cpu": (time.process_time() - cpu) * 1000}}
print(json.dumps(out))
"""

# A jail in each of the first 3,000 counties (the shipped graph loaded and every state read beforehand,
# as in a warm container whose graph ran out).
_FACILITIES = """
from chalicelib.data import load_registry
from chalicelib.domain.places import Jurisdiction, JurisdictionKind
r = load_registry()
counties = [n for n in r.all() if n.kind is JurisdictionKind.COUNTY][:3000]
jails = [
    Jurisdiction(c.id.replace("/county/", "/facility/") + "-jail", JurisdictionKind.FACILITY,
                 c.name + " Jail", None, (c.id,))
    for c in counties
]
"""

SUBJECTS: dict[str, tuple[str, str]] = {
    "import + load (bare interpreter)": ("", "import chalicelib.data\nchalicelib.data.load_registry()"),
    "load after import app": ("import app\nfrom chalicelib.data import load_registry", "load_registry()"),
    "first county of another state (Texas)": (
        "from chalicelib.data import load_registry\nr = load_registry()",
        "r.resolve('Harris County, Texas')",
    ),
    "every state (all())": ("from chalicelib.data import load_registry\nr = load_registry()", "r.all()"),
    "graph with 3,000 facilities, first Texas lookup": (
        _FACILITIES,
        "g = r.with_facilities(jails)\ng.resolve('Harris County Jail, TX')",
    ),
    "graph with 3,000 facilities, every state": (_FACILITIES, "r.with_facilities(jails).all()"),
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "PYTHON"))}
    return env | {
        "VIGIL_STAGE": "prod",
        "VIGIL_ACK_SECRET": "bench-only-link-signing-secret-0123456789",
        "AWS_LAMBDA_FUNCTION_NAME": "vigil-prod-api_handler",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def _once(before: str, timed: str) -> dict[str, float]:
    done = subprocess.run(  # noqa: S603  # our own interpreter timing our own modules
        [sys.executable, "-c", _TIMED.format(before=before, timed=timed)],
        cwd=REPO_ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _p90(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]


def sizes() -> list[list[str]]:
    main = DATA / "jurisdictions.json"
    states = sorted((DATA / "jurisdictions").glob("*.json"))
    largest = max(states, key=lambda p: p.stat().st_size)

    def row(label: str, paths: Sequence[Path]) -> list[str]:
        raw = sum(p.stat().st_size for p in paths)
        packed = sum(len(gzip.compress(p.read_bytes(), 9)) for p in paths)
        return [label, f"{len(paths)}", f"{raw / 1000:,.1f}", f"{packed / 1000:,.1f}"]

    return [
        row("jurisdictions.json (Connecticut, every state)", [main]),
        row("jurisdictions/<state>.json (every other state's counties)", states),
        row(f"the largest of them ({largest.name})", [largest]),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.jurisdictions", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=20, help="fresh interpreters per figure (default 20)")
    args = parser.parse_args(argv)
    print(f"Jurisdiction registry on {machine()}; {args.runs} runs each\n")
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in SUBJECTS}
    for _ in range(args.runs):
        for name, (before, timed) in SUBJECTS.items():
            samples[name].append(_once(before, timed))
    rows = []
    for name, runs in samples.items():
        wall, cpu = [r["wall"] for r in runs], [r["cpu"] for r in runs]
        rows.append(
            [
                name,
                f"{statistics.median(wall):.1f} / {_p90(wall):.1f}",
                f"{statistics.median(cpu):.1f} / {_p90(cpu):.1f}",
            ]
        )
    print(table(["", "wall ms (median / p90)", "CPU ms (median / p90)"], rows, right=[False, True, True]))
    print()
    print(table(["data file", "files", "kB", "kB gzipped"], sizes(), right=[False, True, True, True]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
