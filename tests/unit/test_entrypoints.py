"""The edge stays thin: handlers reach only bound use cases, use cases only pass on to services, and
every write a key can make leaves a log entry naming the key that made it.

The write test walks the declared routes (chalicelib/entrypoints/contract.py): a new write route
fails it until it has a way to be exercised here and its service records who acted.
"""

from __future__ import annotations

import ast
import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.subscribers import Channel, ChannelType, Role
from chalicelib.entrypoints.contract import OPERATIONS, Operation
from tests.builders import detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import SUBSCRIBER, call
from tests.unit.test_pipeline import run

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINTS = sorted((ROOT / "chalicelib" / "entrypoints").glob("*.py"))
# What an entry point may not import: it reaches stores and providers only through use cases.
PORT_MODULES = ("chalicelib.ports", "chalicelib.adapters", "boto3", "botocore")
Keys = dict[ApiRole, str]


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def is_exception(dotted: str) -> bool:
    """A name of chalicelib.ports that is an exception type (mapping store errors to answers is the
    edge's work), not a port."""
    module, _, name = dotted.rpartition(".")
    found = getattr(importlib.import_module(module), name, None) if module == "chalicelib.ports" else None
    return isinstance(found, type) and issubclass(found, Exception)


@pytest.mark.parametrize("path", ENTRYPOINTS, ids=lambda p: p.name)
def test_no_entry_point_imports_a_port_or_an_adapter(path: Path) -> None:
    imported = imported_modules(ast.parse(path.read_text(encoding="utf-8")))
    reached = [m for m in imported if m.startswith(PORT_MODULES) and m != "chalicelib.ports"]
    assert [m for m in reached if not is_exception(m)] == [], path.name


