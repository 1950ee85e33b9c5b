"""Who is calling, and may they: bearer API keys checked against stored hashes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import structlog

from chalicelib.domain.auth import ApiKey, ApiRole, Caller, key_from_plaintext, matches, split_plaintext
from chalicelib.domain.errors import Forbidden, Unauthorized
from chalicelib.ports import KeyStore

logger = structlog.get_logger()

MAX_AUTHORIZATION = 512  # "Bearer vk_<16 hex>_<43 chars>" is under 80


def authenticate(authorization: str | None, *, keys: KeyStore) -> Caller:
    if not authorization:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    if len(authorization) > MAX_AUTHORIZATION:
        raise Unauthorized("API key is not valid")
    scheme, _, plaintext = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not plaintext.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    key_id, secret = split_plaintext(plaintext.strip())
    key = keys.get(key_id)
    if key is None or not key.active or not matches(key, secret):
        logger.info("auth.refused", key_id=key_id)
        # One message for unknown, revoked and wrong keys: the caller learns nothing to probe with.
        raise Unauthorized("API key is not valid")
    return Caller(key_id=key.id, role=key.role)


def require(caller: Caller, allowed: Collection[ApiRole]) -> Caller:
    if caller.role not in allowed:
        raise Forbidden(f"a {caller.role} key may not do this; it needs one of: {', '.join(sorted(allowed))}")
    return caller


def ensure_key(plaintext: str, *, name: str, role: ApiRole, keys: KeyStore, now: datetime) -> ApiKey:
    """Adopt a known key (the local stack's VIGIL_ADMIN_KEY), once."""
    key = key_from_plaintext(plaintext=plaintext, name=name, role=role, now=now)
    if keys.get(key.id) is None:
        keys.add(key)
    return key
