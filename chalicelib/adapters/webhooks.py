"""Signed webhooks over real HTTP, per the Standard Webhooks specification."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from chalicelib.domain.messages import OutgoingWebhook
from chalicelib.ports import SendFailed

USER_AGENT = "Vigil-Webhooks/1"


def signed_headers(message: OutgoingWebhook, body: str, *, secret: str, now: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id=message.message_id, timestamp=now, data=body)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def _retryable(status: int) -> bool:
    # A 4xx says the receiver refuses this message for good, except timeouts and rate limits.
    return status >= 500 or status in {408, 429}


class HttpWebhookSender:
    def __init__(self, *, timeout_seconds: float = 10.0) -> None:
        self._timeout = timeout_seconds

    def send(self, message: OutgoingWebhook, *, secret: str, now: datetime) -> str:
        body = json.dumps(message.payload, sort_keys=True, separators=(",", ":"))
        request = urllib.request.Request(  # noqa: S310  # the scheme is checked when the channel is created
            message.url,
            data=body.encode(),
            headers=signed_headers(message, body, secret=secret, now=now),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310  # as above
                return str(response.status)
        except urllib.error.HTTPError as exc:
            raise SendFailed(f"webhook: HTTP {exc.code}", retryable=_retryable(exc.code)) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SendFailed(f"webhook: {type(exc).__name__}", retryable=True) from exc
