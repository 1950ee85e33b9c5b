"""POST /keys bodies."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.auth import ApiRole
from chalicelib.schemas.fields import Problems, choice, reject_unknown, require_object, text


def parse_key_request(body: Any) -> tuple[str, ApiRole]:
    body = require_object(body, "key")
    problems = Problems()
    reject_unknown(body, {"name", "role"}, problems)
    name = text(body, "name", problems, max_len=100, single_line=True)
    role = choice(body, "role", ApiRole, problems)
    problems.raise_if_any("key")
    assert name is not None and role is not None  # noqa: PT018  # narrowed by raise_if_any
    return name, role
