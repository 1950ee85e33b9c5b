"""A real local HTTP server that records what the ``vigil`` command line sends and answers as told,
for the command line's tests (test_cli.py, test_cli_commands.py): each declares the ``api`` fixture
from ``recording_api``; ``vigil`` runs the command against it, ``json_file`` writes a body to send."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from click.testing import CliRunner, Result

from vigil_cli.main import cli

KEY = "vk_k1_secretsecret"
NO_PROXY_ENV: dict[str, str | None] = {
    "http_proxy": None,
    "HTTP_PROXY": None,
    "https_proxy": None,
    "HTTPS_PROXY": None,
    "all_proxy": None,
    "ALL_PROXY": None,
    "no_proxy": "*",
    "NO_PROXY": "*",
}
SUBSCRIBER = {
    "name": "Criminal Justice Policy Adviser",
    "role": "state-executive",
    "channels": [{"type": "email", "address": "adviser@example.gov"}],
    "subscriptions": [{"jurisdiction": "statewide"}],
}
EVENT = {
    "type": "rollout",
    "program": "secure-communities",
    "jurisdiction": "New Haven",
    "effective_at": "2012-02-22T00:00:00-05:00",
    "summary": "Secure Communities activates in New Haven",
}
POLICY = {"required_roles": ["state-executive"], "steps": [{"after": "PT0S", "notify": "recipients"}]}
REFUSAL = {
    "error": "invalid_input",
    "message": "event is invalid: jurisdiction",
    "details": [{"field": "jurisdiction", "message": "unknown jurisdiction 'New Havn'"}],
}


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class FakeApi:
    """Records every request; answers the queued canned answers in order, then 200 {"ok": true}."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    answers: deque[Canned] = field(default_factory=deque)

    def answer(self, status: int, body: Any = None, *, raw: bytes | None = None, **headers: str) -> None:
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        content_type = "application/json" if raw is None else "text/html"
        self.answers.append(Canned(status, payload, {"Content-Type": content_type, **headers}))

    def next_answer(self) -> Canned:
        if self.answers:
            return self.answers.popleft()
        return Canned(200, b'{"ok": true}', {"Content-Type": "application/json"})

    @property
    def only(self) -> Recorded:
        assert len(self.requests) == 1, self.requests
        return self.requests[0]


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: FakeApi) -> None:
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.api = api


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        assert isinstance(self.server, FakeServer)
        api = self.server.api
        length = int(self.headers.get("Content-Length") or 0)
        parts = urlsplit(self.path)
        api.requests.append(
            Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length),
            )
        )
        canned = api.next_answer()
        self.send_response(canned.status)
        for name, value in canned.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(canned.body)))
        self.end_headers()
        self.wfile.write(canned.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:  # the base class's parameter name
        """Quiet: the test asserts on what was recorded."""


def recording_api() -> Iterator[FakeApi]:
    """The ``api`` fixture: the server on a free port of 127.0.0.1, its recorder yielded."""
    fake = FakeApi()
    server = FakeServer(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(5)


def vigil(
    url: str, *args: str, key: str | None = KEY, stdin: str | None = None, extra: Sequence[str] = ()
) -> Result:
    env = {**NO_PROXY_ENV, "VIGIL_URL": url, "VIGIL_KEY": key}
    return CliRunner().invoke(cli, [*extra, *args], env=env, input=stdin, catch_exceptions=False)


def json_file(tmp_path: Path, body: Any, name: str = "body.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body), encoding="utf-8")
    return str(path)
