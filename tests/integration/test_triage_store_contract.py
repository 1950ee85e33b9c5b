"""The stores mail triage uses, against the in-memory fakes and the DynamoDB adapters (moto, tables
from infra/): trusted senders, the reports of a notice, and the queue of held notices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.mail_trust import SenderKind, TrustedSender
from chalicelib.domain.notices import MAX_REPORTS_KEPT, NoticeStatus
from tests.builders import NOW
from tests.integration.conftest import Stores
from tests.integration.test_store_contract import a_notice


def a_trusted(sender: str, kind: SenderKind = SenderKind.DOMAIN, note: str = "") -> TrustedSender:
    return TrustedSender(sender=sender, kind=kind, note=note, added_by="key-1", added_at=NOW)


def test_trusted_senders_round_trip_and_are_listed_by_name(stores: Stores) -> None:
    agency = a_trusted("ice.dhs.gov", note="ICE, the federal agency")
    forwarder = a_trusted("desk.sergeant@example.gov", SenderKind.ADDRESS)
    stores.trusted.add(agency)
    stores.trusted.add(forwarder)
    assert stores.trusted.list() == [forwarder, agency]


def test_a_sender_listed_twice_is_a_conflict_and_the_first_entry_stays(stores: Stores) -> None:
    stores.trusted.add(a_trusted("ice.dhs.gov", note="first"))
    with pytest.raises(Conflict):
        stores.trusted.add(a_trusted("ice.dhs.gov", note="second"))
    assert [entry.note for entry in stores.trusted.list()] == ["first"]


def test_find_returns_only_the_listed_among_the_candidates(stores: Stores) -> None:
    stores.trusted.add(a_trusted("example.gov"))
    stores.trusted.add(a_trusted("desk.sergeant@example.gov", SenderKind.ADDRESS))
    found = stores.trusted.find(
        ["patrol@police.example.gov", "police.example.gov", "example.gov", "example.gov"]
    )
    assert [entry.sender for entry in found] == ["example.gov"]
    assert stores.trusted.find([]) == []


def test_removing_a_sender_returns_it_and_a_second_removal_is_not_found(stores: Stores) -> None:
    stores.trusted.add(a_trusted("ice.dhs.gov", note="ICE"))
    assert stores.trusted.remove("ice.dhs.gov").note == "ICE"
    assert stores.trusted.list() == []
    with pytest.raises(NotFound):
        stores.trusted.remove("ice.dhs.gov")


def a_report(copy: str, reporter: str = "desk.sergeant@example.gov") -> dict[str, Any]:
    return {
        "id": copy,
        "at": NOW.isoformat(),
        "reporter": reporter,
        "verified": True,
        "via": "email",
        "forwarded": True,
        "raw": f"s3://bucket/{copy}",
    }


def test_reports_of_a_notice_are_counted_once_each_and_read_back(stores: Stores) -> None:
    stores.notices.add(a_notice())
    assert stores.notices.add_report("ntc_contract", a_report("c1"))
    assert stores.notices.add_report("ntc_contract", a_report("c2", "patrol@example.gov"))
    assert not stores.notices.add_report("ntc_contract", a_report("c1"))  # the same copy again
    notice = stores.notices.get("ntc_contract")
    assert notice.report_count == 2
    assert list(notice.reports) == [a_report("c1"), a_report("c2", "patrol@example.gov")]
    with pytest.raises(NotFound):
        stores.notices.add_report("ntc_nothing", a_report("c3"))


def test_reports_past_the_kept_ones_are_still_counted_once(stores: Stores) -> None:
    stores.notices.add(a_notice())
    for n in range(MAX_REPORTS_KEPT + 2):
        assert stores.notices.add_report("ntc_contract", a_report(f"c{n}"))
    assert not stores.notices.add_report("ntc_contract", a_report(f"c{MAX_REPORTS_KEPT + 1}"))
    notice = stores.notices.get("ntc_contract")
    assert (len(notice.reports), notice.report_count) == (MAX_REPORTS_KEPT, MAX_REPORTS_KEPT + 2)


def test_held_notices_are_queued_oldest_first_and_leave_the_queue_when_dismissed_or_completed(
    stores: Stores,
) -> None:
    for n, minutes in enumerate((30, 10, 20)):
        held = a_notice(
            id=f"ntc_held{n}", status=NoticeStatus.TRIAGE, received_at=NOW + timedelta(minutes=minutes)
        )
        stores.notices.add(held)
    stores.notices.add(a_notice(id="ntc_open", next_step_at=NOW))
    first = stores.notices.held(limit=2, cursor=None)
    assert [n.id for n in first.items] == ["ntc_held1", "ntc_held2"]
    assert [n.next_step_at for n in first.items] == [None, None]  # held: no escalation step to come
    assert first.cursor is not None
    assert [n.id for n in stores.notices.held(limit=2, cursor=first.cursor).items] == ["ntc_held0"]
    assert stores.notices.dismiss_triage("ntc_held1", reason="a newsletter", by="key-1", at=NOW)
    assert not stores.notices.dismiss_triage("ntc_held1", reason="again", by="key-1", at=NOW)
    assert stores.notices.close_triage("ntc_held2", routed_as="ntc_open", at=NOW)
    assert [n.id for n in stores.notices.held(limit=10, cursor=None).items] == ["ntc_held0"]
    dismissed = stores.notices.get("ntc_held1")
    assert dismissed.status is NoticeStatus.CLOSED
    assert dismissed.extra["dismissed"] == {"reason": "a newsletter", "by": "key-1", "at": NOW.isoformat()}
    due = stores.notices.due(NOW + timedelta(days=1), limit=10)
    assert [n.id for n in due] == ["ntc_open"]  # the sweep never sees the queue
