"""The acknowledgment log's end under tampering, against moto: a deleted newest entry, a forged tail
with recomputed hashes, and a log rewritten with its head, caught through the API, the ``vigil``
command and the day's digest; the audit trail likewise. The pipeline is the ``faulty`` one of
under_faults.py, with no fault injected.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from chalicelib.adapters.ack_log import entry_to_item
from chalicelib.adapters.dynamodb import encode
from chalicelib.domain.acklog import AUDIT_STREAM, EntryKind, LogEntry, verify_anchored
from tests.fake_acklog import rewritten_from
from tests.integration.conftest import REGION, STAGE
from tests.integration.test_handlers import pipeline  # noqa: F401  # the fixture ``faulty`` builds on
from tests.integration.under_faults import Faulty, faulty_pipeline
from vigil_cli.main import cli
from vigil_local.api_server import StartupGate, create_api_server
from vigil_local.pump import LambdaContext
from vigil_local.state_lock import StateLock
from vigil_local.ticker import scheduled_event

pytestmark = pytest.mark.integration

# The pipeline of test_handlers.py, rebuilt on a session with a fault injector (see under_faults.py).
faulty = pytest.fixture(name="faulty")(faulty_pipeline)

# ------------------------------------------------------------------ the log's end


@dataclass
class Served:
    """The app over HTTP on this machine (the local stack's server), for the ``vigil`` command."""

    url: str
    admin: str

    def verify(self, notice_id: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            cli, ["--url", self.url, "notices", "verify", notice_id], env={"VIGIL_KEY": self.admin}
        )
        return result.exit_code, result.output


@pytest.fixture
def served(faulty: Faulty) -> Iterator[Served]:
    import app  # noqa: PLC0415  # the Chalice app, as the local stack serves it

    gate = StartupGate()
    gate.open()
    server = create_api_server(
        app, host="127.0.0.1", port=0, prefix="", project_dir=".", stage=STAGE, lock=StateLock(), gate=gate
    )
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server.server_address[:2]
    yield Served(f"http://{host}:{port}", faulty.base.admin)
    server.server.shutdown()
    thread.join(timeout=5)
    server.server.server_close()


def log_answer(f: Faulty, notice_id: str) -> dict[str, Any]:
    response = f.base.client.http.get(
        f"/notices/{notice_id}/log", headers={"Authorization": f"Bearer {f.base.admin}"}
    )
    assert response.status_code == 200
    answer: dict[str, Any] = json.loads(response.body)
    return answer


def audit_answer(f: Faulty) -> dict[str, Any]:
    response = f.base.client.http.get("/audit", headers={"Authorization": f"Bearer {f.base.admin}"})
    assert response.status_code == 200
    answer: dict[str, Any] = json.loads(response.body)
    return answer


def write_digest(f: Faulty) -> dict[str, Any]:
    """The digest schedule's function, as EventBridge invokes it."""
    import app  # noqa: PLC0415  # the Lambda function itself

    event = scheduled_event("on_digest_tick", region=REGION, now=f.clock.now)
    answer: dict[str, Any] = app.on_digest_tick(event, LambdaContext("on_digest_tick"))
    return answer


def a_routed_notice(f: Faulty) -> str:
    f.cast(f.receiver())
    [notice_id] = f.post_events(1)
    f.pump_until_quiet()
    return notice_id


def rewrite_from(f: Faulty, stream: str, seq: int, **change: Any) -> list[LogEntry]:
    """Change entry ``seq`` and seal it and every later entry again, each chained to the one before,
    written straight into the table: a tail forged by whoever can write it."""
    forged = rewritten_from(f.deps.ack_log.entries(stream), seq, **change)
    for entry in forged[seq:]:
        f.dynamodb.put_item(TableName=f"vigil-{STAGE}-ack-log", Item=encode(entry_to_item(entry)))
    return forged


def delete_newest(f: Faulty, stream: str) -> LogEntry:
    newest = f.deps.ack_log.entries(stream)[-1]
    f.dynamodb.delete_item(
        TableName=f"vigil-{STAGE}-ack-log",
        Key={"notice_id": {"S": stream}, "seq": {"N": str(newest.seq)}},
    )
    return newest


def test_the_ordinary_paths_verify_up_to_their_heads_and_the_days_digest(
    faulty: Faulty, served: Served
) -> None:
    notice_id = a_routed_notice(faulty)
    assert write_digest(faulty)["written"] is True
    log = log_answer(faulty, notice_id)
    newest = log["entries"][-1]
    assert (log["verified"], log["reason"]) == (True, None)
    assert log["anchor"] == {"seq": newest["seq"], "hash": newest["hash"]}
    assert log["digest"] == {"date": faulty.clock.now.date().isoformat(), **log["anchor"]}
    trail = audit_answer(faulty)
    newest_audited = trail["total"] - 1
    assert (trail["verified"], trail["anchor"]["seq"], trail["digest"]["seq"]) == (
        True,
        newest_audited,
        newest_audited,
    )
    code, output = served.verify(notice_id)
    assert code == 0, output
    assert output.startswith(f"verified: {len(log['entries'])} entries; head kept on the notice: seq ")
    # A day later the log has grown past its digest, and still verifies.
    faulty.faults.clear()
    faulty.deps.ack_log.append(notice_id, EntryKind.CLOSED, at=faulty.clock.now, actor="system", data={})
    assert log_answer(faulty, notice_id)["verified"] is True


def test_a_deleted_newest_entry_is_caught_through_the_api_and_the_cli(faulty: Faulty, served: Served) -> None:
    notice_id = a_routed_notice(faulty)
    newest = delete_newest(faulty, notice_id)
    log = log_answer(faulty, notice_id)
    assert (log["verified"], log["broken_at"]) == (False, newest.seq)
    assert log["reason"] == (
        f"the head kept outside the log names entry {newest.seq}, but the log ends at entry "
        f"{newest.seq - 1}: its newest entries were removed"
    )
    code, output = served.verify(notice_id)
    assert (code, output) == (1, f"NOT VERIFIED at seq {newest.seq}: {log['reason']}\n")


def test_a_forged_tail_with_recomputed_hashes_is_caught_through_the_api_and_the_cli(
    faulty: Faulty, served: Served
) -> None:
    notice_id = a_routed_notice(faulty)
    forged = rewrite_from(faulty, notice_id, 1, data={"recipients": 0, "coverage_gaps": ["state-executive"]})
    assert verify_anchored(notice_id, forged, anchor=None, digested=None).verified  # the chain alone holds
    log = log_answer(faulty, notice_id)
    assert (log["verified"], log["broken_at"]) == (False, forged[-1].seq)
    assert "rewritten with its hashes recomputed" in log["reason"]
    code, output = served.verify(notice_id)
    assert code == 1
    assert output.startswith(f"NOT VERIFIED at seq {forged[-1].seq}: ")


def test_a_log_rewritten_with_its_head_is_caught_by_the_days_digest(faulty: Faulty, served: Served) -> None:
    """Whoever can write both tables rewrites the log and the head on the notice to match; the
    digest written before, in a bucket nobody can change, still holds the true head."""
    notice_id = a_routed_notice(faulty)
    write_digest(faulty)
    true_head = faulty.deps.ack_log.head(notice_id)
    assert true_head is not None
    forged = rewrite_from(faulty, notice_id, 0, actor="forger")
    faulty.dynamodb.update_item(
        TableName=f"vigil-{STAGE}-notices",
        Key={"notice_id": {"S": notice_id}},
        UpdateExpression="SET log_head = :h",
        ExpressionAttributeValues={
            ":h": {"M": {"seq": {"N": str(true_head.seq)}, "hash": {"S": forged[-1].hash}}}
        },
    )
    log = log_answer(faulty, notice_id)
    assert (log["verified"], log["broken_at"]) == (False, true_head.seq)
    assert log["digest"]["hash"] == true_head.hash != log["anchor"]["hash"]
    assert "the digest of" in log["reason"]
    code, output = served.verify(notice_id)
    assert code == 1
    assert output.startswith(f"NOT VERIFIED at seq {true_head.seq}: entry {true_head.seq} is not the entry")


def test_the_audit_trails_deleted_newest_entry_and_forged_tail_are_caught(faulty: Faulty) -> None:
    faulty.cast()  # two subscribers created: two audited entries
    newest = delete_newest(faulty, AUDIT_STREAM)
    trail = audit_answer(faulty)
    assert (trail["verified"], trail["broken_at"]) == (False, newest.seq)
    assert "its newest entries were removed" in trail["reason"]
    faulty.dynamodb.put_item(TableName=f"vigil-{STAGE}-ack-log", Item=encode(entry_to_item(newest)))
    assert audit_answer(faulty)["verified"] is True
    rewrite_from(faulty, AUDIT_STREAM, 0, actor="someone-else")
    trail = audit_answer(faulty)
    assert (trail["verified"], trail["broken_at"]) == (False, newest.seq)
    assert "rewritten with its hashes recomputed" in trail["reason"]
