"""Signed webhooks over real HTTP, per the Standard Webhooks specification.

Every send checks the URL again (DNS may answer differently than when the subscriber was created)
and connects to the very addresses it checked, so a name cannot be pointed at a private network
between the check and the connection. Redirects are not followed: they would lead anywhere.

One deadline bounds the whole request (connect, TLS, sending, the status line and headers): a
receiver that trickles its answer a byte at a time cannot hold a send invocation past it, because
the socket is shut down when the deadline passes, whatever it is waiting for.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import socket
import ssl
import threading
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
        self._http = PinnedPoster(
            timeout_seconds=timeout_seconds,
            resolver=resolver,
            allow_private=allow_private,
            tls_context=tls_context,
            name="webhook",
        )

    def send(self, message: OutgoingWebhook, *, secrets: Sequence[str], now: datetime) -> str:
        body = json.dumps(message.payload, sort_keys=True, separators=(",", ":"))
        headers = signed_headers(message, body, secrets=secrets, now=now)
        return self._http.post(message.url, body.encode(), headers)


class PinnedPoster:
    """One POST to a subscriber's URL, checked against private networks at every send and connected
    to the very addresses checked; a 2xx answer's status is returned as text, anything else raises
    SendFailed (``failure``: a redirect or a 4xx for good, a 5xx, 408, 429 or no answer retryable).
    ``name`` begins each failure's reason ("webhook: HTTP 503")."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        resolver: Resolver = system_resolver,
        allow_private: bool = False,
        tls_context: ssl.SSLContext | None = None,
        name: str,
        failure: type[SendFailed] = SendFailed,
    ) -> None:
        self._timeout = timeout_seconds
        self._resolver = resolver
        self._allow_private = allow_private
        self._tls_context = tls_context
        self._name = name
        self._failure = failure

    def post(self, url_text: str, body: bytes, headers: dict[str, str]) -> str:
        name, failure = self._name, self._failure
        try:
            url = vet_webhook_url(url_text, resolver=self._resolver, allow_private=self._allow_private)
        except Unresolvable as exc:  # DNS may be failing for a moment: try again later
            raise failure(f"{name}: {exc.reason}", retryable=True) from exc
        except UnsafeUrl as exc:
            raise failure(f"{name}: {exc.reason}", retryable=False) from exc
        status, reason, answer_headers = self._post(url, body, headers)
        if 200 <= status < 300:
            return str(status)
        # The cause carries the status for callers that record it (the local outbox does).
        cause = urllib.error.HTTPError(url_text, status, reason, answer_headers, None)
        if 300 <= status < 400:
            raise failure(f"{name}: redirect not followed (HTTP {status})", retryable=False) from cause
        raise failure(
            f"{name}: HTTP {status}",
            retryable=_retryable(status),
            retry_after=retry_after_seconds(answer_headers),
        ) from cause

    def _post(
        self, url: VettedUrl, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, http.client.HTTPMessage]:
        connection: http.client.HTTPConnection | None = None
        deadline = Deadline(self._timeout)
        try:
            connection = self._connection(url, deadline)
            connection.request("POST", url.target, body=body, headers=headers)
            response = connection.getresponse()
            _drain(response, deadline=deadline)
            return response.status, response.reason, response.msg
        except http.client.InvalidURL as exc:  # control characters in the host or path
            raise self._failure(
                f"{self._name}: the URL cannot be sent in a request", retryable=False
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            if deadline.over():
                raise self._failure(
                    f"{self._name}: no answer within {self._timeout:g} s for the whole request",
                    retryable=True,
                ) from exc
            raise self._failure(f"{self._name}: {type(exc).__name__}", retryable=True) from exc
        finally:
            deadline.cancel()
            if connection is not None:
                connection.close()

    def _connection(self, url: VettedUrl, deadline: Deadline) -> http.client.HTTPConnection:
        if url.scheme == "https":
            if self._tls_context is None:  # loading the trust store once per container is enough
                self._tls_context = ssl.create_default_context()
            return _PinnedHTTPSConnection(url, deadline=deadline, context=self._tls_context)
        return _PinnedHTTPConnection(url, deadline=deadline)


class Deadline:
    """A time limit for a whole exchange: sockets handed to ``watch`` are shut down when it passes,
    which ends any read or write blocked on them, however slowly bytes were arriving."""

    def __init__(self, seconds: float) -> None:
        self._ends = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.passed = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(self._ends - time.monotonic(), 0.001)

    def over(self) -> bool:
        """Passed, whether the watchdog or a socket's own timeout (set to what remained) saw it first."""
        return self.passed or time.monotonic() >= self._ends

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.passed:
                raise TimeoutError("the deadline has passed")
            self._sockets.append(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Speaks to the URL's host by name (Host header) over a socket to an address checked beforehand."""

    def __init__(self, url: VettedUrl, *, deadline: Deadline) -> None:
        super().__init__(url.host, url.port, timeout=deadline.remaining())
        self._addresses = url.addresses
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = _open_socket(self._addresses, self.port, self._deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As _PinnedHTTPConnection, with TLS whose server name and certificate check use the URL's host."""

    def __init__(self, url: VettedUrl, *, deadline: Deadline, context: ssl.SSLContext) -> None:
        super().__init__(url.host, url.port, timeout=deadline.remaining(), context=context)
        self._addresses = url.addresses
        self._tls = context
        self._deadline = deadline

    def connect(self) -> None:
        sock = _open_socket(self._addresses, self.port, self._deadline)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _open_socket(addresses: tuple[str, ...], port: int, deadline: Deadline) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers; numeric only, so no DNS lookup."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        for family, kind, proto, _, sockaddr in socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        ):
            sock = socket.socket(family, kind, proto)
            try:
                deadline.watch(sock)
                sock.settimeout(deadline.remaining())
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
    raise error


def _drain(response: http.client.HTTPResponse, *, deadline: Deadline) -> None:
    """Read and drop at most MAX_RESPONSE_BYTES of the answer, giving up quietly at ``deadline``:
    the status is already in hand."""
    left = MAX_RESPONSE_BYTES
    with contextlib.suppress(OSError, http.client.HTTPException):
        while left > 0 and not deadline.passed:
            chunk = response.read1(min(left, 16 * 1024))
            if not chunk:
                return
            left -= len(chunk)
