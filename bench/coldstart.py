"""Cold start: ``import app`` (the Lambda entry point) against ``import boto3``, the first and the
second request, under each interpreter compared; what the SnapStart hooks move; the package size.

    .venv/bin/python -m bench.coldstart [--runs 10] [--no-package]
        [--python /tmp/venv311/bin/python ...] [--tree /path/to/another/checkout ...]

docs/benchmarks.md §2 runs it with ``--runs 30 --python /tmp/venv311/bin/python --tree /tmp/wt-311``,
/tmp/wt-311 being ``git worktree add --detach /tmp/wt-311 c991f75``: the last commit that Python
3.11 can import (b325d8b moved to 3.13 and PEP 695 generics).

Every figure comes from a fresh interpreter (``bench/coldstart_probe.py``, run with ``-c``), and the
subjects take turns, one run of each before the next run of any, so that a shared machine's drift
touches them alike.
The environment is a deployed stage's (``VIGIL_STAGE=prod``, ``AWS_LAMBDA_FUNCTION_NAME``: JSON
logs; sender, admins and secret ARN as the template sets them) with credentials that reach no
account; no network is needed, and a check run before the timed ones proves none is used.

What is measured, for this venv's interpreter (3.13, the runtime's) and each ``--python``:

- ``boto3``: ``import boto3`` alone (the Lambda runtime ships it), from that interpreter's venv;
- ``app`` from each tree (this checkout and each ``--tree``, say an older commit) that the
  interpreter can import: a tree whose syntax it does not know (3.11 and PEP 695 generics) is
  reported and skipped; bytecode cached in the tree's ``__pycache__`` (a warm disk, best case);
- ``app`` from the unpacked ``deployment.zip`` that ``python -m infra.package`` builds, with
  ``PYTHONDONTWRITEBYTECODE=1`` as on Lambda's read-only /var/task: this interpreter only, since the
  zip ships unchecked hash-based bytecode for the runtime's Python (``infra.package.ship_bytecode``);
  a ``python -v`` run counts the package's modules compiled from source nevertheless (should be 0);
- the same package with the SnapStart hooks (``chalicelib/entrypoints/snapstart.py``) run in
  between, as Lambda would: ``before_snapshot()`` after the import, ``after_restore()`` before the
  first request. No snapshot is taken or restored here: that is Firecracker's, on AWS.

The figures, each as median / p90 (nearest rank) over the runs:

- import ms: ``time.perf_counter`` around ``import MODULE``; CPU ms: ``time.process_time`` over the
  same span, the process's own CPU time, which leaves out the waits for a core that other work on a
  shared machine causes (it still includes what that work costs in caches), so its ratios move less
  with the load than the wall clock's;
- first request ms: ``app.app(event, context)`` for ``GET /health`` (a synthetic API Gateway proxy
  event) in the interpreter that has just imported app: it builds the use cases and the boto3
  clients (``bootstrap.usecases()``); import + first request: from the start of the import to that
  answer, what a cold start costs in Python (and its CPU time); second request ms: the same again,
  warm;
- ru_maxrss (and ``VmHWM`` from /proc) at the end of the import and after both requests: the
  interpreter is started through /bin/sh, because Linux hands a child its parent's ``ru_maxrss``;
- tracemalloc peak: the peak of Python allocations during the import, in runs of their own,
  because tracing slows the import it would be timing;
- before_snapshot / after_restore ms: the hooks' own time, in the SnapStart runs.

The target: ``import app`` under 1.3x ``import boto3``. Then ``python -X importtime -c
"import app"`` says which imports dominate, and the package's ten largest top-level entries say what
the zip carries.
"""

from __future__ import annotations

import argparse
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

from bench.coldstart_subjects import (
    CHILD_TIMEOUT,
    REPO_ROOT,
    CannotImport,
    Interpreter,
    Sample,
    Subject,
    Tree,
    bare_rss_kib,
    default_python,
    lambda_env,
    network_check,
    p90,
    probe,
    sample,
)
from bench.common import machine, table

TARGET_RATIO = 1.3
DEFAULT_RUNS = 10


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


# --- what is measured ---------------------------------------------------------------------------


