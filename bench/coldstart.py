"""Cold start: import time and memory of the Lambda entry point against boto3's, and the package size.

    .venv/bin/python -m bench.coldstart [--runs 10] [--no-package]

Each measurement is a fresh interpreter (``sys.executable``) that imports one module and reports:

- import time (``time.perf_counter`` around the import statement) and the process's peak resident
  memory (``ru_maxrss``, with ``VmHWM`` from /proc as a cross-check), in one run; the interpreter
  is started through /bin/sh, because Linux hands a child its parent's ``ru_maxrss``;
- the peak of Python allocations during the import (``tracemalloc``), in a separate run, because
  tracing slows the import it would be timing.

Modules: ``boto3`` alone (the Lambda runtime ships it), then ``app`` (Chalice's entry point; it
imports boto3 through ``chalicelib.bootstrap``), with ``VIGIL_STAGE=prod``, a dummy
``VIGIL_ACK_SECRET`` and ``AWS_LAMBDA_FUNCTION_NAME`` set as Lambda would (JSON logs). Two settings:

- "repo": from the working tree, bytecode cached in ``__pycache__`` (a warm disk, best case);
- "package": ``app`` from the unpacked ``deployment.zip`` that ``python -m infra.package`` builds,
  with ``PYTHONDONTWRITEBYTECODE=1``, because /var/task is read-only: whatever the zip does not
  carry compiled is compiled again on every Lambda cold start. The zip ships unchecked hash-based
  bytecode for the runtime's Python (``infra.package.ship_bytecode``); a separate ``python -v`` run
  counts the package's modules that were nevertheless compiled from source (it should be none).
  boto3 comes with its bytecode, as from the runtime.

The target (DESIGN, issue): ``import app`` under 1.3x ``import boto3``. Then
``python -X importtime -c "import app"`` says which imports dominate, and the package's ten largest
top-level entries say what the zip carries.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import machine, table

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3
DEFAULT_RUNS = 10
CHILD_TIMEOUT = 120
LAMBDA_ENV = {
    "VIGIL_STAGE": "prod",
    "VIGIL_ACK_SECRET": "coldstart-dummy-link-signing-secret-0123456789",
    "AWS_LAMBDA_FUNCTION_NAME": "vigil-prod-api_handler",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}

# The child: import one module, print what it cost as JSON on the last line.
_TIMED = """
import json, resource, sys, time
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
print(json.dumps({{"seconds": elapsed, "maxrss_kib": rss, "hwm_kib": hwm, "modules": len(sys.modules)}}))
"""
_TRACED = """
import json, tracemalloc
tracemalloc.start()
import {module}
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({{"peak_bytes": peak, "current_bytes": current}}))
"""
_BARE = """
import json, resource, sys
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"maxrss_kib": rss, "modules": len(sys.modules)}))
"""


@dataclass(frozen=True)
class Sample:
    seconds: list[float]
    maxrss_kib: list[int]
    hwm_kib: list[int]
    peak_bytes: list[int]
    modules: int


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "AWS_", "PYTHON"))}
    env.update(LAMBDA_ENV)
    env.update(extra)
    return env


# Linux carries a process's peak RSS (ru_maxrss) across fork and exec: a child started straight from
# this process would report this process's size. Through /bin/sh (not exec'd: a command follows)
# the interpreter is the child of a small process, so its ru_maxrss is its own.
_LAUNCH = ("/bin/sh", "-c", '"$0" "$@"; status=$?; exit $status')


def _child(code: str, *, cwd: Path, env: Mapping[str, str], flags: Sequence[str] = ()) -> dict[str, float]:
    done = subprocess.run(  # noqa: S603  # our own interpreter running our own snippet
        [*_LAUNCH, sys.executable, *flags, "-c", code],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(answer, dict)
    return answer


@dataclass(frozen=True)
class Target:
    label: str
    module: str
    cwd: Path
    env: Mapping[str, str]


def sample(targets: Sequence[Target], *, runs: int) -> dict[str, Sample]:
    """``runs`` fresh interpreters per target, taking the targets in turn (a shared machine's load
    drifts; interleaving spreads the drift over every target alike)."""
    seconds: dict[str, list[float]] = defaultdict(list)
    rss: dict[str, list[int]] = defaultdict(list)
    hwm: dict[str, list[int]] = defaultdict(list)
    peaks: dict[str, list[int]] = defaultdict(list)
    modules: dict[str, int] = {}
    for _ in range(runs):
        for t in targets:
            timed = _child(_TIMED.format(module=t.module), cwd=t.cwd, env=t.env)
            seconds[t.label].append(float(timed["seconds"]))
            rss[t.label].append(int(timed["maxrss_kib"]))
            hwm[t.label].append(int(timed["hwm_kib"]))
            modules[t.label] = int(timed["modules"])
    for _ in range(runs):
        for t in targets:
            traced = _child(_TRACED.format(module=t.module), cwd=t.cwd, env=t.env)
            peaks[t.label].append(int(traced["peak_bytes"]))
    return {
        t.label: Sample(seconds[t.label], rss[t.label], hwm[t.label], peaks[t.label], modules[t.label])
        for t in targets
    }


def p90(values: Sequence[float]) -> float:
    """Nearest-rank 90th percentile (the 9th of 10)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


