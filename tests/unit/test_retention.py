"""Personal data kept only as long as needed: a decided detainer's subject, confidential categories
and counsel are removed ``VIGIL_RETENTION_DAYS`` after the decision, by the sweep, from an index;
reports count the same, the log verifies, and the audit trail names each removal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from app import app, on_sweep_tick
from chalicelib import bootstrap
from chalicelib.config import Settings, SettingsError
from chalicelib.domain.acklog import AUDIT_STREAM, verify_anchored
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.retention import PERSONAL_FIELDS, personal_data_due, without_personal_data
from chalicelib.domain.subscribers import Role
from chalicelib.services import audit, retention
from tests.builders import UNIT_SECRET, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import call
from tests.unit.test_detainers import NEVER, PARTICULARS, a_detainer
from tests.unit.test_pipeline import run
from vigil_local.pump import LambdaContext
from vigil_local.ticker import scheduled_event

Keys = dict[ApiRole, str]

DECIDED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
PERIOD = timedelta(days=90)
# The detainer's own dates are 2016's: what matters here is when it was decided and what time it is.
RECEIVED = DECIDED - timedelta(hours=6)
# The person's particulars the API shows a reviewer (PARTICULARS less the conviction's statute,
# which is criminal history, not identity: it stays for the report's criteria).
IDENTITY = ("Test Person", "1990-01-01", "A012345678")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# ------------------------------------------------------------------ the rule


def test_personal_data_falls_due_the_retention_period_after_the_decision() -> None:
    assert personal_data_due(DECIDED, PERIOD) == DECIDED + timedelta(days=90)
    with pytest.raises(ValueError, match="positive"):
        personal_data_due(DECIDED, timedelta(0))


def test_the_subject_the_confidential_categories_and_counsel_go_and_nothing_else() -> None:
    event = {
        "facility_name": "New Haven Correctional Center",
        "subject": {"name": "Test Person"},
        "confidential": {"crime_witness": True},
        "counsel_subscriber_ids": ["counsel"],
        "classification": {"suggestion": "may-not-cooperate"},
        "convictions": [],
    }
    kept, removed = without_personal_data(event)
    assert removed == list(PERSONAL_FIELDS) == ["subject", "confidential", "counsel_subscriber_ids"]
    assert kept == {
        "facility_name": "New Haven Correctional Center",
        "classification": {"suggestion": "may-not-cooperate"},
        "convictions": [],
    }
    assert without_personal_data({"subject": None}) == ({}, ["subject"])
    assert without_personal_data({"title": "x"}) == ({"title": "x"}, [])


@pytest.mark.parametrize(("raw", "days"), [(None, 90), ("", 90), ("30", 30), ("365", 365)])
def test_the_period_is_read_from_the_environment(raw: str | None, days: int) -> None:
    env = {"VIGIL_STAGE": "test", "VIGIL_ACK_SECRET": UNIT_SECRET}
    if raw is not None:
        env["VIGIL_RETENTION_DAYS"] = raw
    assert Settings.from_env(env).retention == timedelta(days=days)


@pytest.mark.parametrize("raw", ["0", "-5", "ninety", "1.5"])
def test_a_period_that_is_not_a_whole_number_of_days_is_refused(raw: str) -> None:
    env = {"VIGIL_STAGE": "test", "VIGIL_ACK_SECRET": UNIT_SECRET, "VIGIL_RETENTION_DAYS": raw}
    with pytest.raises(SettingsError, match="VIGIL_RETENTION_DAYS"):
        Settings.from_env(env)


# ------------------------------------------------------------------ the sweep's step


@pytest.fixture
def clock() -> Clock:
    return Clock(RECEIVED)


@pytest.fixture
def client(world: FakeWorld, clock: Clock) -> Iterator[Client]:
    world.subscribers.add(
        subscriber("reviewers", Role.CORRECTIONS, "us-ct/facility/new-haven-correctional-center")
    )
    bootstrap.use(world.deps(), clock=clock)
    with Client(app) as test_client:
        yield test_client


def decided_detainer(client: Client, keys: Keys, world: FakeWorld, clock: Clock, n: int = 1) -> str:
    status, accepted = call(
        client, "POST", "/events", keys[ApiRole.SOURCE], a_detainer(external_id=f"I247D-2016-{n:03d}")
    )
    assert status == 202, accepted
    run(world)
    clock.now = DECIDED
    status, decided = call(
        client,
        "POST",
        f"/detainers/{accepted['notice_id']}/decision",
        keys[ApiRole.REVIEWER],
        {"decision": "decline", "reasons": "No statutory criterion is met."},
    )
    assert status == 201, decided
    return str(accepted["notice_id"])


def sweep(clock: Clock, at: datetime) -> dict[str, Any]:
    clock.now = at
    answer: dict[str, Any] = on_sweep_tick(
        scheduled_event("on_sweep_tick", region="us-east-1", now=at), LambdaContext("on_sweep_tick")
    )
    return answer


def test_a_decision_sets_when_the_data_falls_due(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock
) -> None:
    notice_id = decided_detainer(client, keys, world, clock)
    assert world.notices.get(notice_id).personal_data_due_at == DECIDED + PERIOD
    assert world.notices.retention_due == {notice_id}
    _, shown = call(client, "GET", f"/notices/{notice_id}", keys[ApiRole.VIEWER])
    assert shown["personal_data"] == {
        "due_at": (DECIDED + PERIOD).isoformat(),
        "removed_at": None,
        "removed": [],
    }


def test_nothing_is_removed_before_it_falls_due(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock
) -> None:
    notice_id = decided_detainer(client, keys, world, clock)
    assert sweep(clock, DECIDED + PERIOD - timedelta(minutes=1))["personal_data_removed"] == 0
    assert world.notices.get(notice_id).event["subject"]["name"] == "Test Person"


def test_the_sweep_removes_what_fell_due_and_audits_each_removal_without_its_values(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock
) -> None:
    first = decided_detainer(client, keys, world, clock, 1)
    second = decided_detainer(client, keys, world, clock, 2)
    before = {e.seq for e in world.ack_log.entries(AUDIT_STREAM)}
    when = DECIDED + PERIOD
    assert sweep(clock, when)["personal_data_removed"] == 2
    for notice_id in (first, second):
        notice = world.notices.get(notice_id)
        assert not set(PERSONAL_FIELDS) & set(notice.event)
        assert (notice.personal_data_removed_at, notice.personal_data_removed) == (when, PERSONAL_FIELDS)
    audited = [e for e in world.ack_log.entries(AUDIT_STREAM) if e.seq not in before]
    assert sorted((e.actor, e.data["action"], e.data["target"]) for e in audited) == sorted(
        [("retention", "personal_data.removed", first), ("retention", "personal_data.removed", second)]
    )
    assert audited[0].data["after"] == {
        "fields": ["subject", "confidential", "counsel_subscriber_ids"],
        "removed_at": when.isoformat(),
        "due_at": when.isoformat(),
        "decided_at": DECIDED.isoformat(),
    }
    assert audited[0].data["before"] is None
    trail = json.dumps([e.data for e in audited])
    for particular in (*IDENTITY, *NEVER, 'counsel"'):
        assert particular not in trail
    assert world.notices.retention_due == set()
    assert sweep(clock, when + timedelta(minutes=1))["personal_data_removed"] == 0


def test_a_run_stopped_before_its_audit_is_finished_by_the_next(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The removal is written first; a run that dies before the audit entry leaves the notice due,
    and the next run audits it (with the time it was removed) and takes it off the index."""
    notice_id = decided_detainer(client, keys, world, clock)
    when = DECIDED + PERIOD

    def dies(*_: Any, **__: Any) -> None:
        raise RuntimeError("the invocation died")

    monkeypatch.setattr(audit, "record", dies)
    with pytest.raises(RuntimeError):
        sweep(clock, when)
    monkeypatch.undo()
    assert world.notices.get(notice_id).personal_data_removed_at == when
    assert world.notices.retention_due == {notice_id}
    assert sweep(clock, when + timedelta(minutes=1))["personal_data_removed"] == 1
    [entry] = [e for e in world.ack_log.entries(AUDIT_STREAM) if e.actor == "retention"]
    assert entry.data["after"]["removed_at"] == when.isoformat()
    assert world.notices.retention_due == set()


