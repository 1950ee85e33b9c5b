"""Retries: a growing schedule per channel, jittered, honouring Retry-After; permanent failures go
straight to the dead-letter queue."""

from __future__ import annotations

import http.client

import pytest

from chalicelib.adapters.webhooks import MAX_RETRY_AFTER, retry_after_seconds
from chalicelib.domain.deliveries import MAX_RETRY_DELAY, RETRY_SCHEDULES, retry_delay
from chalicelib.domain.subscribers import ChannelType
from chalicelib.services.delivery import DeliveryReport, settle, write_log
from tests.fake_acklog import InMemoryAckLog
from tests.fakes import RecordingQueue

MESSAGE = {"notice_id": "ntc_1", "channel": "webhook", "delivery_ids": ["a", "b", "c"]}


def test_webhook_retries_grow_from_seconds_to_hours() -> None:
    delays = [retry_delay(ChannelType.WEBHOOK, n, retry_after=None, jitter=0.5) for n in range(1, 7)]
    assert delays == list(RETRY_SCHEDULES[ChannelType.WEBHOOK])
    assert delays[0] < 10
    assert delays[-1] >= 3600


@pytest.mark.parametrize("jitter", [0.0, 0.999])
def test_jitter_spreads_retries_by_a_fifth_either_way(jitter: float) -> None:
    delay = retry_delay(ChannelType.EMAIL, 3, retry_after=None, jitter=jitter)
    assert 0.8 * 600 <= delay <= 1.2 * 600


def test_retry_after_from_the_receiver_is_honoured_but_capped() -> None:
    assert retry_delay(ChannelType.WEBHOOK, 1, retry_after=120, jitter=0.5) == 120
    assert retry_delay(ChannelType.WEBHOOK, 1, retry_after=10**9, jitter=0.5) == MAX_RETRY_DELAY


def test_late_attempts_keep_the_last_step() -> None:
    assert (
        retry_delay(ChannelType.SMS, 99, retry_after=None, jitter=0.5) == RETRY_SCHEDULES[ChannelType.SMS][-1]
    )


def test_scale_zero_retries_at_once_for_tests() -> None:
    assert retry_delay(ChannelType.WEBHOOK, 4, retry_after=300, jitter=0.5, scale=0) == 0


def headers(value: str) -> http.client.HTTPMessage:
    message = http.client.HTTPMessage()
    message["Retry-After"] = value
    return message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("0", 0.0), ("soon", None), ("", None), ("99999999", float(MAX_RETRY_AFTER))],
)
def test_retry_after_header_is_read_in_seconds(value: str, expected: float | None) -> None:
    assert retry_after_seconds(headers(value)) == expected


def test_retry_after_header_as_an_http_date_in_the_past_means_now() -> None:
    assert retry_after_seconds(headers("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0


def test_missing_retry_after_is_none() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(http.client.HTTPMessage()) is None


def test_permanent_failures_go_to_the_dead_letter_queue_and_the_rest_is_done() -> None:
    dead = RecordingQueue()
    report = DeliveryReport(sent=2, done_before=0, in_flight=(), failed=(), permanent=("c",))
    assert settle(report, MESSAGE, attempt=1, dead_letters=dead, retry_scale=1, jitter=0.5) is None
    assert dead.sent == [
        {
            "notice_id": "ntc_1",
            "channel": "webhook",
            "delivery_ids": ["c"],
            "reason": "failed permanently; redrive after mending the channel",
        }
    ]


def test_retryable_failures_bring_the_message_back_after_the_schedules_wait() -> None:
    dead = RecordingQueue()
    report = DeliveryReport(sent=1, done_before=0, in_flight=(), failed=("b",), retry_after=None)
    assert settle(report, MESSAGE, attempt=2, dead_letters=dead, retry_scale=1, jitter=0.5) == 300
    assert dead.sent == []


def entry(notice_id: str, kind: str, *ids: str) -> dict[str, object]:
    return {
        "notice_id": notice_id,
        "kind": kind,
        "at": "2026-11-27T12:00:00+00:00",
        "data": {"deliveries": [{"delivery_id": i} for i in ids]},
    }


def test_an_invocations_log_entries_are_appended_once_per_notice_and_kind() -> None:
    log = InMemoryAckLog()
    later = RecordingQueue()
    write_log(
        [
            entry("ntc_a", "delivered", "1", "2"),
            entry("ntc_a", "delivered", "3"),
            entry("ntc_a", "failed", "4"),
            entry("ntc_b", "delivered", "5"),
        ],
        ack_log=log,
        later=later,
    )
    appended = [
        (e.notice_id, str(e.kind), [d["delivery_id"] for d in e.data["deliveries"]])
        for n in ("ntc_a", "ntc_b")
        for e in log.entries(n)
    ]
    assert appended == [
        ("ntc_a", "delivered", ["1", "2", "3"]),
        ("ntc_a", "failed", ["4"]),
        ("ntc_b", "delivered", ["5"]),
    ]
    assert later.sent == []


def test_entries_a_refusing_log_would_lose_go_back_on_the_queue() -> None:
    log = InMemoryAckLog(steal_next_seq=100)  # every append loses its race: LogConflict
    later = RecordingQueue()
    write_log([entry("ntc_a", "delivered", "1"), entry("ntc_a", "failed", "2")], ack_log=log, later=later)
    assert [m["notice_id"] for m in later.sent] == ["ntc_a"]
    assert [e["kind"] for e in later.sent[0]["log_entries"]] == ["delivered", "failed"]
