"""Acknowledgment tokens: unguessable, bound to one delivery, unforgeable without the stack's secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

_MAC_BYTES = 20


class InvalidToken(ValueError):
    """The token was not made by this stack for any delivery."""


@dataclass(frozen=True, slots=True)
class AckTarget:
    notice_id: str
    delivery_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"vigil-ack-v1\x00" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def make_ack_token(secret: bytes, target: AckTarget) -> str:
    payload = f"{target.notice_id}|{target.delivery_id}".encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def read_ack_token(secret: bytes, token: str) -> AckTarget:
    """The delivery a token stands for; raises InvalidToken for anything this stack did not sign."""
    try:
        encoded_payload, encoded_mac = token.split(".")
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        notice_id, delivery_id = payload.decode().split("|")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("malformed acknowledgment token") from exc
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise InvalidToken("acknowledgment token was not signed by this stack")
    return AckTarget(notice_id=notice_id, delivery_id=delivery_id)
