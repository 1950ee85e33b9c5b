"""Signed webhooks over real HTTP, per the Standard Webhooks specification.

Every send checks the URL again (DNS may answer differently than when the subscriber was created)
and connects to the very addresses it checked, so a name cannot be pointed at a private network
between the check and the connection. Redirects are not followed: they would lead anywhere.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import socket
import ssl
import time
import urllib.error
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from chalicelib.adapters.url_guard import (
    Resolver,
    Unresolvable,
    UnsafeUrl,
    VettedUrl,
    system_resolver,
    vet_webhook_url,
)
from chalicelib.domain.messages import OutgoingWebhook
from chalicelib.ports import SendFailed

USER_AGENT = "Vigil-Webhooks/1"
# A receiver's answer is read only to end the exchange cleanly; its status is all Vigil uses.
MAX_RESPONSE_BYTES = 64 * 1024


def signed_headers(
    message: OutgoingWebhook, body: str, *, secrets: Sequence[str], now: datetime
) -> dict[str, str]:
    """One signature per secret, space-separated, as Standard Webhooks allows: during a rotation a
    receiver holding either the old or the new secret verifies the message."""
    signature = " ".join(
        Webhook(s).sign(msg_id=message.message_id, timestamp=now, data=body) for s in secrets
    )
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


MAX_RETRY_AFTER = 12 * 3600  # SQS cannot hide a message for longer


def retry_after_seconds(headers: http.client.HTTPMessage | None) -> float | None:
    """An HTTP Retry-After in seconds (either RFC 9110 form), capped; None when absent or unreadable."""
    raw = headers.get("Retry-After") if headers is not None else None
    if not raw:
        return None
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():
        return float(min(int(raw), MAX_RETRY_AFTER))
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return float(min(max((when - datetime.now(UTC)).total_seconds(), 0), MAX_RETRY_AFTER))


def _retryable(status: int) -> bool:
    # A 4xx says the receiver refuses this message for good, except timeouts and rate limits.
    return status >= 500 or status in {408, 429}


class HttpWebhookSender:
    """POSTs signed webhooks to public addresses only.

    ``allow_private`` admits receivers on loopback and private networks, for the local and test
    stages; ``tls_context`` replaces the system's trust store (tests with their own certificate).
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        resolver: Resolver = system_resolver,
        allow_private: bool = False,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._resolver = resolver
        self._allow_private = allow_private
        self._tls_context = tls_context

    def send(self, message: OutgoingWebhook, *, secrets: Sequence[str], now: datetime) -> str:
        try:
            url = vet_webhook_url(message.url, resolver=self._resolver, allow_private=self._allow_private)
        except Unresolvable as exc:  # DNS may be failing for a moment: try again later
            raise SendFailed(f"webhook: {exc.reason}", retryable=True) from exc
        except UnsafeUrl as exc:
            raise SendFailed(f"webhook: {exc.reason}", retryable=False) from exc
        body = json.dumps(message.payload, sort_keys=True, separators=(",", ":"))
        headers = signed_headers(message, body, secrets=secrets, now=now)
        status, reason, answer_headers = self._post(url, body.encode(), headers)
        if 200 <= status < 300:
            return str(status)
        # The cause carries the status for callers that record it (the local outbox does).
        cause = urllib.error.HTTPError(message.url, status, reason, answer_headers, None)
        if 300 <= status < 400:
            raise SendFailed(f"webhook: redirect not followed (HTTP {status})", retryable=False) from cause
        raise SendFailed(
            f"webhook: HTTP {status}",
            retryable=_retryable(status),
            retry_after=retry_after_seconds(answer_headers),
        ) from cause

    def _post(
        self, url: VettedUrl, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, http.client.HTTPMessage]:
        connection: http.client.HTTPConnection | None = None
        try:
            connection = self._connection(url)
            connection.request("POST", url.target, body=body, headers=headers)
            response = connection.getresponse()
            _drain(response, deadline=time.monotonic() + self._timeout)
            return response.status, response.reason, response.msg
        except http.client.InvalidURL as exc:  # control characters in the host or path
            raise SendFailed("webhook: the URL cannot be sent in a request", retryable=False) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise SendFailed(f"webhook: {type(exc).__name__}", retryable=True) from exc
        finally:
            if connection is not None:
                connection.close()

    def _connection(self, url: VettedUrl) -> http.client.HTTPConnection:
        if url.scheme == "https":
            if self._tls_context is None:  # loading the trust store once per container is enough
                self._tls_context = ssl.create_default_context()
            return _PinnedHTTPSConnection(url, timeout=self._timeout, context=self._tls_context)
        return _PinnedHTTPConnection(url, timeout=self._timeout)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Speaks to the URL's host by name (Host header) over a socket to an address checked beforehand."""

    def __init__(self, url: VettedUrl, *, timeout: float) -> None:
        super().__init__(url.host, url.port, timeout=timeout)
        self._addresses = url.addresses

    def connect(self) -> None:
        self.sock = _open_socket(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As _PinnedHTTPConnection, with TLS whose server name and certificate check use the URL's host."""

    def __init__(self, url: VettedUrl, *, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(url.host, url.port, timeout=timeout, context=context)
        self._addresses = url.addresses
        self._tls = context

    def connect(self) -> None:
        sock = _open_socket(self._addresses, self.port, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _open_socket(addresses: tuple[str, ...], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers; numeric only, so no DNS lookup."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        for family, kind, proto, _, sockaddr in socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        ):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
    raise error


def _drain(response: http.client.HTTPResponse, *, deadline: float) -> None:
    """Read and drop at most MAX_RESPONSE_BYTES of the answer, giving up quietly at ``deadline``."""
    left = MAX_RESPONSE_BYTES
    with contextlib.suppress(OSError, http.client.HTTPException):
        while left > 0 and time.monotonic() < deadline:
            chunk = response.read1(min(left, 16 * 1024))
            if not chunk:
                return
            left -= len(chunk)
