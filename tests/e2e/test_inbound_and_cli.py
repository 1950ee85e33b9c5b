"""Issues 4 and 6 on the local stack: a forwarded low-key email becomes a statewide rollout, and an
admin does the everyday work with the `vigil` command as well as with curl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_KEY, RunningStack, wait_for
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, emails_for

pytestmark = pytest.mark.e2e

STORY = Path(__file__).resolve().parents[1] / "corpus" / "mail" / "story-inline-forward.eml"
STATE_OFFICIALS = {"cj.adviser@governor.example.gov", "commissioner@doc.example.gov"}


def test_a_forwarded_goes_statewide_on_wednesday_email_becomes_a_low_key_statewide_rollout(
    local_stack: RunningStack,
) -> None:
    request = urllib.request.Request(  # noqa: S310  # the test's own local http URL
        f"{local_stack.api_url}/inbound/email",
        data=STORY.read_bytes(),
        headers={"Content-Type": "message/rfc822", "Authorization": f"Bearer {ADMIN_KEY}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # as above
        assert response.status == 202
        answer = json.loads(response.read())
    [accepted] = answer["notices"]
    assert accepted["low_key"] is True
    notice = local_stack.call("GET", f"/notices/{accepted['notice_id']}").body
    assert notice["jurisdiction_id"] == "us-ct"
    assert notice["event"]["effective_at"] == "2012-02-22T00:00:00-05:00"
    assert notice["low_key"] is True
    emails = wait_for(
        lambda: emails_for(local_stack, accepted["notice_id"]),
        lambda found: {a for e in found for a in e["to"]} >= STATE_OFFICIALS,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the state officials' emails",
    )
    assert {a for e in emails for a in e["to"]} >= STATE_OFFICIALS
    log = local_stack.call("GET", f"/notices/{accepted['notice_id']}/log").body
    assert log["entries"][0]["data"]["raw"].startswith("s3://")


def vigil(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIGIL_URL": stack.api_url, "VIGIL_KEY": ADMIN_KEY}
    return subprocess.run(  # noqa: S603  # our own CLI, fixed arguments
        [sys.executable, "-m", "vigil_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_an_admin_works_with_the_vigil_command(local_stack: RunningStack, tmp_path: Path) -> None:
    assert json.loads(vigil(local_stack, "health").stdout) == {"status": "ok"}
    created = vigil(local_stack, "keys", "create", "--name", "e2e viewer", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["key"].startswith("vk_")
    listed = json.loads(vigil(local_stack, "subscribers", "list", "--limit", "100").stdout)
    assert len(listed["items"]) >= 19  # the demo's offices
    event = tmp_path / "rollout.json"
    event.write_text(
        json.dumps(
            {
                "type": "rollout",
                "external_id": "cli-e2e-1",
                "program": "secure-communities",
                "jurisdiction": "Hartford",
                "effective_at": "2026-12-02T00:00:00-05:00",
                "summary": "Secure Communities activates in Hartford",
            }
        )
    )
    submitted = vigil(local_stack, "events", "submit", "--file", str(event))
    assert submitted.returncode == 0, submitted.stderr
    notice_id = json.loads(submitted.stdout)["notice_id"]
    verified = vigil(local_stack, "notices", "verify", notice_id)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified" in verified.stdout
    refused = vigil(local_stack, "notices", "show", "ntc_nothing")
    assert refused.returncode == 1
    assert json.loads(refused.stderr)["error"] == "not_found"
