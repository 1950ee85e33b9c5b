"""Each command of the ``vigil`` command line against a real local HTTP server that records what it is
sent: keys, subscribers, events, notices, policies, sweep, jurisdictions, audit, triage, trusted
senders, duty rotations and correctional facilities, each sending the request its route expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.recording_api import EVENT, POLICY, SUBSCRIBER, FakeApi, json_file, recording_api, vigil

# The server of recording_api.py, answering as each test tells it.
api = pytest.fixture(name="api")(recording_api)

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


# --- correctional facilities ----------------------------------------------------------------------

HARRIS_JAIL = "us-tx/facility/harris-county-jail"


def test_facilities_list_add_show_and_change_call_their_routes(api: FakeApi) -> None:
    retire = {"retired": True}
    assert vigil(api.url, "facilities", "list", "--state", "TX").exit_code == 0
    added = vigil(
        api.url,
        "facilities",
        "add",
        "Harris County Jail",
        "--place",
        "Harris County, TX",
        "--kind",
        "jail",
        "--alias",
        "Harris Jail",
    )
    assert added.exit_code == 0
    assert vigil(api.url, "facilities", "show", HARRIS_JAIL).exit_code == 0
    changed = vigil(api.url, "facilities", "change", HARRIS_JAIL, "--file", "-", stdin=json.dumps(retire))
    assert changed.exit_code == 0

    listed, created, shown, patched = api.requests
    assert (listed.method, listed.path, listed.query) == ("GET", "/facilities", {"state": ["TX"]})
    assert (created.method, created.path) == ("POST", "/facilities")
    assert created.json() == {
        "name": "Harris County Jail",
        "place": "Harris County, TX",
        "kind": "jail",
        "aliases": ["Harris Jail"],
    }
    # The id's parts are path segments of their own, as API Gateway needs them (no %2F).
    assert (shown.method, shown.path) == ("GET", "/facilities/us-tx/facility/harris-county-jail")
    assert (patched.method, patched.path, patched.json()) == (
        "PATCH",
        "/facilities/us-tx/facility/harris-county-jail",
        retire,
    )


@pytest.mark.parametrize(
    "not_an_id", ["harris-county-jail", "us-tx/county/harris", "us-tx//x", "a/facility/b/c"]
)
def test_facilities_show_refuses_what_is_not_a_facility_id_without_calling_the_api(
    api: FakeApi, not_an_id: str
) -> None:
    result = vigil(api.url, "facilities", "show", not_an_id)

    assert result.exit_code == 2
    assert "FACILITY_ID" in result.stderr
    assert api.requests == []
