"""The local stack as users run it: ``python -m vigil_local`` in its own process, on free ports."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "vk_e2eadmin_0123456789abcdefghijklmnop"
READY_MARK = "Ctrl-C stops everything."
START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0

T = TypeVar("T")


def free_ports(count: int) -> list[int]:
    """Distinct ports nobody listens on (held open together so they differ)."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class RunningStack:
    api_url: str
    receiver_url: str
    admin_key: str
    log_path: Path
    process: subprocess.Popen[bytes]
    moto_url: str = ""

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = ADMIN_KEY,
        headers: dict[str, str] | None = None,
        base: str | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(  # noqa: S310  # the test's own local http URL
            f"{self.api_url if base is None else base}{path}", data=data, headers=sent, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # as above
                return _answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            return _answer(exc.code, dict(exc.headers.items()), exc.read())

    def outbox(self) -> dict[str, Any]:
        answer = self.call("GET", "/dev/outbox", key=None)
        assert answer.status == 200, answer
        assert isinstance(answer.body, dict)
        return answer.body


def _answer(status: int, headers: dict[str, str], raw: bytes) -> Answer:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    return Answer(status, {k.lower(): v for k, v in headers.items()}, body)


def wait_for[T](
    produce: Callable[[], T], done: Callable[[T], bool], *, timeout: float, what: str, interval: float = 0.25
) -> T:
    """Poll until ``done(produce())``, at most ``timeout`` seconds; fails the test with the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}; last value: {value!r}")
        time.sleep(interval)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


def _health_ok(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:  # noqa: S310  # local http
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class StackNotReady(RuntimeError):
    """The local stack exited, or was not healthy and seeded in time; the message holds its output."""


def printed_admin_key(output: str) -> str | None:
    """The admin key the banner printed."""
    found = re.search(r"^  Admin key\s+(\S+)$", output, re.MULTILINE)
    return found.group(1) if found else None


@contextmanager
def launched_stack(
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
    base_path: str = "",
    ports: Sequence[int] | None = None,
) -> Iterator[RunningStack]:
    """``python -m vigil_local`` (or ``command``) on free ports, as ``make run`` starts it;
    ready once healthy (which it is once seeded), stopped (SIGTERM, then kill) on the way out.
    ``env`` adds to or overrides the stack's settings; its data directory is a new one beside
    ``log_path`` unless ``env`` names one (``VIGIL_DATA_DIR``); ``ports`` (API, moto, webhook
    receiver) starts it again where a stopped one listened. ``base_path`` ("/api") serves it under
    that path, as API Gateway's stage path serves a deployed one. Shared by the e2e and browser
    tests, the screenshots and benches."""
    api_port, moto_port, webhook_port = ports or free_ports(3)
    settings = {
        **os.environ,
        "VIGIL_HOST": "127.0.0.1",
        "VIGIL_PORT": str(api_port),
        "VIGIL_MOTO_PORT": str(moto_port),
        "VIGIL_WEBHOOK_PORT": str(webhook_port),
        "VIGIL_ADMIN_KEY": ADMIN_KEY,
        "VIGIL_DEMO": "1",
        "VIGIL_DATA_DIR": str(log_path.parent / "vigil-data"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("VIGIL_PUBLIC_URL", "VIGIL_STAGE", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        settings.pop(name, None)
    api_url = f"http://127.0.0.1:{api_port}{base_path}"
    if base_path:
        settings["VIGIL_PUBLIC_URL"] = api_url
    settings.update(env or {})
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603  # our own interpreter running the local stack
            list(command or [sys.executable, "-m", "vigil_local"]),
            cwd=REPO_ROOT,
            env=settings,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    stack = RunningStack(
        api_url=api_url,
        receiver_url=f"http://127.0.0.1:{webhook_port}",
        admin_key=ADMIN_KEY,
        log_path=log_path,
        process=process,
        moto_url=f"http://127.0.0.1:{moto_port}",
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        # Healthy once the stack can serve (resources made, demo seeded); the banner follows.
        while not (_health_ok(stack.api_url) and READY_MARK in stack.output()):
            if process.poll() is not None:
                raise StackNotReady(
                    f"the local stack exited with {process.returncode}:\n{stack.output()[-5000:]}"
                )
            if time.monotonic() >= deadline:
                raise StackNotReady(
                    f"the local stack was not ready in {START_TIMEOUT_SECONDS:g}s:\n{stack.output()[-5000:]}"
                )
            time.sleep(0.2)
        if not settings["VIGIL_ADMIN_KEY"]:
            stack.admin_key = printed_admin_key(stack.output()) or ""
        yield stack
    finally:
        _stop(process)


def running_local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack for the session (registered as the ``local_stack`` fixture in tests/conftest.py)."""
    try:
        # The tests sweep with POST /admin/sweep when they mean to: a ticker sweeping on its own
        # every minute could take a due step first, and the test's sweep would find nothing.
        log_path = tmp_path_factory.mktemp("local-stack") / "output.log"
        # Under "/api", as API Gateway's stage path serves a deployed stage: every link, form and
        # dashboard request must work below a base path (the unit tests cover the root).
        with launched_stack(log_path, env={"VIGIL_TICK_SECONDS": "86400"}, base_path="/api") as stack:
            yield stack
    except StackNotReady as exc:
        pytest.fail(str(exc))
