"""What ``bench.coldstart`` measures and how: the interpreters, the trees of code, the Lambda-like
environment, and the fresh interpreters (``bench/coldstart_probe.py``) that take each measurement."""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parents[1]
PROBE = (Path(__file__).with_name("coldstart_probe.py")).read_text(encoding="utf-8")
CHILD_TIMEOUT = 120

# A deployed stage's configuration as the template sets it (config.check_deployed refuses less), and
# credentials that reach no account: Lambda hands its functions their credentials in the environment
# too, so botocore finds these first and never asks a metadata endpoint. No AWS config file is read.
LAMBDA_ENV = {
    "VIGIL_STAGE": "prod",
    "VIGIL_LOG_LEVEL": "INFO",
    "VIGIL_SES_CONFIGURATION_SET": "vigil-prod-feedback",
    "VIGIL_SENDER_EMAIL": "alerts@vigil.invalid",
    "VIGIL_ADMIN_EMAILS": "oncall@vigil.invalid",
    "VIGIL_ACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:vigil-prod-link-AbCdEf",
    "VIGIL_INBOUND_MAIL_BUCKET": "vigil-prod-inbound-mail",
    "AWS_LAMBDA_FUNCTION_NAME": "vigil-prod-api_handler",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "ASIACOLDSTARTBENCH00",
    "AWS_SECRET_ACCESS_KEY": "coldstart-bench-not-a-secret",
    "AWS_SESSION_TOKEN": "coldstart-bench-not-a-token",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}
# A tree from before the link-signing secret moved to Secrets Manager reads the secret itself from
# its environment (and has no VIGIL_ACK_SECRET_ARN to check).
LEGACY_SECRET = {"VIGIL_ACK_SECRET": "coldstart-dummy-link-signing-secret-0123456789"}
# Socket events that would mean a request left the machine (or tried to); urllib3's import-time
# check for IPv6 (a socket bound to ::1) is none of them.
NETWORK_EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto")

Mode = Literal["import", "requests", "snapstart"]