def plan(pythons: Sequence[Interpreter], trees: Sequence[Tree]) -> tuple[list[Subject], list[str]]:
    """boto3 under each interpreter, then app from each tree it can import; and the trees it cannot
    import, with the reason (one import run each, which also compiles the tree's bytecode)."""
    subjects: list[Subject] = []
    skipped: list[str] = []
    for python in pythons:
        subjects.append(
            Subject(
                f"boto3 (Python {python.version}, venv, bytecode cached)",
                python,
                "boto3",
                REPO_ROOT,
                lambda_env(None),
                "import",
            )
        )
        for tree in trees:
            app = Subject(
                f"app {tree.name} (Python {python.version}, repo, bytecode cached)",
                python,
                "app",
                tree.path,
                lambda_env(tree),
                "requests",
                tree,
            )
            try:
                probe(app, "import")
            except CannotImport as exc:
                skipped.append(f"- Python {python.version} cannot import app at {tree.name}: {exc}")
                continue
            subjects.append(app)
    return subjects, skipped


def package_subjects(python: Interpreter, tree: Tree, unpacked: Path) -> list[Subject]:
    """app from the unpacked package as in Lambda (the package first on the path, nothing written
    beside it; boto3 from the runtime, here the venv), without and with the SnapStart hooks."""
    env = lambda_env(tree, {"PYTHONPATH": str(unpacked), "PYTHONDONTWRITEBYTECODE": "1"})
    label = f"app {tree.name} (Python {python.version}, deployment.zip unpacked, shipped bytecode, read-only)"
    plain = Subject(label, python, "app", unpacked, env, "requests", tree, "package")
    if not tree.has("chalicelib/entrypoints/snapstart.py"):
        return [plain]
    hooked = Subject(
        label + " + SnapStart hooks", python, "app", unpacked, env, "snapstart", tree, "package", False
    )
    return [plain, hooked]


def repo_snapstart(python: Interpreter, tree: Tree) -> list[Subject]:
    """Without a package (``--no-package``), the SnapStart runs take app from the tree."""
    if not tree.has("chalicelib/entrypoints/snapstart.py"):
        return []
    label = f"app {tree.name} (Python {python.version}, repo, bytecode cached) + SnapStart hooks"
    return [Subject(label, python, "app", tree.path, lambda_env(tree), "snapstart", tree, "repo", False)]


# --- reporting ----------------------------------------------------------------------------------


def _ms(values: Sequence[float], *, digits: int = 0) -> str:
    return f"{statistics.median(values) * 1000:,.{digits}f} / {p90(values) * 1000:,.{digits}f}"


def _mib(values: Sequence[float], unit: float) -> str:
    return f"{statistics.median(values) * unit / 2**20:,.1f} / {p90(values) * unit / 2**20:,.1f}"


def import_table(rows: Sequence[tuple[Subject, Sample]], bare_kib: Mapping[str, int]) -> str:
    out = [
        [
            subject.label,
            _ms(s.of("seconds")),
            _ms(s.of("cpu_seconds")),
            _mib(s.peak_bytes, 1),
            _mib(s.of("maxrss_kib"), 1024),
            f"{s.median('hwm_kib') / 1024:,.1f}",
            f"{(s.median('maxrss_kib') - bare_kib[subject.python.path]) / 1024:,.1f}",
            f"{s.median('modules'):,.0f}",
        ]
        for subject, s in rows
    ]
    return table(
        [
            "import",
            "time ms (median / p90)",
            "CPU ms (median / p90)",
            "tracemalloc peak MiB (median / p90)",
            "ru_maxrss MiB (median / p90)",
            "VmHWM MiB",
            "ru_maxrss above bare python MiB",
            "modules loaded",
        ],
        out,
        right=[False, True, True, True, True, True, True, True],
    )


def ratio_line(boto: Sample, app_sample: Sample, label: str, bare_kib: int) -> str:
    t = app_sample.median("seconds") / boto.median("seconds")
    cpu = app_sample.median("cpu_seconds") / boto.median("cpu_seconds")
    m = statistics.median(app_sample.peak_bytes) / statistics.median(boto.peak_bytes)
    r = app_sample.median("maxrss_kib") / boto.median("maxrss_kib")
    net = (app_sample.median("maxrss_kib") - bare_kib) / max(1.0, boto.median("maxrss_kib") - bare_kib)
    verdict = "met" if t < TARGET_RATIO else "NOT met"
    memory = "met" if r < TARGET_RATIO else "NOT met"
    return (
        f"- {label}: import time {t:.2f}x boto3's (target < {TARGET_RATIO}x: {verdict}; "
        f"CPU time {cpu:.2f}x); "
        f"tracemalloc peak {m:.2f}x; ru_maxrss {r:.2f}x ({memory}; {net:.2f}x above the bare interpreter)"
    )


