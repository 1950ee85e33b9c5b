"""HttpChatSender against real HTTP servers on this machine: what Slack and Teams receive, how their
answers are read, and the same private-network guard as webhooks (the URL checked at every send,
the connection made to the address checked)."""

from __future__ import annotations

import json
import urllib.error
from typing import Any

import pytest

from chalicelib.adapters.chat import ChatSendFailed, HttpChatSender
from chalicelib.domain.chat import OutgoingChat, chat_note
from chalicelib.domain.subscribers import ChannelType
from chalicelib.ports import SendFailed
from tests.integration.test_webhook_sender import Answer, Receiver, fixed

pytestmark = pytest.mark.integration

ACK = "https://vigil.example.gov/ack/tok"


def local_sender(**overrides: Any) -> HttpChatSender:
    """A sender allowed to reach 127.0.0.1, as the local and test stages configure it."""
    options: dict[str, Any] = {"timeout_seconds": 5.0, "allow_private": True}
    options.update(overrides)
    return HttpChatSender(**options)


def note(kind: ChannelType, url: str) -> OutgoingChat:
    return chat_note(kind, url=url, text="Vigil test message «ñ»", button="Acknowledge", link=ACK)


def failure(sender: HttpChatSender, message: OutgoingChat) -> SendFailed:
    with pytest.raises(ChatSendFailed) as caught:
        sender.send(message)
    return caught.value


@pytest.mark.parametrize(("kind", "status"), [(ChannelType.SLACK, 200), (ChannelType.TEAMS, 202)])
def test_the_payload_arrives_as_json_and_the_answer_is_the_status(kind: ChannelType, status: int) -> None:
    with Receiver(Answer(status, body=b"ok" if status == 200 else b"")) as service:
        message = note(kind, service.url(path="/services/T1/B1/secret?x=1"))
        assert local_sender().send(message) == str(status)
    [seen] = service.seen
    assert seen.path == "/services/T1/B1/secret?x=1"
    assert seen.headers["content-type"] == "application/json; charset=utf-8"
    assert "webhook-signature" not in seen.headers  # the URL is the credential: nothing to sign
    assert json.loads(seen.body) == message.payload


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (400, False), (403, False), (404, False), (410, False)],
)
def test_slacks_refusals_are_final_and_its_outages_retried(status: int, retryable: bool) -> None:
    with Receiver(Answer(status, body=b"channel_not_found")) as service:
        failed = failure(local_sender(), note(ChannelType.SLACK, service.url(path="/services/T/B/s3cr3t")))
    assert failed.reason == f"slack: HTTP {status}"
    assert failed.retryable is retryable
    assert "s3cr3t" not in failed.reason
    assert isinstance(failed.__cause__, urllib.error.HTTPError)  # the local outbox records its code


def test_a_rate_limit_says_how_long_to_wait() -> None:
    with Receiver(Answer(429, headers={"Retry-After": "30"})) as service:
        failed = failure(local_sender(), note(ChannelType.TEAMS, service.url()))
    assert (failed.reason, failed.retryable, failed.retry_after) == ("teams: HTTP 429", True, 30.0)


def test_a_redirect_is_not_followed() -> None:
    with Receiver() as target, Receiver(Answer(302, {"location": target.url()})) as service:
        failed = failure(local_sender(), note(ChannelType.SLACK, service.url()))
    assert failed.reason == "slack: redirect not followed (HTTP 302)"
    assert not failed.retryable
    assert target.seen == []


def test_a_slack_host_that_resolves_into_a_private_network_is_refused_at_send() -> None:
    with Receiver() as service:
        url = service.url(host="hooks.slack.com", path="/services/T/B/x")
        failed = failure(
            HttpChatSender(resolver=fixed({"hooks.slack.com": ["10.1.2.3"]})), note(ChannelType.SLACK, url)
        )
    assert failed.reason == "slack: hooks.slack.com resolves to 10.1.2.3, a private address"
    assert not failed.retryable
    assert service.seen == []


def test_the_metadata_service_is_refused_even_where_private_addresses_are_allowed() -> None:
    failed = failure(local_sender(), note(ChannelType.TEAMS, "http://169.254.169.254/latest/meta-data/"))
    assert failed.reason == "teams: 169.254.169.254 is the cloud metadata service"
    assert not failed.retryable


def test_the_connection_goes_to_the_checked_address_with_the_services_host_name() -> None:
    with Receiver() as service:
        url = service.url(host="hooks.slack.com", path="/services/T/B/x")
        assert local_sender(resolver=fixed({"hooks.slack.com": ["127.0.0.1"]})).send(
            note(ChannelType.SLACK, url)
        )
    [seen] = service.seen
    assert seen.headers["host"] == f"hooks.slack.com:{service.port}"


def test_a_name_that_stops_resolving_is_tried_again() -> None:
    failed = failure(
        local_sender(resolver=fixed({})), note(ChannelType.SLACK, "https://hooks.slack.com/services/x")
    )
    assert failed.reason == "slack: hooks.slack.com does not resolve"
    assert failed.retryable
