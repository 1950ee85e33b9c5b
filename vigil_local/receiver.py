"""The demo webhook receiver: what a subscriber's case-management system would run.

It checks each POST's Standard Webhooks signature with the secret registered for its path (the
``whsec_…`` secret ``POST /subscribers`` returned once), answers 204 when it verifies and 401 when
it does not, and keeps what it received. Under ``/chat/`` it stands in for Slack and Teams, which
sign nothing: every POST there is taken (200, as Slack answers) and kept apart. ``GET /`` lists
what it received (``received``: the webhooks; ``chats``), as JSON, for tests that run the stack in
another process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import structlog
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

logger = structlog.get_logger()

MAX_BODY_BYTES = 1024 * 1024
# Where the receiver plays a chat service: Slack and Teams URLs of the local stack point here.
CHAT_PATH = "/chat/"


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    path: str
    webhook_id: str | None
    verified: bool
    status: int
    body: str
    received_at: datetime

    def as_json(self) -> dict[str, Any]:
        try:
            payload: Any = json.loads(self.body)
        except ValueError:
            payload = self.body
        return {
            "path": self.path,
            "webhook_id": self.webhook_id,
            "verified": self.verified,
            "status": self.status,
            "body": payload,
            "received_at": self.received_at.isoformat(),
        }


class WebhookReceiver:
    """A small threaded HTTP server; ``start()`` binds (port 0 picks a free one), ``stop()`` closes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        self._received: list[ReceivedWebhook] = []
        self._chats: list[ReceivedWebhook] = []
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        logger.info("webhook_receiver.started", url=self.url)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def register(self, path_or_url: str, secret: str) -> None:
        """Accept POSTs to this path (or the path of this URL) signed with ``secret``."""
        path = urlsplit(path_or_url).path or "/"
        with self._lock:
            self._secrets[path] = secret

    def received(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self._received)

    def chats(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self._chats)

    def saved(self) -> dict[str, Any]:
        """The registered secrets and what was received, for the local stack's snapshot."""
        with self._lock:
            return {
                "secrets": dict(self._secrets),
                "received": list(self._received),
                "chats": list(self._chats),
            }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Put back what ``saved`` returned: webhooks of restored subscribers verify again."""
        with self._lock:
            self._secrets = dict(saved.get("secrets", {}))
            self._received = list(saved.get("received", []))
            self._chats = list(saved.get("chats", []))

    def handle(self, path: str, headers: dict[str, str], body: str) -> int:
        """Verify one delivery; returns the status to answer with."""
        with self._lock:
            secret = self._secrets.get(path)
        verified = False
        if secret is not None:
            try:
                Webhook(secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        status = 204 if verified else 401
        chat = path.startswith(CHAT_PATH)
        if chat:
            status = 200
        webhook_id = {k.lower(): v for k, v in headers.items()}.get("webhook-id")
        with self._lock:
            (self._chats if chat else self._received).append(
                ReceivedWebhook(
                    path=path,
                    webhook_id=webhook_id,
                    verified=verified,
                    status=status,
                    body=body,
                    received_at=datetime.now(UTC),
                )
            )
        logger.info("webhook.received", path=path, webhook_id=webhook_id, verified=verified, status=status)
        return status


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "VigilDemoReceiver/1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413)
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            path = urlsplit(self.path).path
            self._answer(receiver.handle(path, dict(self.headers.items()), body))

        def do_GET(self) -> None:
            payload = json.dumps(
                {
                    "received": [r.as_json() for r in receiver.received()],
                    "chats": [r.as_json() for r in receiver.chats()],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are logged by ``handle`` instead of on stderr."""

    return Handler