def requests_table(rows: Sequence[tuple[Subject, Sample]]) -> str:
    out = [
        [
            subject.label,
            _ms(s.of("seconds")),
            _ms(s.of("first_seconds")),
            _ms(s.of("first_cpu_seconds")),
            _ms(s.plus("seconds", "first_seconds")),
            _ms(s.plus("cpu_seconds", "first_cpu_seconds")),
            _ms(s.of("second_seconds"), digits=2),
            f"{s.median('maxrss_after_kib') / 1024:,.1f}",
            f"{s.median('modules_after'):,.0f}",
        ]
        for subject, s in rows
    ]
    return table(
        [
            "app",
            "import ms",
            "first request ms",
            "first request CPU ms",
            "import + first request ms",
            "the same, CPU ms",
            "second request ms",
            "ru_maxrss after MiB",
            "modules after",
        ],
        out,
        right=[False, True, True, True, True, True, True, True, True],
    )


def _ratio(a: Sample, b: Sample, *keys: str) -> str:
    """The ratio of two subjects' medians of a figure (of the per-run sum of several)."""
    return f"{statistics.median(a.plus(*keys)) / statistics.median(b.plus(*keys)):.2f}x"


def interpreter_lines(rows: Sequence[tuple[Subject, Sample]], boto: Mapping[str, Sample]) -> list[str]:
    """For each tree measured under several interpreters: each against the first (this venv's)."""
    lines = []
    by_tree: dict[str, list[tuple[Subject, Sample]]] = defaultdict(list)
    for subject, s in rows:
        if subject.setting == "repo" and subject.tree is not None:
            by_tree[subject.tree.name].append((subject, s))
    for tree, measured in by_tree.items():
        (first, ref), *others = measured
        boto_ref = boto[first.python.path]
        for subject, s in others:
            boto_other = boto[subject.python.path]
            lines.append(
                f"- app at {tree}, Python {subject.python.version} against {first.python.version} "
                f"(wall clock / CPU time): import {_ratio(s, ref, 'seconds')} / "
                f"{_ratio(s, ref, 'cpu_seconds')}; first request {_ratio(s, ref, 'first_seconds')} / "
                f"{_ratio(s, ref, 'first_cpu_seconds')}; import + first request "
                f"{_ratio(s, ref, 'seconds', 'first_seconds')} / "
                f"{_ratio(s, ref, 'cpu_seconds', 'first_cpu_seconds')}; boto3 alone "
                f"{_ratio(boto_other, boto_ref, 'seconds')} / {_ratio(boto_other, boto_ref, 'cpu_seconds')}"
            )
    return lines


