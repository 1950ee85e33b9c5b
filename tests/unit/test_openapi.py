"""The HTTP contract in one place: every route declared once (chalicelib/entrypoints/contract.py), and
docs/openapi.yaml, docs/api.md's route table and the vigil command checked against the declarations."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import app
from chalicelib.domain.auth import ApiRole
from chalicelib.entrypoints.contract import Operation
from tools import openapi
from vigil_cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "openapi.yaml"
API_MD = ROOT / "docs" / "api.md"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# A row of the route table: | `METHOD /path` | allowed roles | answer |
_ROW = re.compile(r"^\| `(?P<method>[A-Z]+) (?P<path>/[^` ?]*)` \| (?P<who>[^|]+) \| (?P<answer>.*) \|$")
_STATUS_IN_ANSWER = re.compile(r"`([1-5]\d\d)\b")
_TEMPLATE_PARAM = re.compile(r"\{([^}]+)\}")
# "readers" means every role, in the order the roles are declared.
READERS = [str(role) for role in ApiRole]
ERROR_REF = "#/components/schemas/Error"
ERROR_STATUSES = ("400", "401", "403", "404", "409", "413", "415", "429", "503")

Route = tuple[str, str]


@functools.cache
def document() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def operations() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(METHOD, path, operation, path item) for each operation of the document."""
    for path, item in document()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method], item


def app_routes() -> dict[Route, str]:
    """(METHOD, path) → the view function's name, for each route of app.py."""
    return {
        (method, path): entry.view_name
        for path, methods in app.routes.items()
        for method, entry in methods.items()
    }


def table_rows() -> dict[Route, tuple[str, str]]:
    """(METHOD, path) → (allowed roles, answer) from the route table of docs/api.md."""
    rows = {}
    for line in API_MD.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows[(match["method"], match["path"])] = (match["who"].strip(), match["answer"].strip())
    return rows


def roles_of(who: str) -> list[str]:
    """The table's "allowed roles" as x-roles lists them: [] for routes that take no key."""
    if who.startswith(("anyone", "local stage only")):
        return []
    if who == "readers":
        return READERS
    roles = [r.strip() for r in who.split(",")]
    assert all(r in READERS for r in roles), f"unknown role in {who!r}"
    return roles


def resolve(node: Any) -> Any:
    """Follow a local $ref (repeatedly) to what it names."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str)
        assert ref.startswith("#/"), f"only local references are used: {ref}"
        assert ref not in seen, f"reference cycle at {ref}"
        seen.add(ref)
        node = document()
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict), f"{ref}: {key!r} is not inside an object"
            assert key in node, f"{ref} does not resolve ({key!r} is missing)"
            node = node[key]
    return node


def refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """Every $ref in the document, with where it occurs."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield where, value
            else:
                yield from refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs(value, f"{where}/{i}")


