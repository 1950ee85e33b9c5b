"""API keys and the roles they carry. Keys are stored hashed; the secret is shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.errors import Unauthorized

KEY_PREFIX = "vk"


class ApiRole(StrEnum):
    ADMIN = "admin"
    SOURCE = "source"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


# Who may read: every authenticated role. The route table in docs/api.md lists the rest.
READERS = frozenset(ApiRole)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    role: ApiRole
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: str
    role: ApiRole


def key_record(key: ApiKey) -> dict[str, str | None]:
    """A key as the API and the audit trail show it: never its secret or its hash."""
    return {
        "id": key.id,
        "name": key.name,
        "role": str(key.role),
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def hash_secret(secret: str) -> str:
    # Keys are 32 random bytes: a fast hash suffices (no dictionary to attack), unlike passwords.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(*, name: str, role: ApiRole, now: datetime, key_id: str | None = None) -> tuple[ApiKey, str]:
    """A new key and its plaintext ``vk_<id>_<secret>``, which is never stored."""
    key_id = key_id or secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    plaintext = f"{KEY_PREFIX}_{key_id}_{secret}"
    return ApiKey(id=key_id, name=name, role=role, secret_hash=hash_secret(secret), created_at=now), plaintext


def key_from_plaintext(*, plaintext: str, name: str, role: ApiRole, now: datetime) -> ApiKey:
    """Adopt a given key (the local stack's VIGIL_ADMIN_KEY) after checking its shape."""
    key_id, secret = split_plaintext(plaintext)
    return ApiKey(id=key_id, name=name, role=role, secret_hash=hash_secret(secret), created_at=now)


def split_plaintext(plaintext: str) -> tuple[str, str]:
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or len(parts[2]) < 16:
        raise Unauthorized("API key is malformed; expected vk_<id>_<secret>")
    return parts[1], parts[2]


def matches(key: ApiKey, secret: str) -> bool:
    return hmac.compare_digest(key.secret_hash, hash_secret(secret))
