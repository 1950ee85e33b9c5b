"""Ready means ready: the local stack answers 503 to everyone until it can serve, and nothing a client
does while it starts can stop it or spoil the demo it is seeding."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import free_ports, launched_stack

pytestmark = pytest.mark.e2e

GUESSES_NEEDED = 25  # more than the 20 invalid links an address may try in ten minutes


def logged_at(output: str, event: str) -> float:
    """When the stack logged ``event`` (its console lines start with an ISO time in UTC)."""
    line = next(line for line in output.splitlines() if f" {event} " in line)
    return datetime.fromisoformat(line.split()[0]).timestamp()


class Guesser:
    """Asks for invalid acknowledgment links, and for /health, as fast as the stack answers."""

    def __init__(self, api_url: str) -> None:
        self._api_url = api_url
        self._stop = threading.Event()
        self.answers: list[tuple[float, str, int, dict[str, object] | None]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Guesser:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        count = 0
        while not self._stop.is_set() and count < 5000:  # bounded, whatever happens
            count += 1
            path = "/health" if count % 5 == 0 else f"/ack/not-a-token-{count}"
            request = urllib.request.Request(  # noqa: S310  # the test's own local http URL
                f"{self._api_url}{path}", headers={"Accept": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310  # as above
                    self._note(path, response.status, response.read())
            except urllib.error.HTTPError as exc:
                self._note(path, exc.code, exc.read())
            except OSError:
                time.sleep(0.02)  # not listening yet

    def _note(self, path: str, status: int, raw: bytes) -> None:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.answers.append((time.time(), path, status, body if isinstance(body, dict) else None))


def test_guessing_links_while_the_demo_is_seeded_neither_stops_the_stack_nor_refuses_the_demo(
    tmp_path: Path,
) -> None:
    ports = free_ports(3)
    with (
        Guesser(f"http://127.0.0.1:{ports[0]}") as guesser,
        launched_stack(tmp_path / "run.log", ports=ports) as stack,
    ):
        # launched_stack returns once the stack answers /health with 200 and has printed its banner.
        guesser.stop()
        assert stack.process.poll() is None  # still running
        listed = stack.call("GET", "/subscribers?limit=100", key=stack.admin_key)
        assert listed.status == 200, listed
        states = {c["state"] for s in listed.body["items"] for c in s["channels"]}
        assert len(listed.body["items"]) == 19
        assert states == {"active"}  # every demo address confirmed: no confirmation was refused
        output = stack.output()
    seeding = (logged_at(output, "api.started"), logged_at(output, "demo.seeded"))
    during_seeding = [a for a in guesser.answers if seeding[0] <= a[0] <= seeding[1]]

    guesses = [a for a in during_seeding if a[1].startswith("/ack/")]
    assert len(guesses) >= GUESSES_NEEDED, f"only {len(guesses)} guesses landed while the demo was seeded"
    assert {a[2] for a in during_seeding} == {503}
    assert all(a[3] and a[3]["error"] == "unavailable" for a in during_seeding)
    assert [a for a in guesser.answers if a[1] == "/health" and a[2] == 503]
    assert "demo.seeded" in output
    assert "subscribers=19" in output
    assert "local_stack.start_failed" not in output
    assert "demo.seed_failed" not in output
    assert stack.process.returncode == 0  # it ran until the test stopped it, and stopped cleanly