def path_parameters(operation: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    declared = [resolve(p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]]
    return [p for p in declared if p.get("in") == "path"]


def declared() -> dict[Route, Operation]:
    return {(op.method, op.path): op for op in openapi.declared_operations()}


def test_every_route_of_the_app_is_declared_through_the_contract() -> None:
    """A route registered with Chalice directly would escape every check below."""
    assert set(app_routes()) == set(declared())
    assert all(op.name == app_routes()[route] for route, op in declared().items())


def test_the_document_says_what_the_declarations_say() -> None:
    """Operation ids, tags, security, roles and statuses: python -m tools.openapi writes them."""
    current = SPEC.read_text(encoding="utf-8")
    assert openapi.rendered(current, openapi.declared_operations()) == current, (
        "docs/openapi.yaml is stale: run .venv/bin/python -m tools.openapi"
    )


def test_every_declared_operation_is_in_the_document_with_a_summary() -> None:
    documented = {(method, path): op for method, path, op, _ in operations()}
    assert set(documented) == set(declared())
    for route, op in documented.items():
        assert op.get("summary") not in (None, openapi.PLACEHOLDER), f"{route} needs a summary"
        for status, response in op["responses"].items():
            assert resolve(response).get("description") != openapi.PLACEHOLDER, f"{route} {status}"


def test_operation_ids_are_the_handler_names() -> None:
    ids = {(method, path): op.get("operationId") for method, path, op, _ in operations()}
    assert ids == {route: op.name for route, op in declared().items()}
    assert len(set(ids.values())) == len(ids), "operationIds must be unique"


def test_success_answers_carry_the_declared_media_types() -> None:
    for method, path, op, _ in operations():
        declared_op = declared()[(method, path)]
        success = resolve(op["responses"][str(declared_op.status)])
        assert set(success.get("content", {})) == set(declared_op.answers), f"{method} {path}"


def test_request_bodies_take_the_declared_content_types() -> None:
    for method, path, op, _ in operations():
        declared_op = declared()[(method, path)]
        if declared_op.body:
            assert "requestBody" in op, f"{method} {path} reads a body the document does not describe"
        if "requestBody" in op:
            content = set(resolve(op["requestBody"])["content"])
            assert content == set(declared_op.content_types), f"{method} {path}"


def test_the_route_table_of_docs_api_md_lists_the_declared_routes() -> None:
    assert set(table_rows()) == set(declared())


def test_roles_agree_with_the_route_table_in_docs_api_md() -> None:
    rows = table_rows()
    for route, op in declared().items():
        who, _ = rows[route]
        assert [str(r) for r in op.roles] == roles_of(who), f"{route}: the table says {who!r}"


def _commands(group: Any, prefix: str = "") -> set[str]:
    found = set()
    for name, command in getattr(group, "commands", {}).items():
        found.add(f"{prefix}{name}")
        found |= _commands(command, f"{prefix}{name} ")
    return found


def test_each_admin_route_has_a_vigil_command_or_says_why_not() -> None:
    commands = _commands(cli)
    for route, op in declared().items():
        if op.local_only:
            continue
        if op.cli is not None:
            assert op.cli in commands, f"{route} names `vigil {op.cli}`, which does not exist"
        elif op.roles == (ApiRole.ADMIN,):
            assert op.api_only, f"{route}: declare cli= (its vigil command) or api_only= (why there is none)"


def test_statuses_named_in_the_route_table_are_declared() -> None:
    rows = table_rows()
    for route, op in declared().items():
        _, answer = rows[route]
        named = {int(s) for s in _STATUS_IN_ANSWER.findall(answer)}
        assert named <= set(op.statuses), f"{route}: docs/api.md names {sorted(named)}"
        leading = _STATUS_IN_ANSWER.match(answer)
        if leading:
            assert op.status == int(leading[1]), f"{route}: docs/api.md answers {leading[1]}"


def test_document_is_valid_openapi() -> None:
    spec = document()
    try:
        validator = importlib.import_module("openapi_spec_validator")
    except ImportError:
        validator = None
    if validator is not None:
        validator.validate(spec)
    # The structural checks run either way: they are cheap and say exactly what is wrong.
    assert str(spec["openapi"]).startswith("3.1")
    assert spec["info"]["title"] == "Vigil"
    assert str(spec["info"]["version"]) == "1"
    assert spec["servers"][0]["url"] == "http://127.0.0.1:8000"
    bearer = spec["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert "vk_<id>_<secret>" in bearer["bearerFormat"]
    for where, ref in refs(spec):
        assert resolve({"$ref": ref}) is not None, f"{where}: {ref}"
    schemes = set(spec["components"]["securitySchemes"])
    for method, path, op, item in operations():
        name = f"{method} {path}"
        assert op.get("responses"), f"{name} has no responses"
        for status in op["responses"]:
            assert isinstance(status, str), f"{name}: quote status {status!r} (YAML reads it as a number)"
            assert status == "default" or re.fullmatch(r"[1-5]\d\d", status), f"{name}: {status!r}"
            assert "description" in resolve(op["responses"][status]), f"{name} {status} needs a description"
        for requirement in op.get("security", spec.get("security", [])):
            assert set(requirement) <= schemes, f"{name}: unknown security scheme in {requirement}"
        declared = path_parameters(op, item)
        names = [p["name"] for p in declared]
        assert len(names) == len(set(names)), f"{name} declares a path parameter twice"
        assert set(names) == set(_TEMPLATE_PARAM.findall(path)), f"{name} declares {names}"
        assert all(p.get("required") is True for p in declared), f"{name}: path parameters are required"


def test_path_parameters_are_the_view_arguments() -> None:
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            assert sorted(_TEMPLATE_PARAM.findall(path)) == sorted(entry.view_args), f"{method} {path}"


def test_every_error_response_uses_the_error_schema() -> None:
    spec = document()
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "details"}
    field_error = resolve(error["properties"]["details"]["items"])
    assert set(field_error["required"]) == {"field", "message"}
    checked = 0
    for method, path, op, _ in operations():
        for status, response in op["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = resolve(response).get("content", {})
            name = f"{method} {path} {status}"
            assert content, f"{name} has no body"
            # JSON refusals are the Error shape; the signed-link pages answer a browser in HTML.
            assert set(content) <= {"application/json", "text/html"}, name
            if "application/json" in content:
                assert content["application/json"]["schema"] == {"$ref": ERROR_REF}, name
                checked += 1
            else:
                assert status in {"404", "410"}, f"{name}: only a link page's 404 and 410 are HTML alone"
    assert checked >= 80


@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_each_error_status_has_a_shared_response(status: str) -> None:
    """Each refusal status has a reusable response whose body is an Error."""
    names = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "403": "Forbidden",
        "404": "NotFound",
        "409": "Conflict",
        "413": "TooLarge",
        "415": "UnsupportedMediaType",
        "429": "TooManyRequests",
        "503": "Unavailable",
    }
    response = document()["components"]["responses"][names[status]]
    assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    # Where an operation refers to a shared JSON refusal for this status, it is this one.
    used = {
        ref
        for _, _, op, _ in operations()
        if isinstance(ref := op["responses"].get(status, {}).get("$ref"), str)
        and "application/json" in resolve({"$ref": ref}).get("content", {})
    }
    assert used <= {f"#/components/responses/{names[status]}"}, used
