"""`make package STAGE=…`: one deployable CloudFormation template for functions and resources.

Runs `chalice package --merge-template infra/template.yaml`, then sets what Chalice cannot
express: every SQS event source reports partial batch failures (``ReportBatchItemFailures``),
without which one failed message makes Lambda retry, and so re-send, its whole batch; the API
gateway's own refusals come in the API's error shape; and ``infra/wiring.py`` adds what a deployed
stage needs (``infra/deployed.yaml``, each function's name, settings, log group, alarms, SnapStart
and alias). The local stage is refused: it runs on this machine only.

It then rebuilds Chalice's ``deployment.zip`` (``ship_bytecode``): Chalice copies whatever
``__pycache__`` the working tree holds and ships no bytecode for anything else, so every Lambda cold
start compiled Vigil and the vendored libraries from source (``/var/task`` is read-only: nothing is
cached between cold starts). The rebuilt zip drops every stray ``.pyc`` and carries bytecode compiled
here for the Lambda runtime's Python, as unchecked hash-based ``.pyc`` (PEP 552): the importer uses
them without comparing source timestamps, which the zip does not preserve anyway. Bytecode is only
valid for the Python version that wrote it, so it is added only when this interpreter's version is
the runtime's (``python3.13``); otherwise the zip ships without bytecode and a warning says
so. Entries are sorted and time-stamped alike, so the same sources give the same zip.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from chalicelib.entrypoints.http import GATEWAY_REFUSALS
from infra.wiring import DEPLOYED_PATH, refuse_local_stage, wire
from vigil_local.stack import load_template

REPO_ROOT = Path(__file__).resolve().parents[1]
PARTIAL_BATCH = "ReportBatchItemFailures"
# Where Lambda unpacks the code: compiled file names point there, so tracebacks name real paths.
LAMBDA_TASK_ROOT = "/var/task"
# Every entry gets the same time stamp (the earliest a zip can hold), so a rebuild is byte-identical.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_RUNTIME = re.compile(r"python(\d+)\.(\d+)")


def enable_partial_batch_responses(template: dict[str, Any]) -> list[str]:
    """Switch partial batch responses on for every SQS event source; returns the functions changed."""
    changed = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "SQS":
                event.setdefault("Properties", {})["FunctionResponseTypes"] = [PARTIAL_BATCH]
                changed.append(name)
    return changed


def gateway_responses() -> dict[str, dict[str, Any]]:
    """``GATEWAY_REFUSALS`` (chalicelib.entrypoints.http) as API Gateway's
    ``x-amazon-apigateway-gateway-responses``."""
    responses: dict[str, dict[str, Any]] = {}
    for kind, refusal in GATEWAY_REFUSALS.items():
        response: dict[str, Any] = {"responseTemplates": {"application/json": json.dumps(refusal.body())}}
        if refusal.status is not None:
            response["statusCode"] = str(refusal.status)
        responses[kind] = response
    return responses


def shape_gateway_errors(template: dict[str, Any]) -> list[str]:
    """Put the gateway's own answers into each REST API's definition (``x-amazon-apigateway-gateway-
    responses``), so they are deployed with it; returns the APIs changed. Separate GatewayResponse
    resources would reach the stage only at its next deployment."""
    changed = []
    for name, resource in template.get("Resources", {}).items():
        body = resource.get("Properties", {}).get("DefinitionBody")
        if resource.get("Type") == "AWS::Serverless::Api" and isinstance(body, dict):
            body["x-amazon-apigateway-gateway-responses"] = gateway_responses()
            changed.append(name)
    return changed


def lambda_python(template: Mapping[str, Any]) -> tuple[int, int]:
    """The (major, minor) Python version of the functions' runtime, e.g. ``python3.13`` → (3, 13)."""
    default = template.get("Globals", {}).get("Function", {}).get("Runtime")
    runtimes = {
        resource.get("Properties", {}).get("Runtime", default)
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function"
    }
    if len(runtimes) != 1:
        raise SystemExit(
            f"expected one Python runtime for every function, found {sorted(map(str, runtimes))}"
        )
    runtime = runtimes.pop()
    match = _RUNTIME.fullmatch(str(runtime))
    if match is None:
        raise SystemExit(f"not a Python runtime: {runtime!r}")
    return int(match[1]), int(match[2])


def is_bytecode(name: str) -> bool:
    """A compiled file, or anything in a ``__pycache__`` folder: what a work tree must not put in the zip."""
    path = PurePosixPath(name)
    return "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}


@dataclass(frozen=True)
class Bytecode:
    """What ``ship_bytecode`` did to the zip."""

    python: tuple[int, int]  # the Lambda runtime's
    compiled: int  # .pyc files added (0 when this interpreter is not the runtime's version)
    stray_dropped: int  # .pyc files and __pycache__ entries Chalice had copied from the work tree
    not_compiled: tuple[str, ...]  # .py files that are not valid Python for the runtime (never importable)
    skipped: bool  # this interpreter is not the runtime's version, so no bytecode could be added