@pytest.mark.parametrize("path", [*ENTRYPOINTS, ROOT / "app.py"], ids=lambda p: p.name)
def test_no_entry_point_reaches_the_dependencies_past_the_use_cases(path: Path) -> None:
    """``bootstrap.deps()`` hands out the ports themselves; entry points get ``bootstrap.usecases()``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reached = [
        n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in {"deps", "_deps"}
    ]
    assert reached == [], f"{path.name} lines {reached}"


def use_case_methods() -> list[ast.FunctionDef]:
    tree = ast.parse((ROOT / "chalicelib" / "usecases.py").read_text(encoding="utf-8"))
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "UseCases"]
    return [
        n
        for n in cls.body
        if isinstance(n, ast.FunctionDef)
        and not n.name.startswith("_")
        and not any(isinstance(d, ast.Name) and d.id == "property" for d in n.decorator_list)
    ]


def test_each_use_case_passes_its_values_to_one_service_function_and_does_nothing_else() -> None:
    methods = use_case_methods()
    assert len(methods) >= 40
    for method in methods:
        body = [s for s in method.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        imports = [s for s in body if isinstance(s, ast.ImportFrom)]
        aliases = [s for s in body if isinstance(s, ast.Assign)]
        rest = [s for s in body if s not in imports and s not in aliases]
        if method.name in {"authorize", "now"}:
            continue  # the caller check (two access functions in a row) and the clock itself
        assert all(i.module == "chalicelib.services" for i in imports), method.name
        assert all(ast.unparse(a) == "d = self._deps" for a in aliases), method.name
        assert len(rest) == 1, f"{method.name} does more than call its service"
        [statement] = rest
        call_ = statement.value if isinstance(statement, ast.Return | ast.Expr) else None
        assert isinstance(call_, ast.Call), method.name
        service = call_.func.value if isinstance(call_.func, ast.Attribute) else None
        assert isinstance(service, ast.Name), method.name
        assert service.id in {alias.asname or alias.name for i in imports for alias in i.names}, method.name


# --- every write a key can make is recorded with the key's id -------------------------------------


@dataclass(frozen=True, slots=True)
class Write:
    """How to make one write through the API, from a world the recipe prepares."""

    role: ApiRole
    path: str
    body: Any = None
    content_type: str = "application/json"


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    world.subscribers.add(subscriber("corrections", Role.CORRECTIONS, "us-ct"))
    webhook = Channel(ChannelType.WEBHOOK, "https://hooks.example.org/x", secret="whsec_dGVzdHNlY3JldA==")
    world.subscribers.add(subscriber("advocates", Role.ADVOCATE, "us-ct", channels=(webhook,)))
    with Client(app) as test_client:
        yield test_client


def _detainer(client: Client, keys: Keys, world: FakeWorld) -> str:
    _, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], detainer_body())
    run(world)
    return str(accepted["notice_id"])


def _decided(client: Client, keys: Keys, world: FakeWorld) -> tuple[str, str]:
    notice_id = _detainer(client, keys, world)
    _, decided = call(
        client,
        "POST",
        f"/detainers/{notice_id}/decision",
        keys[ApiRole.REVIEWER],
        {"decision": "decline", "reasons": "No statutory criterion is met."},
    )
    return notice_id, str(decided["duties"][0]["id"])


def _forwarded_mail(name: str) -> bytes:
    raw = (ROOT / "tests" / "corpus" / "mail" / f"{name}.eml").read_bytes()
    assert message_from_bytes(raw)["From"]
    return raw


def _held_for_triage(client: Client, keys: Keys, world: FakeWorld) -> str:
    response = client.http.post(
        "/inbound/email",
        headers={"Authorization": f"Bearer {keys[ApiRole.SOURCE]}", "Content-Type": "message/rfc822"},
        body=_forwarded_mail("no-program-named"),
    )
    return str(response.json_body["triage"]["notice_id"])


def _a_trusted_sender(client: Client, keys: Keys) -> str:
    status, _ = call(client, "POST", "/inbound/senders", keys[ApiRole.ADMIN], {"sender": "ice.dhs.gov"})
    assert status == 201
    return "ice.dhs.gov"


def _a_facility(client: Client, keys: Keys) -> str:
    body = {"name": "Travis County Jail", "place": "us-tx/county/travis", "kind": "jail"}
    added = client.http.post(
        "/facilities",
        headers={"Authorization": f"Bearer {keys[ApiRole.ADMIN]}", "Content-Type": "application/json"},
        body=json.dumps(body),
    )
    assert added.status_code == 201, added.body
    return str(json.loads(added.body)["id"])


def _a_subscriber(world: FakeWorld) -> str:
    return next(iter(world.subscribers.list(limit=10, cursor=None).items)).id


def _webhook_channel(world: FakeWorld) -> tuple[str, str]:
    for s in world.subscribers.list(limit=10, cursor=None).items:
        for c in s.channels:
            if c.type is ChannelType.WEBHOOK:
                return s.id, c.id
    raise AssertionError("the fixture has a webhook channel")


ROTATION = {
    "jurisdiction": "statewide",
    "role": "corrections",
    "members": ["corrections"],
    "shift": "P7D",
    "handoff": "08:00",
    "start": "2026-03-02",
}


def _a_rotation(client: Client, keys: Keys) -> str:
    status, made = call(client, "POST", "/rotations", keys[ApiRole.ADMIN], ROTATION)
    assert status == 201
    return str(made["id"])


def _spare_admin_key(client: Client, keys: Keys) -> str:
    _, created = call(client, "POST", "/keys", keys[ApiRole.ADMIN], {"name": "spare", "role": "admin"})
    return str(created["id"])


WRITES: dict[tuple[str, str], Callable[[Client, Keys, FakeWorld], Write]] = {
    ("POST", "/events"): lambda c, k, w: Write(ApiRole.SOURCE, "/events", rollout_body()),
    ("POST", "/inbound/email"): lambda c, k, w: Write(
        ApiRole.SOURCE, "/inbound/email", _forwarded_mail("story-inline-forward"), "message/rfc822"
    ),
    ("POST", "/inbound/triage/{notice_id}"): lambda c, k, w: Write(
        ApiRole.ADMIN,
        f"/inbound/triage/{_held_for_triage(c, k, w)}",
        {
            "program": "secure-communities",
            "jurisdiction": "statewide",
            "effective_at": "2012-02-22T00:00:00-05:00",
        },
    ),
    ("POST", "/inbound/triage/{notice_id}/dismiss"): lambda c, k, w: Write(
        ApiRole.ADMIN, f"/inbound/triage/{_held_for_triage(c, k, w)}/dismiss", {"reason": "a newsletter"}
    ),
    ("POST", "/inbound/senders"): lambda c, k, w: Write(
        ApiRole.ADMIN, "/inbound/senders", {"sender": "ice.dhs.gov", "note": "ICE"}
    ),
    ("DELETE", "/inbound/senders/{sender}"): lambda c, k, w: Write(
        ApiRole.ADMIN, f"/inbound/senders/{_a_trusted_sender(c, k)}"
    ),
    ("POST", "/detainers/{notice_id}/decision"): lambda c, k, w: Write(
        ApiRole.REVIEWER,
        f"/detainers/{_detainer(c, k, w)}/decision",
        {"decision": "decline", "reasons": "No statutory criterion is met."},
    ),
    ("POST", "/detainers/{notice_id}/duties/{duty_id}"): lambda c, k, w: Write(
        ApiRole.REVIEWER, "/detainers/{}/duties/{}".format(*_decided(c, k, w)), {"done": True}
    ),
    ("PUT", "/policies/{event_type}"): lambda c, k, w: Write(
        ApiRole.ADMIN,
        "/policies/rollout",
        {
            "required_roles": ["state-executive"],
            "steps": [{"after": "PT0S", "notify": "recipients"}, {"after": "PT2H", "notify": "admins"}],
        },
    ),
    ("POST", "/admin/sweep"): lambda c, k, w: Write(ApiRole.ADMIN, "/admin/sweep"),
    ("POST", "/subscribers"): lambda c, k, w: Write(ApiRole.ADMIN, "/subscribers", SUBSCRIBER),
    ("PATCH", "/subscribers/{subscriber_id}"): lambda c, k, w: Write(
        ApiRole.ADMIN, f"/subscribers/{_a_subscriber(w)}", {"name": "Renamed"}
    ),
    ("DELETE", "/subscribers/{subscriber_id}"): lambda c, k, w: Write(
        ApiRole.ADMIN, f"/subscribers/{_a_subscriber(w)}"
    ),
    ("POST", "/subscribers/{subscriber_id}/test"): lambda c, k, w: Write(
        ApiRole.ADMIN, f"/subscribers/{_a_subscriber(w)}/test"
    ),
    ("POST", "/subscribers/{subscriber_id}/channels/{channel_id}/rotate-secret"): lambda c, k, w: Write(
        ApiRole.ADMIN, "/subscribers/{}/channels/{}/rotate-secret".format(*_webhook_channel(w))
    ),
    ("POST", "/facilities"): lambda c, k, w: Write(
        ApiRole.ADMIN,
        "/facilities",
        {"name": "Harris County Jail", "place": "Harris County, TX", "kind": "jail"},
    ),
    ("PATCH", "/facilities/{state_id}/facility/{slug}"): lambda c, k, w: Write(
        ApiRole.ADMIN, f"/facilities/{_a_facility(c, k)}", {"aliases": ["Harris Jail"]}
    ),
    ("POST", "/keys"): lambda c, k, w: Write(ApiRole.ADMIN, "/keys", {"name": "ops", "role": "viewer"}),
    ("POST", "/rotations"): lambda c, k, w: Write(ApiRole.ADMIN, "/rotations", ROTATION),
    ("PATCH", "/rotations/{rotation_id}"): lambda c, k, w: Write(
        ApiRole.ADMIN, f"/rotations/{_a_rotation(c, k)}", {"shift": "P1D"}
    ),
    ("DELETE", "/rotations/{rotation_id}"): lambda c, k, w: Write(
        ApiRole.ADMIN, f"/rotations/{_a_rotation(c, k)}"
    ),
    ("DELETE", "/keys/{key_id}"): lambda c, k, w: Write(ApiRole.ADMIN, f"/keys/{_spare_admin_key(c, k)}"),
}


def keyed_writes() -> list[Operation]:
    import vigil_local.dev_routes  # noqa: F401, PLC0415  # its routes are declared too (and take no key)

    return [op for op in OPERATIONS.values() if op.writes and op.roles and not op.local_only]


def actors(world: FakeWorld) -> list[str]:
    return [e.actor for entries in world.ack_log.entries_by_notice.values() for e in entries]


@pytest.mark.parametrize("op", keyed_writes(), ids=lambda op: f"{op.method} {op.path}")
def test_every_write_a_key_makes_is_logged_under_that_key(
    op: Operation, client: Client, keys: Keys, world: FakeWorld
) -> None:
    recipe = WRITES.get((op.method, op.path))
    assert recipe is not None, f"{op.method} {op.path} writes: add how to exercise it to WRITES"
    write = recipe(client, keys, world)
    assert write.role in op.roles
    key_id = keys[write.role].split("_")[1]
    before = actors(world).count(key_id)
    body = write.body if isinstance(write.body, bytes | None) else json.dumps(write.body)
    response = getattr(client.http, op.method.lower())(
        write.path,
        headers={"Authorization": f"Bearer {keys[write.role]}", "Content-Type": write.content_type},
        body=body or b"",
    )
    assert response.status_code == op.status, response.body[:500]
    assert actors(world).count(key_id) > before, f"{op.method} {op.path} left no entry naming its caller"
