"""Personal data kept until its retention period runs out, against the in-memory fakes and the
DynamoDB adapters (moto, tables from infra/): the retention index a decision puts a detainer on,
what falls due, and the removal of its personal data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.bootstrap import build
from chalicelib.config import Settings
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import EventType
from infra import schedule_retention
from tests.builders import NOW
from tests.integration.conftest import STAGE, Aws, Stores
from tests.integration.test_store_contract import a_notice

# --- personal data kept until its retention period runs out -------------------------------------


def a_decided_detainer(stores: Stores, notice_id: str, *, due_in: timedelta) -> Notice:
    notice = a_notice(
        id=notice_id,
        idempotency_key=notice_id,
        type=EventType.DETAINER,
        event={
            "facility_name": "New Haven Correctional Center",
            "subject": {"name": "Person One", "date_of_birth": "1980-01-01", "a_number": "A012345678"},
            "confidential": {"victim": True},
            "counsel_subscriber_ids": ["sub_counsel"],
        },
    )
    stores.notices.add(notice)
    assert stores.notices.record_decision(
        notice.id,
        decision={"decision": "decline", "decided_at": NOW.isoformat()},
        duties=[],
        at=NOW,
        personal_data_due=NOW + due_in,
    )
    return stores.notices.get(notice.id)


def test_a_decision_puts_the_notice_on_the_retention_index_by_when_its_data_falls_due(
    stores: Stores,
) -> None:
    later = a_decided_detainer(stores, "ntc_later", due_in=timedelta(days=90))
    sooner = a_decided_detainer(stores, "ntc_sooner", due_in=timedelta(days=30))
    assert later.personal_data_due_at == NOW + timedelta(days=90)
    assert stores.notices.personal_data_due(NOW + timedelta(days=29), limit=10) == []
    assert stores.notices.personal_data_due(NOW + timedelta(days=30), limit=10) == [sooner.id]
    assert stores.notices.personal_data_due(NOW + timedelta(days=365), limit=10) == [sooner.id, later.id]
    assert stores.notices.personal_data_due(NOW + timedelta(days=365), limit=1) == [sooner.id]


def test_a_decision_without_a_due_time_never_falls_due(stores: Stores) -> None:
    notice = a_notice(type=EventType.DETAINER)
    stores.notices.add(notice)
    assert stores.notices.record_decision(notice.id, decision={"decision": "honor"}, duties=[], at=NOW)
    assert stores.notices.personal_data_due(NOW + timedelta(days=3650), limit=10) == []
    assert stores.notices.get(notice.id).personal_data_due_at is None


def test_personal_data_is_removed_once_and_the_notice_leaves_the_index_when_done(stores: Stores) -> None:
    notice = a_decided_detainer(stores, "ntc_due", due_in=timedelta(days=90))
    when = NOW + timedelta(days=91)
    kept = {"facility_name": "New Haven Correctional Center"}
    fields = ["subject", "confidential", "counsel_subscriber_ids"]
    assert stores.notices.remove_personal_data(notice.id, event=kept, fields=fields, at=when)
    assert not stores.notices.remove_personal_data(notice.id, event={}, fields=[], at=when)
    stored = stores.notices.get(notice.id)
    assert stored.event == kept
    assert (stored.personal_data_removed_at, stored.personal_data_removed) == (when, tuple(fields))
    assert (stored.personal_data_due_at, stored.decision) == (notice.personal_data_due_at, notice.decision)
    # Still due until the removal is recorded: a run that stopped here finds it next time.
    assert stores.notices.personal_data_due(when, limit=10) == [notice.id]
    stores.notices.retention_done(notice.id)
    assert stores.notices.personal_data_due(when, limit=10) == []
    assert stores.notices.get(notice.id).personal_data_removed_at == when


def test_a_notice_not_on_the_retention_index_is_not_changed(stores: Stores) -> None:
    notice = a_notice(type=EventType.DETAINER)
    stores.notices.add(notice)
    assert not stores.notices.remove_personal_data(notice.id, event={}, fields=["subject"], at=NOW)
    assert stores.notices.get(notice.id).event == notice.event


@pytest.mark.integration
def test_what_falls_due_is_one_query_of_the_keys_only_index(aws: Aws, stack: dict[str, str]) -> None:
    deps = build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session)
    client = aws.client("dynamodb")
    calls: list[tuple[str, dict[str, Any]]] = []
    aws.session.events.register(
        "provide-client-params.dynamodb.*",
        lambda params, model, **_: calls.append((model.name, dict(params))),
    )
    stores = Stores.of(deps)
    for n in range(3):
        a_decided_detainer(stores, f"ntc_{n}", due_in=timedelta(days=n))
    calls.clear()
    assert build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session).notices.personal_data_due(
        NOW + timedelta(days=1), limit=10
    ) == ["ntc_0", "ntc_1"]
    [(operation, params)] = calls
    assert (operation, params["IndexName"]) == ("Query", "personal-data-due")
    [index] = [
        i
        for i in client.describe_table(TableName=f"vigil-{STAGE}-notices")["Table"]["GlobalSecondaryIndexes"]
        if i["IndexName"] == "personal-data-due"
    ]
    assert index["Projection"]["ProjectionType"] == "KEYS_ONLY"  # no copy of the personal data


def test_a_detainer_decided_before_the_index_is_scheduled_once(stores: Stores) -> None:
    notice = a_notice(type=EventType.DETAINER)
    stores.notices.add(notice)
    assert not stores.notices.schedule_personal_data_removal(notice.id, due=NOW)  # undecided
    assert stores.notices.record_decision(notice.id, decision={"decision": "honor"}, duties=[], at=NOW)
    assert stores.notices.schedule_personal_data_removal(notice.id, due=NOW + timedelta(days=90))
    assert not stores.notices.schedule_personal_data_removal(notice.id, due=NOW)
    assert stores.notices.get(notice.id).personal_data_due_at == NOW + timedelta(days=90)
    assert stores.notices.personal_data_due(NOW + timedelta(days=90), limit=10) == [notice.id]


@pytest.mark.integration
def test_make_schedule_retention_schedules_the_detainers_decided_before(
    aws: Aws, stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    deps = build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session)
    earlier = a_notice(id="ntc_earlier", idempotency_key="e", type=EventType.DETAINER)
    deps.notices.add(earlier)
    deps.notices.record_decision(
        earlier.id, decision={"decision": "decline", "decided_at": NOW.isoformat()}, duties=[], at=NOW
    )
    undecided = a_notice(id="ntc_undecided", idempotency_key="u", type=EventType.DETAINER)
    deps.notices.add(undecided)
    args = ["--stage", STAGE, "--region", aws.region, "--days", "30"]
    assert schedule_retention.main(args, session=aws.session) == ["ntc_earlier"]
    assert "stage test: 1 decided detainers given a removal time, 30 days after" in capsys.readouterr().out
    assert deps.notices.get(earlier.id).personal_data_due_at == NOW + timedelta(days=30)
    assert deps.notices.personal_data_due(NOW + timedelta(days=30), limit=10) == [earlier.id]
    assert schedule_retention.main(args, session=aws.session) == []  # idempotent
    audited = [e.data for e in deps.ack_log.entries("audit") if e.actor == "infra/schedule_retention.py"]
    assert [a["after"] for a in audited] == [
        {"detainers": 1, "retention_days": 30},
        {"detainers": 0, "retention_days": 30},
    ]
