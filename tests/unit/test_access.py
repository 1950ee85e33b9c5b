"""Walks the route table of docs/api.md: every route is listed, and each refuses what it must."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.domain.auth import ApiRole
from tests.fakes import FakeWorld
from tests.unit.test_api import call

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_ROW = re.compile(r"^\| `(?P<method>[A-Z]+) (?P<path>/[^` ?]*)` \| (?P<who>[^|]+) \|")
EVERY_ROLE = frozenset(ApiRole)


def documented() -> dict[tuple[str, str], str]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows[(match["method"], match["path"])] = match["who"].strip()
    return rows


def allowed_roles(who: str) -> frozenset[ApiRole] | None:
    """None: the route takes no key (open, a signed token, or the local stage only)."""
    if who.startswith(("anyone", "local stage only")):
        return None
    if who == "readers":
        return EVERY_ROLE
    return frozenset(ApiRole(r.strip()) for r in who.split(","))


ROWS = documented()
PROTECTED = sorted((m, p, roles) for (m, p), who in ROWS.items() if (roles := allowed_roles(who)) is not None)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def content_type(method: str, path: str) -> str:
    """JSON, or the first type a route takes when it does not take JSON (the raw email route)."""
    types = app.routes[path][method].content_types
    return "application/json" if "application/json" in types else types[0]


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


def test_the_table_lists_every_route_of_the_app_and_nothing_else() -> None:
    routes = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert set(ROWS) == routes


def test_the_table_names_only_known_roles() -> None:
    assert len(PROTECTED) >= 15
    for _, _, roles in PROTECTED:
        assert roles <= EVERY_ROLE


@pytest.mark.parametrize(("method", "path", "roles"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_each_protected_route_refuses_no_key_with_401(
    client: Client, method: str, path: str, roles: frozenset[ApiRole]
) -> None:
    status, body = call(
        client,
        method,
        concrete(path),
        None,
        {} if method in {"POST", "PUT", "PATCH"} else None,
        **{"Content-Type": content_type(method, path)},
    )
    assert status == 401
    assert body["error"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "roles"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_each_protected_route_refuses_every_other_role_with_403_and_admits_its_own(
    client: Client, keys: dict[ApiRole, str], method: str, path: str, roles: frozenset[ApiRole]
) -> None:
    body: dict[str, str] | None = {} if method in {"POST", "PUT", "PATCH"} else None
    for role in ApiRole:
        status, answer = call(
            client, method, concrete(path), keys[role], body, **{"Content-Type": content_type(method, path)}
        )
        if role in roles:
            assert status not in {401, 403}, (role, answer)
        else:
            assert status == 403, (role, answer)
            assert answer["error"] == "forbidden"