def snapstart_table(plain: Sample, hooked: Sample) -> str:
    """The same app, without and with the hooks run as Lambda runs them around a snapshot."""
    dash = "—"
    rows = [
        ["import app (init phase)", _ms(plain.of("seconds")), _ms(hooked.of("seconds"))],
        [
            "before_snapshot() (init phase, once per published version)",
            dash,
            _ms(hooked.of("before_snapshot_seconds")),
        ],
        [
            "init phase: import + before_snapshot",
            _ms(plain.of("seconds")),
            _ms(hooked.plus("seconds", "before_snapshot_seconds")),
        ],
        [
            "after_restore() (part of Restore Duration on AWS)",
            dash,
            _ms(hooked.of("after_restore_seconds"), digits=2),
        ],
        ["first GET /health", _ms(plain.of("first_seconds")), _ms(hooked.of("first_seconds"))],
        ["first GET /health, CPU", _ms(plain.of("first_cpu_seconds")), _ms(hooked.of("first_cpu_seconds"))],
        [
            "second GET /health (ms, 2 decimals)",
            f"{plain.median('second_seconds') * 1000:.2f}",
            f"{hooked.median('second_seconds') * 1000:.2f}",
        ],
        [
            "cold start measurable here: import + first request / after_restore + first request",
            _ms(plain.plus("seconds", "first_seconds")),
            _ms(hooked.plus("after_restore_seconds", "first_seconds")),
        ],
        [
            "the same, CPU (after_restore left out: tens of microseconds)",
            _ms(plain.plus("cpu_seconds", "first_cpu_seconds")),
            _ms(hooked.of("first_cpu_seconds")),
        ],
        [
            "modules loaded before the first request",
            f"{plain.median('modules'):,.0f}",
            f"{hooked.median('modules_in_snapshot'):,.0f}",
        ],
        [
            "ru_maxrss after both requests MiB",
            f"{plain.median('maxrss_after_kib') / 1024:,.1f}",
            f"{hooked.median('maxrss_after_kib') / 1024:,.1f}",
        ],
    ]
    return table(
        ["phase (ms median / p90)", "without SnapStart", "with SnapStart hooks (no restore here)"],
        rows,
        right=[False, True, True],
    )


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


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0915  # one report, in order
    parser = argparse.ArgumentParser(
        prog="python -m bench.coldstart", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"default {DEFAULT_RUNS}")
    parser.add_argument(
        "--no-package", action="store_true", help="skip building and measuring deployment.zip"
    )
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="another interpreter to measure beside this one (its venv's boto3; app from the trees only)",
    )
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="DIR",
        type=Path,
        help="another checkout whose app.py to import too (e.g. the last commit an older Python can read)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"Cold-start benchmark: {machine()}", flush=True)
    pythons = [default_python(), *(Interpreter.at(path) for path in args.python)]
    trees = [Tree.at(REPO_ROOT), *(Tree.at(path) for path in args.tree)]
    for python in pythons:
        print(f"- Python {python.version}: {python.path}")
    for tree in trees:
        print(
            f"- tree {tree.path}: HEAD {tree.name}; "
            f"app.py, chalicelib/, requirements.txt as of {tree.code_commit}"
        )
    bare = {python.path: bare_rss_kib(python) for python in pythons}
    bare_kib = {path: kib for path, (kib, _) in bare.items()}
    subjects, skipped = plan(pythons, trees)
    package: Package | None = None
    package_lines: list[ImportLine] = []
    package_loads = (0, 0)
    with tempfile.TemporaryDirectory(prefix="vigil-coldstart-") as tmp:
        if args.no_package:
            subjects += repo_snapstart(pythons[0], trees[0])
        else:
            package, unpacked = unpack_package(Path(tmp))
            subjects += package_subjects(pythons[0], trees[0], unpacked)
            package_env = subjects[-1].env
            package_lines = importtime(cwd=unpacked, env=package_env)
            package_loads = compiled_from_source(cwd=unpacked, env=package_env)
        for subject in subjects:  # warm the disk cache and every tree's bytecode, uncounted
            probe(subject, subject.mode)
        checks = [network_check(s) for s in subjects if s.mode == "requests"]
        print(
            f"{len(subjects)} subjects, {args.runs} runs each; load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        samples = sample(subjects, runs=args.runs)
    repo_lines = importtime(cwd=REPO_ROOT, env=lambda_env(trees[0]))
    rows = [(s, samples[s.label]) for s in subjects if s.mode != "snapstart"]
    boto = {s.python.path: samples[s.label] for s in subjects if s.module == "boto3"}
    apps = [(s, sample_) for s, sample_ in rows if s.module == "app"]
    print()
    print(
        f"Import of the Lambda entry point vs boto3 alone ({args.runs} fresh interpreters each, interleaved)"
    )
    print()
    print(import_table(rows, bare_kib))
    print()
    for python in pythons:
        kib, modules = bare[python.path]
        print(f"bare interpreter {python.version}: ru_maxrss {kib / 1024:.1f} MiB, {modules} modules")
    for subject, s in apps:
        print(ratio_line(boto[subject.python.path], s, subject.label, bare_kib[subject.python.path]))
    if skipped:
        print("\n".join(skipped))
    print()
    print("First request: GET /health through app.app(event, context), right after the import (builds the")
    print("use cases and the boto3 clients), then a second one (median / p90)")
    print()
    print(requests_table(apps))
    print()
    if compared := interpreter_lines(apps, boto):
        print("\n".join(compared))
        print()
    print("No network during import or requests:")
    print("\n".join(checks))
    hooked = [s for s in subjects if s.mode == "snapstart"]
    if hooked:
        plain = next(
            s
            for s in subjects
            if s.mode == "requests" and s.cwd == hooked[0].cwd and s.python == hooked[0].python
        )
        print()
        print(
            f"SnapStart hooks, {hooked[0].setting}, Python {hooked[0].python.version} "
            "(no snapshot or restore here)"
        )
        print()
        print(snapstart_table(samples[plain.label], samples[hooked[0].label]))
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
