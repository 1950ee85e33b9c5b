"""When a failing webhook endpoint is switched off: after failing every attempt of a whole retry
schedule, in count and in time; never after a few failures, however far apart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.subscriber_store import item_to_subscriber, subscriber_to_item
from chalicelib.domain.deliveries import RETRY_SCHEDULES, WEBHOOK_FAILURE_LIMIT
from chalicelib.domain.subscribers import Channel, ChannelType, Role
from tests.builders import NOW, subscriber

HOOK = Channel(
    ChannelType.WEBHOOK,
    "https://cases.example.org/hooks/vigil",
    secret="whsec_dGVzdA==",
)


def attempt(channel: Channel, *, ok: bool, after: timedelta) -> Channel:
    return channel.after_send(ok=ok, now=NOW + after, limit=WEBHOOK_FAILURE_LIMIT)


def fail_at(channel: Channel, *offsets: timedelta) -> Channel:
    for offset in offsets:
        channel = attempt(channel, ok=False, after=offset)
    return channel


def schedule_offsets() -> list[timedelta]:
    """When each attempt of a webhook delivery is made, from the first: the schedule's waits added up."""
    offsets, at = [], timedelta(0)
    for wait in RETRY_SCHEDULES[ChannelType.WEBHOOK]:
        at += timedelta(seconds=wait)
        offsets.append(at)
    return offsets


def test_the_limit_is_the_webhook_schedule_eight_failures_over_more_than_a_day() -> None:
    assert WEBHOOK_FAILURE_LIMIT.attempts == 8
    assert WEBHOOK_FAILURE_LIMIT.window == timedelta(hours=27, minutes=35, seconds=5)
    assert schedule_offsets()[-1] == WEBHOOK_FAILURE_LIMIT.window


def test_two_failures_days_apart_do_not_disable_the_endpoint() -> None:
    failing = fail_at(HOOK, timedelta(0), timedelta(days=3))
    assert not failing.disabled
    assert (failing.failing_since, failing.consecutive_failures) == (NOW, 2)


def test_failing_every_attempt_of_a_schedule_disables_it_at_the_last() -> None:
    offsets = schedule_offsets()
    before_last = fail_at(HOOK, *offsets[:-1])
    assert not before_last.disabled
    disabled = fail_at(before_last, offsets[-1])
    assert disabled.disabled
    assert (disabled.failing_since, disabled.consecutive_failures) == (NOW, 8)
    assert disabled.state == "disabled"


def test_eight_failures_within_the_hour_do_not_disable_it() -> None:
    assert not fail_at(HOOK, *(timedelta(minutes=n) for n in range(12))).disabled


def test_seven_failures_over_three_days_wait_for_an_eighth() -> None:
    seven = fail_at(HOOK, *(timedelta(hours=12 * n) for n in range(7)))
    assert not seven.disabled
    assert fail_at(seven, timedelta(days=3, hours=1)).disabled


@pytest.mark.parametrize("successes_at", [1, 4, 7])
def test_a_success_clears_both_the_count_and_the_first_failure(successes_at: int) -> None:
    offsets = schedule_offsets()
    channel = fail_at(HOOK, *offsets[:successes_at])
    channel = attempt(channel, ok=True, after=offsets[successes_at])
    assert (channel.failing_since, channel.consecutive_failures) == (None, 0)
    rest = fail_at(channel, *offsets[successes_at + 1 :])
    assert not rest.disabled


def test_a_healthy_channel_is_left_as_it_is_by_a_success() -> None:
    assert attempt(HOOK, ok=True, after=timedelta(0)) is HOOK


def test_the_record_of_failures_is_stored_with_the_channel() -> None:
    failing = fail_at(HOOK, timedelta(0), timedelta(hours=5))
    owner = subscriber("newsroom", Role.MEDIA, "statewide", channels=(failing,))
    item = subscriber_to_item(owner)
    assert item["channels"][0]["consecutive_failures"] == 2
    assert item_to_subscriber(item).channels == (failing,)


def test_a_channel_stored_before_the_count_was_kept_has_none_yet() -> None:
    failing = fail_at(HOOK, timedelta(0))
    item = subscriber_to_item(subscriber("newsroom", Role.MEDIA, "statewide", channels=(failing,)))
    del item["channels"][0]["consecutive_failures"]
    [stored] = item_to_subscriber(item).channels
    assert (stored.failing_since, stored.consecutive_failures) == (NOW, 0)


def test_a_healthy_channels_item_carries_no_count() -> None:
    item = subscriber_to_item(subscriber("newsroom", Role.MEDIA, "statewide", channels=(HOOK,)))
    assert "consecutive_failures" not in item["channels"][0]