def _compile_tree(root: Path) -> subprocess.CompletedProcess[str]:
    """Compile every ``.py`` under ``root`` as an unchecked hash-based ``.pyc`` that names its source
    by its path in Lambda.

    A fresh ``-S`` interpreter with a fixed hash seed (set and frozenset constants are marshalled in
    hash order) in one process (marshal's output depends on what else the process holds) writes the
    same bytes on every build."""
    return subprocess.run(  # noqa: S603  # our own interpreter running the standard library's compileall
        [
            sys.executable,
            "-S",
            "-m",
            "compileall",
            "-q",
            "-f",
            "-o",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(root),
            "-p",
            LAMBDA_TASK_ROOT,
            str(root),
        ],
        env={"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")},
        check=False,  # a file that does not compile is reported by ship_bytecode (it has no .pyc)
        capture_output=True,
        text=True,
    )


def cache_name(source: str, python: tuple[int, int]) -> str:
    """Where CPython ``major.minor`` looks for the bytecode of ``source`` (a path inside the zip)."""
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.cpython-{python[0]}{python[1]}.pyc")


def _write_sorted(zip_path: Path, entries: Mapping[str, tuple[bytes, int]]) -> None:
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name in sorted(entries):
            data, mode = entries[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so the mode bits are honoured when unpacked
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)


def _mode(info: zipfile.ZipInfo) -> int:
    if info.is_dir():
        return 0o40755
    return 0o100755 if (info.external_attr >> 16) & 0o111 else 0o100644


def ship_bytecode(zip_path: Path, python: tuple[int, int]) -> Bytecode:
    """Rebuild ``zip_path`` without stray bytecode and, if this interpreter is ``python``'s version,
    with bytecode for every ``.py`` in it (see the module docstring)."""
    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
        # Modes normalised, not copied from the work tree (where the umask decides them): the same
        # sources give the same zip in any checkout.
        kept = {i.filename: (archive.read(i), _mode(i)) for i in infos if not is_bytecode(i.filename)}
    stray = len(infos) - len(kept)
    if sys.implementation.name != "cpython" or sys.version_info[:2] != python:
        print(
            f"warning: no bytecode in {zip_path.name}: this is Python "
            f"{sys.version_info[0]}.{sys.version_info[1]}, Lambda runs {python[0]}.{python[1]}, "
            "so every cold start will compile from source",
            file=sys.stderr,
        )
        _write_sorted(zip_path, kept)
        return Bytecode(python, 0, stray, (), skipped=True)
    sources = sorted(name for name in kept if name.endswith(".py"))
    compiled: dict[str, tuple[bytes, int]] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-bytecode-") as tmp:
        root = Path(tmp)
        for name in sources:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(kept[name][0])
        done = _compile_tree(root)
        for name in sources:
            pyc = root / cache_name(name, python)
            if pyc.is_file():
                compiled[cache_name(name, python)] = (pyc.read_bytes(), 0o100644)
    failed = tuple(name for name in sources if cache_name(name, python) not in compiled)
    if sources and not compiled:
        raise SystemExit(f"compileall produced no bytecode (exit {done.returncode}): {done.stderr.strip()}")
    _write_sorted(zip_path, kept | compiled)
    return Bytecode(python, len(compiled), stray, failed, skipped=False)


def package(stage: str, out_dir: Path) -> Path:
    refuse_local_stage(stage)
    env = {
        **os.environ,
        "VIGIL_STAGE": stage,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(  # noqa: S603  # fixed arguments, our own virtualenv's chalice
        [str(chalice), "package", "--stage", stage, "--merge-template", "infra/template.yaml", str(out_dir)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
    )
    path = out_dir / "sam.yaml"
    template = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not enable_partial_batch_responses(template):
        raise SystemExit("no SQS event sources found in the packaged template")
    wire(template, load_template(DEPLOYED_PATH), stage)
    if not shape_gateway_errors(template):
        raise SystemExit("no REST API found in the packaged template")
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    shipped = ship_bytecode(out_dir / "deployment.zip", lambda_python(template))
    ours = [name for name in shipped.not_compiled if name == "app.py" or name.startswith("chalicelib/")]
    if ours:
        raise SystemExit(f"Vigil's own code does not compile for the runtime: {', '.join(ours)}")
    if shipped.not_compiled:
        print(
            f"note: {len(shipped.not_compiled)} files are not valid Python "
            f"{shipped.python[0]}.{shipped.python[1]} and ship without bytecode: "
            + ", ".join(shipped.not_compiled[:5]),
            file=sys.stderr,
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or REPO_ROOT / "build" / args.stage
    print(package(args.stage, out))  # the path is the command's output


if __name__ == "__main__":
    main()