# --- the deployment package ---------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    zip_bytes: int
    unzipped_bytes: int
    members: int
    pyc_members: int
    top: list[tuple[str, int, int, int]]  # name, uncompressed, compressed, files
    seconds: float


def build_package(out: Path) -> tuple[Path, float]:
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    subprocess.run(  # noqa: S603  # the project's own packaging step
        [sys.executable, "-m", "infra.package", "--stage", "prod", "--out", str(out)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=900,
    )
    return out / "deployment.zip", time.perf_counter() - started


def inspect_package(path: Path, seconds: float) -> Package:
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for info in infos:
        first = info.filename.split("/", 1)[0]
        name = first if "/" in info.filename else first.removesuffix(".py")
        if name.endswith((".dist-info", ".egg-info")):
            name = "(dist-info metadata)"
        groups[name][0] += info.file_size
        groups[name][1] += info.compress_size
        groups[name][2] += 1
    top = sorted(((n, s, c, f) for n, (s, c, f) in groups.items()), key=lambda row: -row[1])[:10]
    return Package(
        zip_bytes=path.stat().st_size,
        unzipped_bytes=sum(i.file_size for i in infos),
        members=len(infos),
        pyc_members=sum(1 for i in infos if i.filename.endswith(".pyc")),
        top=top,
        seconds=seconds,
    )


# --- -X importtime ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


def importtime(*, cwd: Path, env: Mapping[str, str]) -> list[ImportLine]:
    done = subprocess.run(  # our own interpreter
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=True,
    )
    lines = []
    for raw in done.stderr.splitlines():
        if not raw.startswith("import time:") or "[us]" in raw:
            continue
        self_us, cumulative, name = (part for part in raw.removeprefix("import time:").split("|"))
        depth = (len(name) - len(name.lstrip(" "))) // 2
        lines.append(ImportLine(int(self_us), int(cumulative), depth, name.strip()))
    return lines


def compiled_from_source(*, cwd: Path, env: Mapping[str, str]) -> tuple[int, int]:
    """(modules of the package loaded from its bytecode, modules of the package compiled from source)
    by ``import app`` in ``cwd``: ``python -v`` says "code object from '<x>.pyc'" for bytecode and
    "code object from <x>.py" for a compile."""
    done = subprocess.run(  # our own interpreter
        [sys.executable, "-v", "-c", "import app"],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=True,
    )
    ours = [
        line
        for line in done.stderr.splitlines()
        if line.startswith("# code object from") and str(cwd) in line
    ]
    from_bytecode = sum(1 for line in ours if line.endswith(".pyc'"))
    return from_bytecode, len(ours) - from_bytecode


def by_top_package(lines: Sequence[ImportLine]) -> list[tuple[str, int, int]]:
    """Self time summed per top-level package (name, µs, modules)."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        top = line.name.split(".", 1)[0]
        sums[top][0] += line.self_us
        sums[top][1] += 1
    return sorted(((n, us, m) for n, (us, m) in sums.items()), key=lambda row: -row[1])


# --- reporting ----------------------------------------------------------------------------------


def _ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values) * 1000:,.0f} / {p90(values) * 1000:,.0f}"


def _mib(values: Sequence[float], unit: float) -> str:
    return f"{statistics.median(values) * unit / 2**20:,.1f} / {p90(values) * unit / 2**20:,.1f}"


def import_table(rows: Sequence[tuple[str, Sample]], bare_rss_kib: int) -> str:
    out = []
    for label, s in rows:
        out.append(
            [
                label,
                _ms(s.seconds),
                _mib(s.peak_bytes, 1),
                _mib(s.maxrss_kib, 1024),
                f"{statistics.median(s.hwm_kib) / 1024:,.1f}",
                f"{(statistics.median(s.maxrss_kib) - bare_rss_kib) / 1024:,.1f}",
                f"{s.modules:,}",
            ]
        )
    return table(
        [
            "import",
            "time ms (median / p90)",
            "tracemalloc peak MiB (median / p90)",
            "ru_maxrss MiB (median / p90)",
            "VmHWM MiB",
            "ru_maxrss above bare python MiB",
            "modules loaded",
        ],
        out,
        right=[False, True, True, True, True, True, True],
    )


def ratio_lines(boto: Sample, app_sample: Sample, label: str, bare_rss_kib: int) -> list[str]:
    t = statistics.median(app_sample.seconds) / statistics.median(boto.seconds)
    m = statistics.median(app_sample.peak_bytes) / statistics.median(boto.peak_bytes)
    r = statistics.median(app_sample.maxrss_kib) / statistics.median(boto.maxrss_kib)
    net = (statistics.median(app_sample.maxrss_kib) - bare_rss_kib) / max(
        1.0, statistics.median(boto.maxrss_kib) - bare_rss_kib
    )
    verdict = "met" if t < TARGET_RATIO else "NOT met"
    memory = "met" if r < TARGET_RATIO else "NOT met"
    return [
        f"- {label}: import time {t:.2f}x boto3's (target < {TARGET_RATIO}x: {verdict}); "
        f"tracemalloc peak {m:.2f}x; ru_maxrss {r:.2f}x ({memory}; {net:.2f}x above the bare interpreter)"
    ]


def print_imports(lines: Sequence[ImportLine], where: str) -> None:
    print(f"python -X importtime -c 'import app' ({where}): self time by top-level package")
    print()
    total_us = sum(line.self_us for line in lines) or 1
    top_rows = [
        [name, f"{us / 1000:,.1f}", f"{us / total_us:.0%}", str(n)]
        for name, us, n in by_top_package(lines)[:12]
    ]
    print(table(["package", "self ms", "share", "modules"], top_rows, right=[False, True, True, True]))
    print(f"(all imports: {total_us / 1000:,.0f} ms self time, {len(lines):,} modules)")
    print()
    print(f"largest imports ({where}; cumulative, including what they import)")
    print()
    heavy = sorted((line for line in lines if line.depth <= 2), key=lambda line: -line.cumulative_us)[:12]
    rows = [
        [line.name, f"{line.cumulative_us / 1000:,.1f}", f"{line.self_us / 1000:,.1f}", str(line.depth)]
        for line in heavy
    ]
    print(table(["module", "cumulative ms", "self ms", "depth"], rows, right=[False, True, True, True]))


def print_package(package: Package) -> None:
    print(
        f"deployment.zip: {package.zip_bytes / 2**20:.2f} MiB zipped, "
        f"{package.unzipped_bytes / 2**20:.2f} MiB unzipped, {package.members:,} files "
        f"({package.pyc_members} .pyc); built in {package.seconds:.0f} s"
    )
    print()
    rows = [
        [n, f"{s / 2**20:.2f}", f"{c / 2**20:.2f}", str(f), f"{s / package.unzipped_bytes:.0%}"]
        for n, s, c, f in package.top
    ]
    print(
        table(
            ["top-level entry", "unzipped MiB", "zipped MiB", "files", "share of unzipped"],
            rows,
            right=[False, True, True, True, True],
        )
    )


def unpack_package(tmp: Path) -> tuple[Package, Path]:
    """Build deployment.zip and unpack it, as Lambda does into /var/task."""
    zip_path, seconds = build_package(tmp / "out")
    package = inspect_package(zip_path, seconds)
    unpacked = tmp / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(unpacked)
    return package, unpacked


BOTO3 = "boto3 (repo venv, bytecode cached)"
APP_REPO = "app (repo, bytecode cached)"
APP_PACKAGE = "app (deployment.zip unpacked, shipped bytecode, read-only: Lambda)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.coldstart", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"default {DEFAULT_RUNS}")
    parser.add_argument(
        "--no-package", action="store_true", help="skip building and measuring deployment.zip"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"Cold-start benchmark: {machine()}", flush=True)
    repo_env = _env({})
    bare = _child(_BARE, cwd=REPO_ROOT, env=repo_env)
    bare_rss = int(bare["maxrss_kib"])
    # Warm the disk cache and the repo's bytecode once, uncounted.
    _child(_TIMED.format(module="app"), cwd=REPO_ROOT, env=repo_env)
    targets = [Target(BOTO3, "boto3", REPO_ROOT, repo_env), Target(APP_REPO, "app", REPO_ROOT, repo_env)]
    package: Package | None = None
    package_lines: list[ImportLine] = []
    package_loads = (0, 0)
    with tempfile.TemporaryDirectory(prefix="vigil-coldstart-") as tmp:
        if not args.no_package:
            package, unpacked = unpack_package(Path(tmp))
            # As in Lambda: the package first on the path, nothing written beside it (/var/task is
            # read-only); boto3 from the runtime (here the venv, with its bytecode).
            package_env = _env({"PYTHONPATH": str(unpacked), "PYTHONDONTWRITEBYTECODE": "1"})
            targets.append(Target(APP_PACKAGE, "app", unpacked, package_env))
            package_lines = importtime(cwd=unpacked, env=package_env)
            package_loads = compiled_from_source(cwd=unpacked, env=package_env)
        samples = sample(targets, runs=args.runs)
    repo_lines = importtime(cwd=REPO_ROOT, env=repo_env)
    ratios = ratio_lines(samples[BOTO3], samples[APP_REPO], "repo, bytecode cached", bare_rss)
    if APP_PACKAGE in samples:
        ratios += ratio_lines(
            samples[BOTO3],
            samples[APP_PACKAGE],
            "deployment package as in Lambda (shipped bytecode, read-only)",
            bare_rss,
        )
    print()
    print(
        f"Import of the Lambda entry point vs boto3 alone ({args.runs} fresh interpreters each, interleaved)"
    )
    print()
    print(import_table(list(samples.items()), bare_rss))
    print()
    print(f"bare interpreter: ru_maxrss {bare_rss / 1024:.1f} MiB, {int(bare['modules'])} modules")
    print("\n".join(ratios))
    print()
    print_imports(repo_lines, "repo, bytecode cached")
    if package:
        print()
        print_imports(package_lines, "deployment package, shipped bytecode")
        print()
        print_package(package)
        print()
        print(
            f"import app from the unpacked package: {package_loads[0]} of its modules loaded from the "
            f"shipped bytecode, {package_loads[1]} compiled from source"
        )
    print()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"total runtime {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
