"""The local stack stopped and started again: what was done is still there, links sent still work.

Each test runs its own stacks (``python -m vigil_local``) on one data directory and one set of
ports, as ``make run`` run twice would.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack, free_ports, launched_stack, wait_for
from tests.e2e.test_acknowledgment import ack_path
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, emails_for, rollout
from vigil_local import datadir, snapshot

pytestmark = pytest.mark.e2e

ADVOCATE_HOOK = "/hooks/immigrant-rights"
ADVISER = "cj.adviser@governor.example.gov"  # the demo's governor's office, statewide
STOP_SECONDS = 15.0


def stack_env(data_dir: Path, **more: str) -> dict[str, str]:
    # No VIGIL_ADMIN_KEY: the stack makes one and keeps it. No sweep: nothing is sent but what the
    # tests cause.
    return {"VIGIL_DATA_DIR": str(data_dir), "VIGIL_ADMIN_KEY": "", "VIGIL_TICK_SECONDS": "86400", **more}


def outbox_to(stack: RunningStack, address: str) -> dict[str, Any]:
    answer = stack.call("GET", "/dev/outbox?" + urllib.parse.urlencode({"to": address}), key=None)
    assert answer.status == 200, answer
    assert isinstance(answer.body, dict)
    return answer.body


def subscribe(stack: RunningStack, address: str, *, role: str = "local-official") -> str:
    created = stack.call(
        "POST",
        "/subscribers",
        {
            "name": f"Restart check {address}",
            "role": role,
            "channels": [{"type": "email", "address": address}],
            "subscriptions": [{"jurisdiction": "Waterbury", "event_types": ["rollout"]}],
        },
        key=stack.admin_key,
    )
    assert created.status == 201, created
    return str(created.body["id"])


def confirm(stack: RunningStack, address: str) -> None:
    """Click the confirmation link the outbox holds for the address."""
    emails = wait_for(
        lambda: [e for e in outbox_to(stack, address)["emails"] if "/verify/" in e["text"]],
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what=f"the confirmation email to {address}",
    )
    token = str(emails[-1]["text"]).split("/verify/")[1].split()[0]
    answer = stack.call(
        "POST",
        f"/verify/{token}",
        key=None,
        headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200, answer


def email_to(stack: RunningStack, notice_id: str, address: str) -> dict[str, Any]:
    found = wait_for(
        lambda: [e for e in emails_for(stack, notice_id) if address in e["to"]],
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what=f"the email to {address}",
    )
    return found[0]


def channel_states(stack: RunningStack, subscriber_id: str) -> list[str]:
    answer = stack.call("GET", f"/subscribers/{subscriber_id}", key=stack.admin_key)
    assert answer.status == 200, answer
    return [str(channel["state"]) for channel in answer.body["channels"]]


def received_webhooks(stack: RunningStack) -> list[dict[str, Any]]:
    """What the demo receiver got (its GET lists it)."""
    with urllib.request.urlopen(stack.receiver_url, timeout=10) as response:  # noqa: S310  # local http URL
        received = json.loads(response.read())["received"]
    assert isinstance(received, list)
    return received


def stop(stack: RunningStack, how: signal.Signals) -> None:
    stack.process.send_signal(how)
    stack.process.wait(timeout=STOP_SECONDS)


def test_subscribers_keys_notices_and_sent_links_survive_a_stop_and_start(tmp_path: Path) -> None:
    env, ports = stack_env(tmp_path / "data"), free_ports(3)
    address = "restart.check@example.gov"
    with launched_stack(tmp_path / "first.log", env=env, ports=ports) as first:
        admin_key = first.admin_key
        assert admin_key.startswith("vk_")
        # Waterbury's own official: with the demo's governor's office, every role the demo's rollout
        # policy requires.
        subscriber_id = subscribe(first, address)
        confirm(first, address)
        viewer = first.call("POST", "/keys", {"name": "restart viewer", "role": "viewer"}, key=admin_key)
        assert viewer.status == 201, viewer
        notice = first.call("POST", "/events", rollout("Waterbury"), key=admin_key)
        assert notice.status == 202, notice
        notice_id = notice.body["notice_id"]
        links = [f"{first.api_url}{ack_path(email_to(first, notice_id, to))}" for to in (address, ADVISER)]
        stop(first, signal.SIGTERM)
        assert first.process.returncode == 0, first.output()[-3000:]

    with launched_stack(tmp_path / "second.log", env=env, ports=ports) as second:
        assert second.admin_key == admin_key
        assert "Restored the state saved at" in second.output()
        assert channel_states(second, subscriber_id) == ["active"]
        assert second.call("GET", f"/notices/{notice_id}", key=viewer.body["key"]).status == 200
        assert [e["to"] for e in emails_for(second, notice_id) if address in e["to"]] == [[address]]

        for link in links:
            clicked = second.call(
                "POST",
                link,
                key=None,
                headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
                base="",
            )
            assert clicked.status == 200, clicked
            assert "your acknowledgment is recorded" in clicked.body
        detail = second.call("GET", f"/notices/{notice_id}", key=admin_key).body
        assert detail["status"] == "acknowledged"

        # The demo receiver knows the demo's webhook secret again: what is sent now verifies.
        later = second.call("POST", "/events", rollout("Hartford"), key=admin_key).body["notice_id"]
        wait_for(
            lambda: [
                r
                for r in received_webhooks(second)
                if r["path"] == ADVOCATE_HOOK and r["body"]["data"]["notice_id"] == later
            ],
            lambda found: bool(found) and all(r["verified"] for r in found),
            timeout=DELIVERY_TIMEOUT_SECONDS,
            what="a verified webhook after the restart",
        )


def test_a_kill_two_seconds_after_a_change_keeps_the_change(tmp_path: Path) -> None:
    env, ports = stack_env(tmp_path / "data", VIGIL_DEMO="0"), free_ports(3)
    with launched_stack(tmp_path / "first.log", env=env, ports=ports) as first:
        subscriber_id = subscribe(first, "killed.after@example.gov")
        time.sleep(2.0)
        stop(first, signal.SIGKILL)

    with launched_stack(tmp_path / "second.log", env=env, ports=ports) as second:
        assert channel_states(second, subscriber_id) == ["unverified"]


def test_a_snapshot_of_another_format_is_set_aside_and_the_stack_starts_empty(tmp_path: Path) -> None:
    data_dir = datadir.prepare(tmp_path / "data")
    payload = snapshot.dumps({"backends": {}})
    moto_version, python_version = snapshot.running_versions()
    stamp = {
        "format": snapshot.FORMAT + 98,
        "moto": moto_version,
        "python": python_version,
        "saved_at": "2026-01-01T00:00:00+00:00",
        "sha256": "0" * 64,
        "size": len(payload),
    }
    written = snapshot.MAGIC + json.dumps(stamp).encode() + b"\n" + payload
    (data_dir / datadir.SNAPSHOT_FILE).write_bytes(written)
    (data_dir / datadir.SNAPSHOT_FILE).chmod(0o600)

    with launched_stack(tmp_path / "run.log", env=stack_env(data_dir)) as stack:
        output = stack.output()
        assert "The saved state could not be restored" in output
        assert f"it is in format {snapshot.FORMAT + 98}" in output
        [aside] = data_dir.glob(f"{datadir.SNAPSHOT_FILE}.unusable-*")
        assert aside.read_bytes() == written
        assert f"It is kept as {aside}" in output
        # Started empty: the demo was seeded into it.
        listed = stack.call("GET", "/subscribers?limit=100", key=stack.admin_key)
        assert len(listed.body["items"]) == 19
    assert (data_dir / datadir.SNAPSHOT_FILE).exists()  # the new state, saved on the way out
