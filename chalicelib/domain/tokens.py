"""Signed link tokens: unguessable, bound to one delivery or channel, unforgeable without the stack's secret.

Each purpose has its own MAC domain, so an acknowledgment token can never be replayed as an
unsubscribe token or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.domain.subscribers import ChannelRef

_MAC_BYTES = 20


class InvalidToken(ValueError):
    """The token was not made by this stack for this purpose."""


class LinkRefused(Exception):
    """A link was refused: not made by this stack for this use, or what it names no longer exists."""


class Purpose(StrEnum):
    ACK = "vigil-ack-v1"
    VERIFY = "vigil-verify-v1"
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


def _make(secret: bytes, purpose: Purpose, first: str, second: str) -> str:
    payload = f"{first}|{second}".encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, purpose, payload))}"


def _read(secret: bytes, purpose: Purpose, token: str) -> tuple[str, str]:
    try:
        encoded_payload, encoded_mac = token.split(".")
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        first, second = payload.decode().split("|")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("malformed token") from exc
    if not hmac.compare_digest(mac, _mac(secret, purpose, payload)):
        raise InvalidToken("token was not signed by this stack for this purpose")
    return first, second


def make_ack_token(secret: bytes, target: AckTarget) -> str:
    return _make(secret, Purpose.ACK, target.notice_id, target.delivery_id)


def read_ack_token(secret: bytes, token: str) -> AckTarget:
    """The delivery a token stands for; raises InvalidToken for anything this stack did not sign."""
    notice_id, delivery_id = _read(secret, Purpose.ACK, token)
    return AckTarget(notice_id=notice_id, delivery_id=delivery_id)


def make_channel_token(secret: bytes, purpose: Purpose, ref: ChannelRef) -> str:
    return _make(secret, purpose, ref.subscriber_id, ref.channel_id)


def read_channel_token(secret: bytes, purpose: Purpose, token: str) -> ChannelRef:
    subscriber_id, channel_id = _read(secret, purpose, token)
    return ChannelRef(subscriber_id=subscriber_id, channel_id=channel_id)
