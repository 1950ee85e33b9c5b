"""A webhook receiver for the scenario's subscribers, and the real sender, timed."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.domain.messages import OutgoingWebhook


class Receiver:
    """A stdlib HTTP server on 127.0.0.1 that answers 204 to every POST and counts them by path."""

    def __init__(self) -> None:
        self.posts: Counter[str] = Counter()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with owner._lock:
                    owner.posts[self.path] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="bench-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        with self._lock:
            self.posts.clear()

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self.posts)


class TimedWebhookSender:
    """The real signed HTTP sender, timed: webhook POSTs are a provider send, not AWS."""

    def __init__(self, inner: HttpWebhookSender) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.posts = 0
        self.seconds = 0.0

    def send(self, message: OutgoingWebhook, *, secrets: Sequence[str], now: datetime) -> str:
        started = time.perf_counter()
        try:
            return self._inner.send(message, secrets=secrets, now=now)
        finally:
            with self._lock:
                self.posts += 1
                self.seconds += time.perf_counter() - started