class CannotImport(Exception):
    """An interpreter that cannot import a tree's app.py (e.g. 3.11 and PEP 695 syntax)."""


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str

    @classmethod
    def at(cls, path: str) -> Interpreter:
        done = subprocess.run(  # noqa: S603  # an interpreter named on the command line
            [path, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            check=True,
        )
        return cls(path, done.stdout.strip())


@dataclass(frozen=True)
class Tree:
    """A checkout whose app.py is imported: HEAD, and the last commit that changed the imported code."""

    path: Path
    commit: str
    code_commit: str
    dirty: bool

    @classmethod
    def at(cls, path: Path) -> Tree:
        def git(*args: str) -> str:
            done = subprocess.run(  # noqa: S603  # git, reading a checkout
                ["git", "-C", str(path), *args],  # noqa: S607  # git from PATH, as a developer runs it
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            return done.stdout.strip()

        code = ("app.py", "chalicelib", "requirements.txt")
        return cls(
            path=path.resolve(),
            commit=git("rev-parse", "--short", "HEAD"),
            code_commit=git("log", "-1", "--format=%h", "--", *code),
            dirty=bool(git("status", "--porcelain", "--untracked-files=no", "--", *code)),
        )

    @property
    def name(self) -> str:
        return self.commit + (" with uncommitted changes" if self.dirty else "")

    def has(self, relative: str) -> bool:
        return (self.path / relative).exists()


def lambda_env(tree: Tree | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any VIGIL_, AWS_ or PYTHON variable, then Lambda's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "AWS_", "PYTHON"))}
    env.update(LAMBDA_ENV)
    if tree is not None and not tree.has("chalicelib/adapters/secrets.py"):
        del env["VIGIL_ACK_SECRET_ARN"]
        env.update(LEGACY_SECRET)
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Subject:
    """One thing measured in fresh interpreters: a module, an interpreter, a directory, a mode."""

    label: str
    python: Interpreter
    module: str
    cwd: Path
    env: Mapping[str, str]
    mode: Mode
    tree: Tree | None = None
    setting: str = "repo"
    traced: bool = True  # also measured under tracemalloc


# Linux carries a process's peak RSS (ru_maxrss) across fork and exec: a child started straight from
# this process would report this process's size. Through /bin/sh (not exec'd: a command follows)
# the interpreter is the child of a small process, so its ru_maxrss is its own.
_LAUNCH = ("/bin/sh", "-c", '"$0" "$@"; status=$?; exit $status')


def child(
    python: str,
    code: str,
    *args: str,
    cwd: Path,
    env: Mapping[str, str],
    flags: Sequence[str] = (),
) -> dict[str, Any]:
    """Run ``python -c code args`` and return the JSON object on the last line of its output."""
    done = subprocess.run(  # noqa: S603  # our interpreters running our own probe
        [*_LAUNCH, python, *flags, "-c", code, *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        if "SyntaxError" in done.stderr:
            raise CannotImport(_syntax_error(done.stderr))
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(answer, dict)
    return answer


def _syntax_error(stderr: str) -> str:
    """'SyntaxError: <message> (<file>, line <n>)' from a traceback."""
    lines = stderr.strip().splitlines()
    where = next((line.strip() for line in reversed(lines) if line.strip().startswith('File "')), "")
    return f"{lines[-1].strip()} ({where.removeprefix('File ')})" if where else lines[-1].strip()


def probe(subject: Subject, mode: str, *, extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = {**subject.env, **(extra or {})}
    answer = child(subject.python.path, PROBE, mode, subject.module, cwd=subject.cwd, env=env)
    origin = answer.get("origin", [""])[0]
    if subject.module == "app" and not str(origin).startswith(str(subject.cwd)):
        raise RuntimeError(f"{subject.label}: imported {origin}, not the tree under test ({subject.cwd})")
    statuses = answer.get("status", [200, 200])
    if statuses != [200, 200]:
        raise RuntimeError(f"{subject.label}: GET /health answered {statuses}: {answer.get('body')}")
    return answer


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port: int = probe_socket.getsockname()[1]
    return port


def network_check(subject: Subject) -> str:
    """Import and both requests must make no network call: once with the default endpoints under a
    socket audit hook, once with AWS_ENDPOINT_URL at a closed loopback port. One line for the report."""
    port = closed_port()
    seen: list[str] = []
    for extra in ({}, {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}):
        answer = probe(subject, "network", extra=extra)
        events = answer["socket_events"]
        calls = [e for phase in events.values() for e in phase if e.startswith(NETWORK_EVENTS)]
        if calls:
            raise RuntimeError(f"{subject.label}: network calls during import or /health: {calls}")
        seen = [*events["import"], *events["requests"]] or ["none"]
    return (
        f"- {subject.label}: 200 twice, with AWS_ENDPOINT_URL=http://127.0.0.1:{port} (closed) as without; "
        f"socket events: {', '.join(sorted(set(seen)))} (no connect, no name lookup)"
    )


@dataclass
class Sample:
    """Every timed child's numbers for one subject, and its tracemalloc peaks."""

    runs: list[dict[str, float]] = field(default_factory=list)
    peak_bytes: list[float] = field(default_factory=list)

    def of(self, key: str) -> list[float]:
        return [run[key] for run in self.runs]

    def plus(self, *keys: str) -> list[float]:
        """Per run, the sum of several figures (import + first request, say)."""
        return [sum(run[k] for k in keys) for run in self.runs]

    def median(self, key: str) -> float:
        return statistics.median(self.of(key))


_NUMBERS = (
    "seconds",
    "cpu_seconds",
    "first_cpu_seconds",
    "maxrss_kib",
    "hwm_kib",
    "modules",
    "first_seconds",
    "second_seconds",
    "maxrss_after_kib",
    "modules_after",
    "before_snapshot_seconds",
    "after_restore_seconds",
    "modules_in_snapshot",
)


def sample(subjects: Sequence[Subject], *, runs: int) -> dict[str, Sample]:
    """``runs`` fresh interpreters per subject, taking the subjects in turn (a shared machine's load
    drifts; interleaving spreads the drift over every subject alike); then the tracemalloc runs,
    interleaved the same way."""
    samples = {s.label: Sample() for s in subjects}
    for _ in range(runs):
        for s in subjects:
            answer = probe(s, s.mode)
            samples[s.label].runs.append({k: float(answer[k]) for k in _NUMBERS if k in answer})
    for _ in range(runs):
        for s in subjects:
            if s.traced:
                samples[s.label].peak_bytes.append(float(probe(s, "traced")["peak_bytes"]))
    return samples


def bare_rss_kib(python: Interpreter) -> tuple[int, int]:
    """(ru_maxrss KiB, modules) of an interpreter that imports nothing."""
    code = (
        "import json, resource, sys\n"
        "print(json.dumps({'maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
        "'modules': len(sys.modules)}))"
    )
    answer = child(python.path, code, cwd=REPO_ROOT, env=lambda_env(None))
    return int(answer["maxrss_kib"]), int(answer["modules"])


def p90(values: Sequence[float]) -> float:
    """Nearest-rank 90th percentile (the 9th of 10, the 27th of 30)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def default_python() -> Interpreter:
    return Interpreter(sys.executable, ".".join(str(n) for n in sys.version_info[:3]))
