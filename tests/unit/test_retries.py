"""Retries: a growing schedule per channel, jittered, honouring Retry-After; a delivery that failed
every attempt of its channel's schedule, or failed for good, goes to the dead-letter queue."""

from __future__ import annotations

import http.client
from datetime import timedelta

import pytest

from chalicelib.adapters.webhooks import MAX_RETRY_AFTER, retry_after_seconds
from chalicelib.domain.deliveries import (
    MAX_RETRY_DELAY,
    RETRY_SCHEDULES,
    attempts_allowed,
    attempts_left,
    retry_delay,
    retry_window,
)
from chalicelib.domain.subscribers import ChannelType
from chalicelib.services.delivery import DeliveryReport, settle, write_log
from tests.fake_acklog import InMemoryAckLog
from tests.fakes import RecordingQueue

MESSAGE = {"notice_id": "ntc_1", "channel": "webhook", "delivery_ids": ["a", "b", "c"]}


HOUR = 3600


def waits(channel: ChannelType, *, jitter: float = 0.0) -> list[int]:
    """The wait after each failed attempt but the last, as the queue is asked to hold the message."""
    return [
        retry_delay(channel, n, retry_after=None, jitter=jitter) for n in range(1, attempts_allowed(channel))
    ]


def test_webhooks_are_attempted_eight_times_over_more_than_a_day() -> None:
    assert RETRY_SCHEDULES[ChannelType.WEBHOOK] == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert attempts_allowed(ChannelType.WEBHOOK) == 8
    assert waits(ChannelType.WEBHOOK) == [5, 300, 1800, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]
    assert retry_window(ChannelType.WEBHOOK) == timedelta(hours=27, minutes=35, seconds=5)


@pytest.mark.parametrize("channel", [ChannelType.EMAIL, ChannelType.SMS])
def test_email_and_texts_are_attempted_six_times_within_two_hours(channel: ChannelType) -> None:
    assert attempts_allowed(channel) == 6
    assert waits(channel) == [30, 120, 600, 1800, HOUR]
    assert retry_window(channel) < timedelta(hours=2)


@pytest.mark.parametrize("channel", list(ChannelType))
@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_jitter_lengthens_each_wait_by_up_to_a_fifth_and_never_shortens_it(
    channel: ChannelType, jitter: float
) -> None:
    for wait, jittered in zip(waits(channel), waits(channel, jitter=jitter), strict=True):
        assert wait <= jittered <= 1.2 * wait
    assert sum(waits(channel, jitter=jitter)) >= retry_window(channel).total_seconds()


def test_the_longest_jittered_wait_stays_within_what_sqs_allows() -> None:
    assert max(waits(ChannelType.WEBHOOK, jitter=0.999)) <= MAX_RETRY_DELAY


def test_retry_after_from_the_receiver_is_honoured_but_capped() -> None:
    assert retry_delay(ChannelType.WEBHOOK, 1, retry_after=120, jitter=0.5) == 120
    assert retry_delay(ChannelType.WEBHOOK, 1, retry_after=10**9, jitter=0.5) == MAX_RETRY_DELAY


def test_late_attempts_keep_the_last_step() -> None:
    assert (
        retry_delay(ChannelType.SMS, 99, retry_after=None, jitter=0) == RETRY_SCHEDULES[ChannelType.SMS][-1]
    )


def test_scale_zero_retries_at_once_for_tests() -> None:
    assert retry_delay(ChannelType.WEBHOOK, 4, retry_after=300, jitter=0.5, scale=0) == 0


def test_a_deliverys_own_attempts_decide_how_many_are_left_per_channel() -> None:
    # Six failed attempts in a message received six times: email is done, a webhook goes on.
    assert attempts_left(ChannelType.EMAIL, attempts=6, receives=6) == 0
    assert attempts_left(ChannelType.WEBHOOK, attempts=6, receives=6) == 2
    # A receive that attempted nothing (the delivery was in another invocation's hands) costs nothing.
    assert attempts_left(ChannelType.EMAIL, attempts=5, receives=6) == 1


