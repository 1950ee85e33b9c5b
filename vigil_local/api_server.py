"""The local stack's HTTP server: Chalice's local server, with what the local stack adds around it.

- The public URL's path: served under it ("/api", as API Gateway's stage path), the app sees the
  path without it, and nothing outside it is found (404 in the API's error shape).
- Readiness: until the stack can serve (resources made, the demo seeded), every request is answered
  503 (``/health`` too), except the stack's own startup requests, which carry ``StartupGate``'s
  token. So no client can spend the demo's budget of invalid links, or see half a demo.
- The state lock: each request is one reader (see state_lock.py), so a snapshot never holds half of
  one.
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
from types import ModuleType
from typing import Any

import structlog

from chalicelib.entrypoints.http import GATEWAY_REFUSALS, JSON_HEADERS, error_body
from vigil_local.state_lock import StateLock

logger = structlog.get_logger()

STARTUP_HEADER = "X-Vigil-Local-Startup"
STARTING_RETRY_SECONDS = 1


class StartupGate:
    """Closed until ``open()``; the stack's own requests pass it with ``headers``."""

    def __init__(self) -> None:
        self._open = threading.Event()
        # Per process and never printed: nothing outside this process can send it.
        self._token = secrets.token_urlsafe(24)

    @property
    def headers(self) -> dict[str, str]:
        return {STARTUP_HEADER: self._token}

    def open(self) -> None:
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def admits(self, token: str | None) -> bool:
        return self._open.is_set() or (token is not None and secrets.compare_digest(token, self._token))


def create_api_server(
    app_module: ModuleType,
    *,
    host: str,
    port: int,
    prefix: str,
    project_dir: str,
    stage: str,
    lock: StateLock,
    gate: StartupGate,
) -> Any:
    """Chalice's ``LocalDevServer`` for ``app_module.app`` (not yet serving)."""
    from chalice.config import Config  # noqa: PLC0415  # the local server is not part of the Lambda package
    from chalice.local import (  # noqa: PLC0415  # as above
        ChaliceRequestHandler,
        ForbiddenError,
        LocalChalice,
        LocalDevServer,
        LocalGatewayException,
        create_local_server,
    )

    app_obj = app_module.app
    config = Config.create(
        chalice_stage=stage, app_name="vigil", chalice_app=app_obj, project_dir=project_dir
    )
    if isinstance(app_obj, LocalChalice):
        # create_local_server already adapted the app (a previous stack in this process);
        # adapting it twice would make its class inherit from itself.
        server = LocalDevServer(app_obj, config, host, port)
    else:
        server = create_local_server(app_obj, config, host, port)

    class Handler(ChaliceRequestHandler):
        path: str  # BaseHTTPRequestHandler's: the request's path and query

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("http_request.served", line=format % args)

        def parse_request(self) -> bool:
            # Served under the public URL's path ("/api", as API Gateway's stage path): the
            # app sees the path without it, and nothing outside it is found.
            if not super().parse_request():
                return False
            if not prefix:
                return True
            path, _, query = self.path.partition("?")
            if path != prefix and not path.startswith(prefix + "/"):
                self._refuse_unknown_path()
                return False
            self.path = (path.removeprefix(prefix) or "/") + (f"?{query}" if query else "")
            return True

        def _handle_when_ready(self) -> None:
            if not gate.admits(self.headers.get(STARTUP_HEADER)):
                self._refuse_while_starting()
                return
            with lock.reading():
                self._generic_handle()

        # ChaliceRequestHandler binds these to its own _generic_handle.
        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle_when_ready

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, CONNECT, a made-up one) goes to the app too, which refuses it
            # as API Gateway's routes do: 405 in the API's error shape, with Allow. Without this,
            # http.server answers 501 in HTML, a server error for a request that is the client's.
            if name.startswith("do_") and name[3:].isalpha():
                return self._handle_when_ready
            raise AttributeError(name)

        def _refuse_while_starting(self) -> None:
            body = json.dumps(
                error_body("unavailable", "the local stack is starting; retry in a moment")
            ).encode()
            # The body was not read: the connection cannot carry another request.
            self.close_connection = True
            headers = {
                **JSON_HEADERS,
                "Retry-After": str(STARTING_RETRY_SECONDS),
                "Connection": "close",
            }
            self._send_http_response(503, headers, body)

        def _refuse_unknown_path(self) -> None:
            refusal = GATEWAY_REFUSALS["MISSING_AUTHENTICATION_TOKEN"]
            body = json.dumps(refusal.body()).encode()
            self._send_http_response(refusal.status or 404, dict(JSON_HEADERS), body)

        def _send_error_response(self, error: LocalGatewayException) -> None:
            # Chalice's gateway refuses an unknown path with API Gateway's default 403; the
            # deployed API answers it as infra/package.py configures it, and so does this one.
            if isinstance(error, ForbiddenError):
                self._refuse_unknown_path()
                return
            super()._send_error_response(error)

    # Chalice's handler writes each request to stderr; send it to the structured log instead.
    server.server.RequestHandlerClass = functools.partial(Handler, app_object=app_obj, config=config)
    return server
