"""The local stack killed (SIGKILL) at random moments while a client works it, and started again.

Whatever the stack answered for at least ``MARGIN_SECONDS`` before a kill (an event accepted, a
subscriber created, an address confirmed, a notice acknowledged) is there after the restart, and the
work the queues held resumes without sending anything twice: once the pump has drained, every
recipient's email of every notice is in the outbox exactly once.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import signal
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack, free_ports, launched_stack, wait_for
from tests.e2e.test_acknowledgment import ack_path
from tests.e2e.test_local_stack import rollout

pytestmark = pytest.mark.e2e

SEED = 20120222
KILLS = 3
# A save follows a change within about half a second (plus the requests then in flight); the
# margin leaves room for a loaded machine, where a save has been seen to land 1.7 s after a change.
MARGIN_SECONDS = 3.0
LOAD_SECONDS = (3.5, 6.0)  # how long the client works before each kill, drawn per kill
# ... and at least this many of its actions answered: a loaded machine answers slowly, and a round
# must still hold each kind of work before its kill.
MIN_ACTIONS_PER_ROUND = 10
PAUSE_SECONDS = 0.1  # between the client's actions
DRAIN_TIMEOUT_SECONDS = 45.0
TOWNS = ("New Haven", "Hartford", "Bridgeport", "Stamford", "Norwalk", "Danbury", "Waterbury")
ADVISER = "cj.adviser@governor.example.gov"  # statewide: every rollout reaches the adviser


@dataclass(frozen=True)
class Done:
    """Something the stack answered for: what, which object, and when the answer came."""

    kind: str  # "accepted", "subscribed", "confirmed", "acknowledged"
    ref: str  # notice or subscriber id
    at: float  # time.monotonic()


class Client:
    """Works the stack from a thread until stopped: events, subscribers, confirmations, acks."""

    def __init__(self, stack: RunningStack, rng: random.Random, done: list[Done], round_no: int) -> None:
        self._stack = stack
        self._rng = rng
        self._done = done
        self._round = round_no
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._count = 0

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    @property
    def actions(self) -> int:
        return self._count

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._count += 1
            # The stack killed mid-request, or an answer with nothing usable: the next action.
            with contextlib.suppress(
                OSError, http.client.HTTPException, ValueError, LookupError, TypeError, StopIteration
            ):
                self._act(self._rng.random())
            self._stop.wait(PAUSE_SECONDS)

    def _act(self, draw: float) -> None:
        stack, key = self._stack, self._stack.admin_key
        if draw < 0.6:
            event = rollout(self._rng.choice(TOWNS), external_id=f"load-{SEED}-{self._round}-{self._count}")
            answer = stack.call("POST", "/events", event, key=key)
            if answer.status == 202:
                self._note("accepted", answer.body["notice_id"])
        elif draw < 0.8:
            address = f"load-{self._round}-{self._count}@example.gov"
            answer = stack.call(
                "POST",
                "/subscribers",
                {
                    "name": f"Load {self._round}-{self._count}",
                    "role": "local-official",
                    "channels": [{"type": "email", "address": address}],
                    "subscriptions": [{"jurisdiction": "Waterbury", "event_types": ["rollout"]}],
                },
                key=key,
            )
            if answer.status != 201:
                return
            subscriber_id = answer.body["id"]
            self._note("subscribed", subscriber_id)
            sent = stack.call("GET", "/dev/outbox?" + urllib.parse.urlencode({"to": address}), key=None)
            token = next(e for e in sent.body["emails"] if "/verify/" in e["text"])["text"]
            token = token.split("/verify/")[1].split()[0]
            if self._form(f"/verify/{token}").status == 200:
                self._note("confirmed", subscriber_id)
        else:
            sent = stack.call("GET", "/dev/outbox?" + urllib.parse.urlencode({"to": ADVISER}), key=None)
            emails = [e for e in sent.body["emails"] if "/ack/" in e["text"]]
            if not emails:
                return
            email = self._rng.choice(emails)
            notice_id = _notice_of(email)
            if self._form(ack_path(email)).status == 200:
                self._note("acknowledged", notice_id)

    def _form(self, path: str) -> Any:
        return self._stack.call(
            "POST",
            path,
            key=None,
            headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
        )

    def _note(self, kind: str, ref: str) -> None:
        self._done.append(Done(kind, ref, time.monotonic()))


def _notice_of(email: dict[str, Any]) -> str:
    """The notice id an email names (``ntc_…``)."""
    text = str(email["text"])
    start = text.index("ntc_")
    end = start + 4
    while end < len(text) and text[end].isalnum():
        end += 1
    return text[start:end]


def check_kept(stack: RunningStack, expected: list[tuple[Done, float]]) -> None:
    """Each thing done is still there; ``expected`` pairs it with the time of the kill after it."""
    key = stack.admin_key
    for done, killed_at in expected:
        lost = f"{done.kind} {done.ref}, answered {killed_at - done.at:.2f} s before a kill (seed {SEED})"
        if done.kind in {"accepted", "acknowledged"}:
            answer = stack.call("GET", f"/notices/{done.ref}", key=key)
            assert answer.status == 200, lost
            if done.kind == "acknowledged":
                # The adviser's click: the demo's policy also waits for the town's local official.
                adviser = {"role": "state-executive", "acknowledged": True}
                assert adviser in answer.body["required_roles"], lost
        else:
            answer = stack.call("GET", f"/subscribers/{done.ref}", key=key)
            assert answer.status == 200, lost
            if done.kind == "confirmed":
                assert [c["state"] for c in answer.body["channels"]] == ["active"], lost


def email_deliveries(detail: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        delivery
        for recipient in detail["recipients_detail"]
        for delivery in recipient["deliveries"]
        if delivery["channel"] == "email"
    ]


def test_kills_at_random_moments_lose_nothing_answered_and_send_nothing_twice(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    env = {
        "VIGIL_DATA_DIR": str(tmp_path / "data"),
        "VIGIL_ADMIN_KEY": "",
        "VIGIL_TICK_SECONDS": "86400",  # no sweep: every email of a notice is its first step's
        "VIGIL_LOG_LEVEL": "WARNING",
    }
    ports = free_ports(3)
    done: list[Done] = []
    must_keep: list[tuple[Done, float]] = []

    for round_no in range(KILLS):
        with launched_stack(tmp_path / f"run-{round_no}.log", env=env, ports=ports) as stack:
            check_kept(stack, must_keep)
            first = len(done)
            with Client(stack, rng, done, round_no) as client:
                time.sleep(rng.uniform(*LOAD_SECONDS))
                wait_for(
                    lambda: client.actions,
                    lambda n: n >= MIN_ACTIONS_PER_ROUND,
                    timeout=90,
                    what=f"{MIN_ACTIONS_PER_ROUND} actions of the client",
                    interval=0.05,
                )
                killed_at = time.monotonic()
                stack.process.send_signal(signal.SIGKILL)
                stack.process.wait(timeout=15)
            # What this round did long enough before its kill; the rest may or may not have been kept.
            must_keep += [(d, killed_at) for d in done[first:] if d.at <= killed_at - MARGIN_SECONDS]

    assert {d.kind for d, _ in must_keep} == {"accepted", "subscribed", "confirmed", "acknowledged"}, (
        f"seed {SEED}: the client did too little to test"
    )
    with launched_stack(tmp_path / "last.log", env=env, ports=ports) as stack:
        check_kept(stack, must_keep)
        notices = sorted({d.ref for d in done if d.kind == "accepted"})
        kept = {
            notice_id: answer.body
            for notice_id in notices
            if (answer := stack.call("GET", f"/notices/{notice_id}", key=stack.admin_key)).status == 200
        }

        def unsent() -> list[str]:
            details = {n: stack.call("GET", f"/notices/{n}", key=stack.admin_key).body for n in kept}
            return [
                n
                for n, detail in details.items()
                if not email_deliveries(detail)
                or any(d["status"] != "sent" for d in email_deliveries(detail))
            ]

        wait_for(unsent, lambda left: not left, timeout=DRAIN_TIMEOUT_SECONDS, what="every email sent")
        outbox = stack.call("GET", "/dev/outbox", key=None).body["emails"]
        for notice_id in kept:
            detail = stack.call("GET", f"/notices/{notice_id}", key=stack.admin_key).body
            sent = [address for e in outbox if notice_id in e["text"] for address in e["to"]]
            assert len(sent) == len(set(sent)), (notice_id, sorted(sent))  # nobody got it twice
            assert len(sent) == len(email_deliveries(detail)), (notice_id, sent)
