"""The ``vigil`` command line against a real local HTTP server that records what it is sent."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner, Result

from vigil_cli.client import ApiError, VigilClient
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


@pytest.fixture
def api() -> Iterator[FakeApi]:
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


# --- output, key and URL ----------------------------------------------------------------------


def test_health_gets_health_and_prints_the_answer_as_indented_json(api: FakeApi) -> None:
    api.answer(200, {"status": "ok"})

    result = vigil(api.url, "health")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/health")
    assert result.stdout == '{\n  "status": "ok"\n}\n'
    assert result.stderr == ""


def test_compact_prints_the_answer_on_one_line(api: FakeApi) -> None:
    api.answer(200, {"status": "ok", "note": "…"})

    result = vigil(api.url, "--compact", "health")

    assert result.exit_code == 0
    assert result.stdout == '{"status": "ok", "note": "…"}\n'


def test_every_request_carries_the_key_as_a_bearer_token_and_asks_for_json(api: FakeApi) -> None:
    result = vigil(api.url, "keys", "list")

    assert result.exit_code == 0
    assert api.only.headers["authorization"] == f"Bearer {KEY}"
    assert api.only.headers["accept"] == "application/json"
    assert api.only.headers["user-agent"].startswith("vigil-cli/")


def test_a_request_without_a_body_sends_no_content_type(api: FakeApi) -> None:
    vigil(api.url, "keys", "list")

    assert "content-type" not in api.only.headers
    assert api.only.body == b""


def test_url_and_key_options_override_the_environment(api: FakeApi) -> None:
    result = vigil("http://127.0.0.1:9/unused", "--url", api.url, "--key", "vk_k2_other", "sweep")

    assert result.exit_code == 0
    assert api.only.headers["authorization"] == "Bearer vk_k2_other"


def test_url_default_is_the_local_stack() -> None:
    result = CliRunner().invoke(cli, ["--help"], env={"VIGIL_URL": None})

    assert result.exit_code == 0
    assert "http://127.0.0.1:8000" in result.stdout
    assert "VIGIL_URL" in result.stdout
    assert "VIGIL_KEY" in result.stdout


def test_url_with_a_stage_path_keeps_the_prefix(api: FakeApi) -> None:
    result = vigil(api.url + "/api/", "notices", "show", "n1")

    assert result.exit_code == 0
    assert api.only.path == "/api/notices/n1"


def test_without_a_key_no_authorization_is_sent_and_a_401_says_how_to_give_one(api: FakeApi) -> None:
    api.answer(401, {"error": "unauthorized", "message": "a valid API key is required", "details": []})

    result = vigil(api.url, "keys", "list", key=None)

    assert result.exit_code == 1
    assert "authorization" not in api.only.headers
    assert "set VIGIL_KEY or pass --key" in result.stderr


def test_a_url_that_is_not_http_is_a_usage_error() -> None:
    result = vigil("ftp://example.org", "health")

    assert result.exit_code == 2
    assert "not an http(s) URL" in result.stderr


def test_sending_the_key_over_plain_http_to_a_remote_host_warns() -> None:
    # The group warns before the subcommand's options are parsed: the missing --role stops it there.
    result = vigil("http://vigil.example.org", "keys", "create", "--name", "n")

    assert result.exit_code == 2
    assert "warning: sending the API key over plain http to vigil.example.org" in result.stderr


# --- keys -------------------------------------------------------------------------------------


def test_keys_create_posts_name_and_role_and_warns_the_key_is_shown_once(api: FakeApi) -> None:
    created = {"id": "k9", "name": "intake", "role": "source", "key": "vk_k9_s3cret"}
    api.answer(201, created)

    result = vigil(api.url, "keys", "create", "--name", "intake", "--role", "source")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("POST", "/keys")
    assert api.only.headers["content-type"] == "application/json"
    assert api.only.json() == {"name": "intake", "role": "source"}
    assert json.loads(result.stdout) == created
    warning = result.stderr.strip()
    assert "\n" not in warning
    assert "shown only this once" in warning


def test_keys_create_refuses_an_unknown_role_without_calling_the_api(api: FakeApi) -> None:
    result = vigil(api.url, "keys", "create", "--name", "x", "--role", "root")

    assert result.exit_code == 2
    assert api.requests == []


def test_keys_list_gets_keys(api: FakeApi) -> None:
    api.answer(200, {"items": [{"id": "k1", "role": "admin"}]})

    result = vigil(api.url, "keys", "list")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/keys")
    assert json.loads(result.stdout) == {"items": [{"id": "k1", "role": "admin"}]}


def test_keys_revoke_deletes_the_key_by_id(api: FakeApi) -> None:
    api.answer(204)

    result = vigil(api.url, "keys", "revoke", "k1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("DELETE", "/keys/k1")
    assert result.stdout == ""
    assert "revoked key k1" in result.stderr


# --- subscribers ------------------------------------------------------------------------------


def test_subscribers_create_posts_the_file_as_json(api: FakeApi, tmp_path: Path) -> None:
    api.answer(201, {"id": "s1", **SUBSCRIBER})

    result = vigil(api.url, "subscribers", "create", "--file", json_file(tmp_path, SUBSCRIBER))

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("POST", "/subscribers")
    assert api.only.headers["content-type"] == "application/json"
    assert api.only.json() == SUBSCRIBER
    assert json.loads(result.stdout)["id"] == "s1"
    assert result.stderr == ""


def test_subscribers_create_warns_that_webhook_secrets_are_shown_once(api: FakeApi, tmp_path: Path) -> None:
    channels = [{"type": "webhook", "url": "https://cases.example.org/hook", "secret": "whsec_abc"}]
    api.answer(201, {"id": "s1", "channels": channels})

    result = vigil(api.url, "subscribers", "create", "--file", json_file(tmp_path, SUBSCRIBER))

    assert result.exit_code == 0
    assert "webhook secrets are shown only in this answer" in result.stderr


def test_subscribers_create_reads_the_body_from_stdin_with_a_dash(api: FakeApi) -> None:
    result = vigil(api.url, "subscribers", "create", "--file", "-", stdin=json.dumps(SUBSCRIBER))

    assert result.exit_code == 0
    assert api.only.json() == SUBSCRIBER


def test_a_file_that_is_not_json_is_a_usage_error_and_sends_nothing(api: FakeApi, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{name: 1", encoding="utf-8")

    result = vigil(api.url, "subscribers", "create", "--file", str(bad))

    assert result.exit_code == 2
    assert "is not valid JSON" in result.stderr
    assert api.requests == []


def test_a_missing_file_is_a_usage_error(api: FakeApi, tmp_path: Path) -> None:
    result = vigil(api.url, "events", "submit", "--file", str(tmp_path / "absent.json"))

    assert result.exit_code == 2
    assert api.requests == []


def test_subscribers_list_gets_one_page_passing_limit_and_cursor(api: FakeApi) -> None:
    api.answer(200, {"items": [{"id": "s3"}], "cursor": "c2"})

    result = vigil(api.url, "subscribers", "list", "--limit", "1", "--cursor", "c1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/subscribers")
    assert api.only.query == {"limit": ["1"], "cursor": ["c1"]}
    assert json.loads(result.stdout) == {"items": [{"id": "s3"}], "cursor": "c2"}


def test_subscribers_list_without_options_sends_no_query(api: FakeApi) -> None:
    vigil(api.url, "subscribers", "list")

    assert api.only.query == {}


def test_subscribers_list_all_follows_the_cursor_and_prints_every_item(api: FakeApi) -> None:
    api.answer(200, {"items": [{"id": "s1"}, {"id": "s2"}], "cursor": "c1"})
    api.answer(200, {"items": [{"id": "s3"}], "cursor": "c2"})
    api.answer(200, {"items": [], "cursor": None})

    result = vigil(api.url, "subscribers", "list", "--all", "--limit", "2")

    assert result.exit_code == 0
    assert [r.query for r in api.requests] == [
        {"limit": ["2"]},
        {"limit": ["2"], "cursor": ["c1"]},
        {"limit": ["2"], "cursor": ["c2"]},
    ]
    assert json.loads(result.stdout) == {"items": [{"id": "s1"}, {"id": "s2"}, {"id": "s3"}], "cursor": None}


def test_subscribers_list_all_stops_when_the_api_repeats_a_cursor(api: FakeApi) -> None:
    api.answer(200, {"items": [], "cursor": "c1"})
    api.answer(200, {"items": [], "cursor": "c1"})

    result = vigil(api.url, "subscribers", "list", "--all")

    assert result.exit_code == 1
    assert len(api.requests) == 2
    assert "twice" in result.stderr


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_subscribers_list_refuses_a_limit_outside_1_to_100(api: FakeApi, limit: str) -> None:
    result = vigil(api.url, "subscribers", "list", "--limit", limit)

    assert result.exit_code == 2
    assert api.requests == []


def test_subscribers_show_gets_the_subscriber(api: FakeApi) -> None:
    api.answer(200, {"id": "s1", "name": "Adviser"})

    result = vigil(api.url, "subscribers", "show", "s1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/subscribers/s1")
    assert json.loads(result.stdout) == {"id": "s1", "name": "Adviser"}


def test_subscribers_update_patches_with_the_file(api: FakeApi, tmp_path: Path) -> None:
    change = {"escalation_contact": True}

    result = vigil(api.url, "subscribers", "update", "s1", "--file", json_file(tmp_path, change))

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("PATCH", "/subscribers/s1")
    assert api.only.headers["content-type"] == "application/json"
    assert api.only.json() == change


def test_subscribers_update_warns_when_the_answer_reveals_webhook_secrets(
    api: FakeApi, tmp_path: Path
) -> None:
    api.answer(
        200, {"id": "s1", "channels": [{"type": "webhook", "secret": "whsec_abc"}], "confirmations": []}
    )

    result = vigil(api.url, "subscribers", "update", "s1", "--file", json_file(tmp_path, {"name": "n"}))

    assert result.exit_code == 0
    assert "webhook secrets are shown only in this answer" in result.stderr


def test_subscribers_delete_sends_delete_and_prints_nothing_on_stdout_for_204(api: FakeApi) -> None:
    api.answer(204)

    result = vigil(api.url, "subscribers", "delete", "s1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("DELETE", "/subscribers/s1")
    assert result.stdout == ""
    assert "deleted subscriber s1" in result.stderr


def test_subscribers_test_posts_to_the_test_route_without_a_body(api: FakeApi) -> None:
    answer = {"subscriber_id": "s1", "sent": [{"channel_id": "email-1", "type": "email", "status": "sent"}]}
    api.answer(202, answer)

    result = vigil(api.url, "subscribers", "test", "s1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path, api.only.body) == ("POST", "/subscribers/s1/test", b"")
    assert json.loads(result.stdout) == answer


def test_subscribers_rotate_secret_posts_to_the_channel_and_warns_the_secret_is_shown_once(
    api: FakeApi,
) -> None:
    answer = {
        "channel_id": "c1",
        "secret": "whsec_new",
        "previous_secret_valid_until": "2026-12-07T00:00:00+00:00",
    }
    api.answer(200, answer)

    result = vigil(api.url, "subscribers", "rotate-secret", "s1", "c1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("POST", "/subscribers/s1/channels/c1/rotate-secret")
    assert json.loads(result.stdout) == answer
    assert "shown once" in result.stderr


def test_ids_are_sent_as_one_path_segment(api: FakeApi) -> None:
    vigil(api.url, "subscribers", "delete", "../keys/k1")

    assert api.only.path == "/subscribers/..%2Fkeys%2Fk1"


# --- events, notices, policies, sweep, jurisdictions, audit -----------------------------------


def test_events_submit_posts_the_event_with_the_idempotency_key_header(api: FakeApi, tmp_path: Path) -> None:
    accepted = {"notice_id": "n1", "duplicate": False, "recipients": 4, "coverage_gaps": []}
    api.answer(202, accepted)

    result = vigil(
        api.url, "events", "submit", "--file", json_file(tmp_path, EVENT), "--idempotency-key", "demo-1"
    )

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("POST", "/events")
    assert api.only.headers["idempotency-key"] == "demo-1"
    assert api.only.headers["content-type"] == "application/json"
    assert api.only.json() == EVENT
    assert json.loads(result.stdout) == accepted


def test_events_submit_without_an_idempotency_key_sends_no_such_header(api: FakeApi, tmp_path: Path) -> None:
    vigil(api.url, "events", "submit", "--file", json_file(tmp_path, EVENT))

    assert "idempotency-key" not in api.only.headers


def test_notices_show_gets_the_notice(api: FakeApi) -> None:
    api.answer(200, {"id": "n1", "status": "open"})

    result = vigil(api.url, "notices", "show", "n1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/notices/n1")
    assert json.loads(result.stdout) == {"id": "n1", "status": "open"}


def test_notices_log_gets_the_log(api: FakeApi) -> None:
    log = {"verified": True, "broken_at": None, "reason": None, "entries": [{"seq": 0}]}
    api.answer(200, log)

    result = vigil(api.url, "notices", "log", "n1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/notices/n1/log")
    assert json.loads(result.stdout) == log


def test_notices_verify_prints_verified_with_the_entry_count_and_exits_0(api: FakeApi) -> None:
    entries = [{"seq": 0, "kind": "created"}, {"seq": 1, "kind": "routed"}, {"seq": 2, "kind": "delivered"}]
    api.answer(200, {"verified": True, "broken_at": None, "reason": None, "entries": entries})

    result = vigil(api.url, "notices", "verify", "n1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/notices/n1/log")
    assert result.stdout == "verified: 3 entries\n"


def test_notices_verify_says_what_the_log_was_checked_against(api: FakeApi) -> None:
    api.answer(
        200,
        {
            "verified": True,
            "broken_at": None,
            "reason": None,
            "anchor": {"seq": 4, "hash": "a" * 64},
            "digest": {"date": "2012-02-17", "seq": 2, "hash": "b" * 64},
            "entries": [{"seq": n} for n in range(5)],
        },
    )
    result = vigil(api.url, "notices", "verify", "ntc_1")
    assert result.exit_code == 0
    assert (
        result.stdout == "verified: 5 entries; head kept on the notice: seq 4; digest of 2012-02-17: seq 2\n"
    )


def test_notices_verify_prints_the_broken_seq_and_reason_and_exits_1(api: FakeApi) -> None:
    reason = "entry 1 does not match its hash: it was edited"
    api.answer(
        200, {"verified": False, "broken_at": 1, "reason": reason, "entries": [{"seq": 0}, {"seq": 1}]}
    )

    result = vigil(api.url, "notices", "verify", "n1")

    assert result.exit_code == 1
    assert result.stdout == f"NOT VERIFIED at seq 1: {reason}\n"


def test_notices_verify_of_an_unknown_notice_is_a_refusal(api: FakeApi) -> None:
    api.answer(404, {"error": "not_found", "message": "no such notice", "details": []})

    result = vigil(api.url, "notices", "verify", "n404")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(result.stderr)["error"] == "not_found"


def test_policies_show_gets_the_policy_of_the_type(api: FakeApi) -> None:
    api.answer(200, POLICY)

    result = vigil(api.url, "policies", "show", "rollout")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/policies/rollout")
    assert json.loads(result.stdout) == POLICY


def test_policies_set_puts_the_file(api: FakeApi, tmp_path: Path) -> None:
    api.answer(200, POLICY)

    result = vigil(api.url, "policies", "set", "detainer", "--file", json_file(tmp_path, POLICY))

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("PUT", "/policies/detainer")
    assert api.only.headers["content-type"] == "application/json"
    assert api.only.json() == POLICY


def test_sweep_posts_admin_sweep(api: FakeApi) -> None:
    api.answer(200, {"escalated": [], "skipped": 0})

    result = vigil(api.url, "sweep")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path, api.only.body) == ("POST", "/admin/sweep", b"")
    assert json.loads(result.stdout) == {"escalated": [], "skipped": 0}


def test_jurisdictions_find_sends_the_query_as_q(api: FakeApi) -> None:
    found = {"jurisdiction": {"id": "us-ct/town/new-haven"}, "ancestors": ["us-ct"]}
    api.answer(200, found)

    result = vigil(api.url, "jurisdictions", "find", "New Haven & co")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/jurisdictions")
    assert api.only.query == {"q": ["New Haven & co"]}
    assert json.loads(result.stdout) == found


def test_audit_gets_the_audit_trail_with_a_limit(api: FakeApi) -> None:
    result = vigil(api.url, "audit", "--limit", "5")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/audit")
    assert api.only.query == {"limit": ["5"]}


@pytest.mark.parametrize("limit", ["0", "101"])
def test_audit_refuses_a_limit_outside_1_to_100(api: FakeApi, limit: str) -> None:
    result = vigil(api.url, "audit", "--limit", limit)

    assert result.exit_code == 2
    assert api.requests == []


# --- triage and trusted senders ---------------------------------------------------------------


def test_triage_list_gets_the_queue_with_limit_and_cursor(api: FakeApi) -> None:
    result = vigil(api.url, "triage", "list", "--limit", "10", "--cursor", "c1")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/inbound/triage")
    assert api.only.query == {"limit": ["10"], "cursor": ["c1"]}


def test_triage_complete_posts_program_place_and_date(api: FakeApi) -> None:
    result = vigil(
        api.url,
        "triage",
        "complete",
        "ntc/1",
        "--program",
        "secure-communities",
        "--jurisdiction",
        "statewide",
        "--effective-at",
        "2012-02-22T00:00:00-05:00",
    )

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("POST", "/inbound/triage/ntc%2F1")
    assert api.only.json() == {
        "program": "secure-communities",
        "jurisdiction": "statewide",
        "effective_at": "2012-02-22T00:00:00-05:00",
    }


def test_triage_dismiss_posts_the_reason(api: FakeApi) -> None:
    result = vigil(api.url, "triage", "dismiss", "ntc_1", "--reason", "a newsletter")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("POST", "/inbound/triage/ntc_1/dismiss")
    assert api.only.json() == {"reason": "a newsletter"}


def test_triage_dismiss_without_a_reason_is_a_usage_error(api: FakeApi) -> None:
    assert vigil(api.url, "triage", "dismiss", "ntc_1").exit_code == 2
    assert api.requests == []


def test_senders_list_add_and_remove(api: FakeApi) -> None:
    assert vigil(api.url, "senders", "list").exit_code == 0
    assert vigil(api.url, "senders", "add", "ice.dhs.gov", "--note", "ICE").exit_code == 0
    api.answer(204)
    removed = vigil(api.url, "senders", "remove", "desk.sergeant@example.gov")

    assert removed.exit_code == 0
    assert removed.stderr == "no longer trusted: desk.sergeant@example.gov\n"
    listed, added, deleted = api.requests
    assert (listed.method, listed.path) == ("GET", "/inbound/senders")
    assert (added.method, added.path, added.json()) == (
        "POST",
        "/inbound/senders",
        {"sender": "ice.dhs.gov", "note": "ICE"},
    )
    assert (deleted.method, deleted.path) == ("DELETE", "/inbound/senders/desk.sergeant%40example.gov")


# --- duty rotations ---------------------------------------------------------------------------

ROTATION = {
    "jurisdiction": "New Haven Correctional Center",
    "role": "corrections",
    "members": ["sub_ana", "sub_ben"],
    "shift": "P1D",
    "handoff": "08:00",
    "start": "2026-03-02",
}


def test_rotations_create_list_show_update_and_delete_call_their_routes(api: FakeApi, tmp_path: Path) -> None:
    cover = {"add_overrides": [{"start": "2026-03-10T12:00:00-04:00", "end": "2026-03-10T18:00:00-04:00"}]}
    assert vigil(api.url, "rotations", "create", "--file", json_file(tmp_path, ROTATION)).exit_code == 0
    assert vigil(api.url, "rotations", "list").exit_code == 0
    assert vigil(api.url, "rotations", "show", "rot_1").exit_code == 0
    assert (
        vigil(api.url, "rotations", "update", "rot_1", "--file", "-", stdin=json.dumps(cover)).exit_code == 0
    )
    api.answer(204)
    deleted = vigil(api.url, "rotations", "delete", "rot/1")

    assert deleted.exit_code == 0
    assert deleted.stderr == "deleted rotation rot/1\n"
    created, listed, shown, updated, removed = api.requests
    assert (created.method, created.path, created.json()) == ("POST", "/rotations", ROTATION)
    assert (listed.method, listed.path) == ("GET", "/rotations")
    assert (shown.method, shown.path) == ("GET", "/rotations/rot_1")
    assert (updated.method, updated.path, updated.json()) == ("PATCH", "/rotations/rot_1", cover)
    assert (removed.method, removed.path) == ("DELETE", "/rotations/rot%2F1")


def test_rotations_create_without_a_file_is_a_usage_error(api: FakeApi) -> None:
    assert vigil(api.url, "rotations", "create").exit_code == 2
    assert api.requests == []


# --- refusals and failures --------------------------------------------------------------------


def test_api_refusal_prints_the_error_json_on_stderr_and_exits_1(api: FakeApi, tmp_path: Path) -> None:
    api.answer(400, REFUSAL)

    result = vigil(api.url, "events", "submit", "--file", json_file(tmp_path, EVENT))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(result.stderr) == REFUSAL


def test_a_server_error_that_is_not_json_is_reported_in_the_error_shape(api: FakeApi) -> None:
    api.answer(502, raw=b"<html>Bad Gateway</html>")

    result = vigil(api.url, "--compact", "sweep")

    assert result.exit_code == 1
    error = json.loads(result.stderr)
    assert error["error"] == "http_error"
    assert "502" in error["message"]


def test_a_redirect_is_not_followed_so_the_key_never_leaves_for_another_host(api: FakeApi) -> None:
    api.answer(302, {}, Location="http://127.0.0.1:9/stolen")

    result = vigil(api.url, "keys", "list")

    assert result.exit_code == 1
    assert len(api.requests) == 1


def test_a_success_that_is_not_json_exits_1_saying_so(api: FakeApi) -> None:
    api.answer(200, raw=b"<html>a login page</html>")

    result = vigil(api.url, "health")

    assert result.exit_code == 1
    assert "not JSON" in result.stderr


def test_connection_refused_prints_one_line_and_exits_3() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: connecting is refused
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"

        result = vigil(url, "health")

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == f"vigil: cannot reach {url}: Connection refused\n"


def test_no_answer_within_the_timeout_exits_3() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts the connection, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        result = vigil(url, "health", extra=["--timeout", "0.2"])

    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "within 0.2s" in result.stderr


# --- the client on its own, and the module entry point ----------------------------------------


def test_client_request_returns_the_status_and_the_decoded_json(api: FakeApi) -> None:
    api.answer(201, {"id": "s1"})

    status, body = VigilClient(api.url, KEY).request("POST", "/subscribers", {"name": "x"}, query={"a": 1})

    assert (status, body) == (201, {"id": "s1"})
    assert api.only.query == {"a": ["1"]}


def test_client_answers_none_for_an_empty_body(api: FakeApi) -> None:
    api.answer(204)

    assert VigilClient(api.url, KEY).request("DELETE", "/keys/k1") == (204, None)


def test_client_raises_api_error_with_the_status_and_the_body(api: FakeApi) -> None:
    api.answer(403, {"error": "forbidden", "message": "admin only", "details": []})

    with pytest.raises(ApiError) as raised:
        VigilClient(api.url, KEY).request("GET", "/keys")

    assert raised.value.status == 403
    assert raised.value.body == {"error": "forbidden", "message": "admin only", "details": []}


def test_module_runs_as_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vigil_cli", "--help"], capture_output=True, text=True, check=False, timeout=60
    )

    assert done.returncode == 0
    assert "Usage: vigil" in done.stdout


def test_without_vigil_url_the_local_stack_is_found_on_vigil_port(api: FakeApi) -> None:
    port = api.url.rsplit(":", 1)[1]
    env = {**NO_PROXY_ENV, "VIGIL_URL": None, "VIGIL_PORT": port, "VIGIL_KEY": KEY}

    result = CliRunner().invoke(cli, ["health"], env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.stderr
    assert api.only.path == "/health"


def test_vigil_url_wins_over_vigil_port(api: FakeApi) -> None:
    env = {**NO_PROXY_ENV, "VIGIL_URL": api.url, "VIGIL_PORT": "9", "VIGIL_KEY": KEY}

    result = CliRunner().invoke(cli, ["health"], env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.stderr
    assert api.only.path == "/health"


@pytest.mark.parametrize("port", ["eighty", "0", "70000"])
def test_a_vigil_port_that_is_not_a_port_is_a_usage_error(port: str) -> None:
    result = CliRunner().invoke(cli, ["health"], env={"VIGIL_URL": None, "VIGIL_PORT": port})

    assert result.exit_code == 2
    assert "VIGIL_PORT must be a port from 1 to 65535" in result.stderr


def test_the_help_says_where_the_url_comes_from() -> None:
    result = CliRunner().invoke(cli, ["--help"], env={"VIGIL_URL": None, "VIGIL_PORT": None})

    assert "VIGIL_PORT" in result.stdout
