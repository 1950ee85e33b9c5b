"""API keys: created with their secret shown once, listed without it, revoked for good."""

from __future__ import annotations

from datetime import datetime

import structlog

from chalicelib.domain.auth import ApiKey, ApiRole, key_record, new_key
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.ports import AckLog, KeyStore
from chalicelib.services import audit

logger = structlog.get_logger()


def create(
    name: str, role: ApiRole, *, keys: KeyStore, ack_log: AckLog, actor: str, now: datetime
) -> tuple[ApiKey, str]:
    key, plaintext = new_key(name=name, role=role, now=now)
    keys.add(key)
    audit.record(
        ack_log, actor=actor, action="key.created", target=key.id, before=None, after=key_record(key), now=now
    )
    logger.info("key.created", created_key_id=key.id, role=str(role))
    return key, plaintext


def revoke(key_id: str, *, keys: KeyStore, ack_log: AckLog, actor: str, now: datetime) -> None:
    key = keys.get(key_id)
    if key is None:
        raise NotFound(f"no API key {key_id!r}")
    if key.active and key.role is ApiRole.ADMIN:
        admins = [k for k in keys.list() if k.active and k.role is ApiRole.ADMIN]
        if len(admins) <= 1:
            # Revoking it would lock every admin out with no way back but the database.
            raise Conflict("this is the last active admin key; create another admin key first")
    keys.revoke(key_id, now=now)
    after = keys.get(key_id)
    audit.record(
        ack_log,
        actor=actor,
        action="key.revoked",
        target=key_id,
        before=key_record(key),
        after=key_record(after) if after else None,
        now=now,
    )
    logger.info("key.revoked", revoked_key_id=key_id)


def listing(*, keys: KeyStore) -> list[ApiKey]:
    """Every key, revoked ones included (with when), never a secret."""
    return keys.list()
