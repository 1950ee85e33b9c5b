"""Signed link tokens: unguessable, bound to one delivery or channel, unforgeable without the stack's secret.

Each purpose has its own MAC domain, so an acknowledgment token can never be replayed as an
unsubscribe token or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from chalicelib.domain.subscribers import ChannelRef

_MAC_BYTES = 20
# A secret shorter than SHA-256's block of entropy would make forging links a matter of guessing it.
MIN_SECRET_BYTES = 32


class WeakSecret(ValueError):
    """A link-signing secret under MIN_SECRET_BYTES, or none at all."""


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The secret links are signed with, and the ones they are still accepted with: a rotated-out
    secret keeps the links it signed valid until the next rotation."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, current: bytes, previous: Sequence[bytes] = ()) -> SigningKeys:
        for secret in (current, *previous):
            if len(secret) < MIN_SECRET_BYTES:
                raise WeakSecret(f"a link-signing secret must be at least {MIN_SECRET_BYTES} bytes")
        return cls(current, tuple(previous))

    @property
    def accepted(self) -> tuple[bytes, ...]:
        return (self.current, *self.previous)


class InvalidToken(ValueError):
    """The token was not made by this stack for this purpose."""


class LinkRefused(Exception):
    """A link was refused: not made by this stack for this use, or what it names no longer exists."""


class Purpose(StrEnum):
    ACK = "vigil-ack-v1"
    # v2 carries when it was issued: confirmation links last a week (domain/link_lifetimes.py).
    VERIFY = "vigil-verify-v2"
    UNSUBSCRIBE = "vigil-unsubscribe-v1"


@dataclass(frozen=True, slots=True)
class AckTarget:
    notice_id: str
    delivery_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: Purpose, payload: bytes) -> bytes:
    return hmac.new(secret, purpose.encode() + b"\x00" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _make(secret: bytes, purpose: Purpose, *fields: str) -> str:
    payload = "|".join(fields).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, purpose, payload))}"


def _read(
    secrets: bytes | Sequence[bytes], purpose: Purpose, token: str, *, fields: int = 2
) -> tuple[str, ...]:
    try:
        encoded_payload, encoded_mac = token.split(".")
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        values = tuple(payload.decode().split("|"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("malformed token") from exc
    if len(values) != fields:
        raise InvalidToken("malformed token")
    accepted = (secrets,) if isinstance(secrets, bytes) else tuple(secrets)
    if not any(hmac.compare_digest(mac, _mac(secret, purpose, payload)) for secret in accepted):
        raise InvalidToken("token was not signed by this stack for this purpose")
    return values


def make_ack_token(secret: bytes, target: AckTarget) -> str:
    return _make(secret, Purpose.ACK, target.notice_id, target.delivery_id)


def read_ack_token(secrets: bytes | Sequence[bytes], token: str) -> AckTarget:
    """The delivery a token stands for; raises InvalidToken for anything this stack did not sign
    with one of ``secrets`` (the current one, and those rotated out but still accepted)."""
    notice_id, delivery_id = _read(secrets, Purpose.ACK, token)
    return AckTarget(notice_id=notice_id, delivery_id=delivery_id)


def make_channel_token(secret: bytes, purpose: Purpose, ref: ChannelRef) -> str:
    return _make(secret, purpose, ref.subscriber_id, ref.channel_id)


def read_channel_token(secrets: bytes | Sequence[bytes], purpose: Purpose, token: str) -> ChannelRef:
    subscriber_id, channel_id = _read(secrets, purpose, token)
    return ChannelRef(subscriber_id=subscriber_id, channel_id=channel_id)


def make_verify_token(secret: bytes, ref: ChannelRef, *, issued: datetime) -> str:
    """A confirmation link's token: the channel, and when it was sent (links last a week)."""
    return _make(secret, Purpose.VERIFY, ref.subscriber_id, ref.channel_id, str(int(issued.timestamp())))


def read_verify_token(secrets: bytes | Sequence[bytes], token: str) -> tuple[ChannelRef, datetime]:
    subscriber_id, channel_id, issued = _read(secrets, Purpose.VERIFY, token, fields=3)
    try:
        sent = datetime.fromtimestamp(int(issued), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidToken("malformed token") from exc
    return ChannelRef(subscriber_id=subscriber_id, channel_id=channel_id), sent