def test_each_run_removes_at_most_its_batch(
    world: FakeWorld, client: Client, keys: Keys, clock: Clock
) -> None:
    for n in range(3):
        decided_detainer(client, keys, world, clock, n)
    removed = retention.remove_due(
        notices=world.notices, ack_log=world.ack_log, now=DECIDED + PERIOD, limit=2
    )
    assert len(removed.notice_ids) == 2
    assert len(world.notices.retention_due) == 1


# ------------------------------------------------------------------ after the period, through the API


def test_after_the_period_the_full_record_has_no_subject_the_report_counts_the_same_and_the_log_verifies(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock
) -> None:
    notice_id = decided_detainer(client, keys, world, clock)
    window = "from=2026-01-01&to=2026-12-31"
    _, report_before = call(client, "GET", f"/reports/detainers?{window}", keys[ApiRole.VIEWER])
    _, full_before = call(client, "GET", f"/notices/{notice_id}", keys[ApiRole.REVIEWER])
    assert full_before["event"]["subject"]["name"] == "Test Person"
    log_before = world.ack_log.entries(notice_id)

    sweep(clock, DECIDED + PERIOD)

    for key in (ApiRole.REVIEWER, ApiRole.ADMIN):
        status, full = call(client, "GET", f"/notices/{notice_id}", keys[key])
        assert status == 200
        shown = json.dumps(full)
        for particular in (*IDENTITY, *NEVER):
            assert particular not in shown, particular
        assert "subject" not in full["event"]
        assert "counsel_subscriber_ids" not in full["event"]
        assert full["personal_data"] == {
            "due_at": (DECIDED + PERIOD).isoformat(),
            "removed_at": (DECIDED + PERIOD).isoformat(),
            "removed": ["subject", "confidential", "counsel_subscriber_ids"],
        }
        # What the reviewers decided on, and what reports count, stays.
        assert full["event"]["classification"] == full_before["event"]["classification"]
        assert full["decision"] == full_before["decision"]
    _, report_after = call(client, "GET", f"/reports/detainers?{window}", keys[ApiRole.VIEWER])
    assert report_after == report_before
    assert report_after["detainers"] == 1
    _, log = call(client, "GET", f"/notices/{notice_id}/log", keys[ApiRole.VIEWER])
    assert (log["verified"], log["reason"]) == (True, None)
    # The log was not touched: its entries never held the person's data, so none had to change.
    assert world.ack_log.entries(notice_id) == log_before
    assert verify_anchored(
        notice_id, log_before, anchor=world.ack_log.head(notice_id), digested=None
    ).verified
    for particular in PARTICULARS[:3]:
        assert particular not in json.dumps([e.data for e in log_before])


def test_detainers_decided_before_the_index_are_given_their_due_time_once(
    client: Client, keys: Keys, world: FakeWorld, clock: Clock
) -> None:
    notice_id = decided_detainer(client, keys, world, clock)
    # As an earlier version left it: decided, with no due time and off the index.
    world.notices.notices[notice_id] = replace(world.notices.get(notice_id), personal_data_due_at=None)
    world.notices.retention_due.clear()
    scheduled = retention.schedule_decided(
        notices=world.notices, ack_log=world.ack_log, retention=PERIOD, actor="operator", now=DECIDED
    )
    assert scheduled == [notice_id]
    assert world.notices.get(notice_id).personal_data_due_at == DECIDED + PERIOD
    assert (
        retention.schedule_decided(
            notices=world.notices, ack_log=world.ack_log, retention=PERIOD, actor="operator", now=DECIDED
        )
        == []
    )
    assert sweep(clock, DECIDED + PERIOD)["personal_data_removed"] == 1