def test_a_redriven_message_gives_its_deliveries_the_schedule_again() -> None:
    # Dead-lettered after eight attempts; redriven, the message is new to SQS: received once.
    assert attempts_left(ChannelType.WEBHOOK, attempts=9, receives=1) == 7


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
    assert settle(report, MESSAGE, receives=1, dead_letters=dead, retry_scale=1, jitter=0) is None
    assert dead.sent == [
        {
            "notice_id": "ntc_1",
            "channel": "webhook",
            "delivery_ids": ["c"],
            "reason": "failed permanently; redrive after mending the channel",
        }
    ]


def failing(channel: str, attempts: int, *ids: str) -> tuple[DeliveryReport, dict[str, object]]:
    """A message of ``channel`` whose deliveries ``ids`` have now failed ``attempts`` times."""
    report = DeliveryReport(
        sent=0, done_before=0, in_flight=(), failed=ids, attempts=dict.fromkeys(ids, attempts)
    )
    return report, {**MESSAGE, "channel": channel, "delivery_ids": list(ids)}


def test_retryable_failures_bring_the_message_back_after_the_schedules_wait() -> None:
    dead = RecordingQueue()
    report = DeliveryReport(
        sent=1, done_before=0, in_flight=(), failed=("b",), retry_after=None, attempts={"b": 2}
    )
    assert settle(report, MESSAGE, receives=2, dead_letters=dead, retry_scale=1, jitter=0) == 300
    assert dead.sent == []


@pytest.mark.parametrize("channel", list(ChannelType))
def test_each_failed_attempt_waits_its_channels_step_until_the_last_is_dead_lettered(
    channel: ChannelType,
) -> None:
    dead = RecordingQueue()
    held = []
    for attempt in range(1, attempts_allowed(channel) + 1):
        report, message = failing(str(channel), attempt, "a", "b")
        held.append(settle(report, message, receives=attempt, dead_letters=dead, retry_scale=1, jitter=0))
    assert held == [*RETRY_SCHEDULES[channel][1:], None]
    [dead_letter] = dead.sent
    assert dead_letter["delivery_ids"] == ["a", "b"]
    assert dead_letter["reason"] == (
        f"failed all {attempts_allowed(channel)} attempts of the {channel} retry schedule; "
        "redrive after mending the channel"
    )


def test_emails_end_after_their_sixth_attempt_though_the_queue_would_bring_them_back() -> None:
    dead = RecordingQueue()
    report, message = failing("email", 6, "a")
    assert settle(report, message, receives=6, dead_letters=dead, retry_scale=1, jitter=0) is None
    assert [m["delivery_ids"] for m in dead.sent] == [["a"]]


def test_the_wait_follows_the_deliverys_attempts_not_the_messages_receives() -> None:
    """Received five times, but one receive found the delivery in another invocation's hands: it
    has failed four times, so it waits the step after its fourth attempt, and has attempts left."""
    dead = RecordingQueue()
    report, message = failing("webhook", 4, "a")
    assert settle(report, message, receives=5, dead_letters=dead, retry_scale=1, jitter=0) == 2 * HOUR
    assert dead.sent == []


def test_a_message_of_deliveries_in_flight_only_comes_back_after_the_first_wait() -> None:
    dead = RecordingQueue()
    report = DeliveryReport(sent=0, done_before=0, in_flight=("a",), failed=(), attempts={"a": 0})
    assert settle(report, MESSAGE, receives=1, dead_letters=dead, retry_scale=1, jitter=0) == 5
    assert dead.sent == []


def test_a_spent_delivery_is_dead_lettered_while_a_fresher_one_in_the_message_waits() -> None:
    dead = RecordingQueue()
    report = DeliveryReport(
        sent=0, done_before=0, in_flight=(), failed=("old", "new"), attempts={"old": 8, "new": 3}
    )
    assert settle(report, MESSAGE, receives=8, dead_letters=dead, retry_scale=1, jitter=0) == 1800
    assert [m["delivery_ids"] for m in dead.sent] == [["old"]]


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
