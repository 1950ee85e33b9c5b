"""The local stack's HTTP server answers every method as API Gateway's routes do: in the API's shape."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from chalice.app import Chalice

from vigil_local.api_server import StartupGate, create_api_server
from vigil_local.state_lock import StateLock

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def served() -> Iterator[int]:
    """A one-route app (not app.py: the local server adapts the app it serves, in place) on a free port."""
    module = ModuleType("one_route")
    app = Chalice(app_name="one-route")

    @app.route("/health", methods=["GET"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    module.app = app  # type: ignore[attr-defined]
    gate = StartupGate()
    gate.open()
    server = create_api_server(
        module,
        host="127.0.0.1",
        port=0,
        prefix="",
        project_dir=ROOT,
        stage="local",
        lock=StateLock(),
        gate=gate,
    )
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server.server_address[1])
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_a_method_http_server_does_not_know_is_a_405_not_a_501(served: int, method: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    try:
        connection.request(method, "/health")
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()

    assert answer.status == 405
    assert answer.getheader("Allow") == "GET"
    assert answer.getheader("Content-Type") == "application/json"
    # The app's own refusal (app.py gives it the API's error shape; this bare app keeps Chalice's).
    assert f"Unsupported method: {method}" in json.loads(body).values()
