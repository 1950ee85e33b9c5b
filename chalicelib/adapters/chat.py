"""Slack and Microsoft Teams messages over real HTTP: a JSON POST to the channel's URL.

The same guard as webhooks (``webhooks.PinnedPoster``): the URL is checked against private networks
at every send, the connection goes to the addresses checked, redirects are never followed, one
deadline bounds the whole request. Slack answers 200 ``ok``; Workflows answer 202; a refusal is a
4xx (Slack: 400 ``invalid_payload``, 403 ``action_prohibited``, 404 ``channel_not_found``, 410
``channel_is_archived``) and is not tried again, while 429 and 5xx are, honouring ``Retry-After``.
The URL is the credential that posts to the channel: no failure's reason names it.
"""

from __future__ import annotations

import json
import ssl

from chalicelib.adapters.url_guard import Resolver, system_resolver
from chalicelib.adapters.webhooks import USER_AGENT, PinnedPoster
from chalicelib.domain.chat import OutgoingChat
from chalicelib.ports import SendFailed


class ChatSendFailed(SendFailed):
    """A chat service did not take the message (or could not be reached)."""


class HttpChatSender:
    """POSTs chat messages to public addresses only; ``allow_private`` and ``tls_context`` as for
    ``HttpWebhookSender`` (the local and test stages, tests with their own certificate)."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        resolver: Resolver = system_resolver,
        allow_private: bool = False,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._http = {
            name: PinnedPoster(
                timeout_seconds=timeout_seconds,
                resolver=resolver,
                allow_private=allow_private,
                tls_context=tls_context,
                name=name,
                failure=ChatSendFailed,
            )
            for name in ("slack", "teams")
        }

    def send(self, message: OutgoingChat) -> str:
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"content-type": "application/json; charset=utf-8", "user-agent": USER_AGENT}
        return self._http[str(message.kind)].post(message.url, body, headers)
