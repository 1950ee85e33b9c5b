"""Write each route's declared facts into docs/openapi.yaml.

    .venv/bin/python -m tools.openapi           # rewrite docs/openapi.yaml from the declarations
    .venv/bin/python -m tools.openapi --check   # exit 1, listing what is stale, if it is not up to date

The routes' declarations (``chalicelib/entrypoints/contract.py``: method, path, roles, statuses) are
the one source of those facts. For every declared operation this writes its ``operationId`` (the
handler's name), ``tags`` (its area), ``security`` and ``x-roles`` (its roles), and its responses'
statuses: each refusal it declares that the document does not describe becomes a reference to the
shared response of that status, and each status it does not declare is removed. Operations and
paths that no route declares are removed; a declared operation the document lacks is added with
a summary of "TODO" and no answer schema, which ``tests/unit/test_openapi.py`` refuses until someone
writes them. Everything a declaration cannot say (summaries, descriptions, parameters, request and
answer schemas, examples) is kept as written, comments and layout included (ruamel.yaml's round trip).
"""

from __future__ import annotations

import argparse
import difflib
import io
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Quoted

from chalicelib.entrypoints.contract import OPERATIONS, Operation

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = REPO_ROOT / "docs" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The shared response (components/responses) of each refusal status.
SHARED_REFUSALS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Gone",
    413: "TooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    503: "Unavailable",
}
PLACEHOLDER = "TODO"


def declared_operations() -> list[Operation]:
    """Every route of the app and of the local stack's own routes (imported for their declarations)."""
    import app  # noqa: F401, PLC0415  # registers every blueprint's routes in OPERATIONS
    import vigil_local.dev_routes  # noqa: F401, PLC0415  # and the local stack's /dev routes

    return sorted(OPERATIONS.values(), key=lambda o: (o.path, o.method))


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the long descriptions
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _flow(mapping: dict[str, Any]) -> CommentedMap:
    node = CommentedMap(mapping)
    node.fa.set_flow_style()
    return node


def _ref(status: int) -> CommentedMap:
    return _flow({"$ref": Quoted(f"#/components/responses/{SHARED_REFUSALS[status]}")})


def _set(node: CommentedMap, key: str, value: Any) -> None:
    """Set ``key`` unless it already holds an equal value (which keeps how it is written)."""
    if key not in node or _plain(node[key]) != _plain(value):
        node[key] = value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _write_operation(op: Operation, node: CommentedMap) -> None:
    _set(node, "operationId", op.name)
    _set(node, "tags", _flow_list([op.area]))
    node.move_to_end("tags", last=False)
    node.move_to_end("operationId", last=False)
    node.setdefault("summary", PLACEHOLDER)
    _set(node, "security", [_flow({"bearer": []})] if op.roles else [])
    _set(node, "x-roles", _flow_list([str(r) for r in op.roles]))
    responses = node.setdefault("responses", CommentedMap())
    if op.status not in {int(s) for s in responses}:
        responses[Quoted(str(op.status))] = CommentedMap({"description": PLACEHOLDER})
    for status in op.refuses:
        if str(status) not in responses:
            responses[Quoted(str(status))] = _ref(status)
    for status in [s for s in responses if int(s) not in op.statuses]:
        del responses[status]
    ordered = sorted(responses.items(), key=lambda item: int(item[0]))
    responses.clear()
    responses.update(ordered)
    # security and x-roles follow the summary and description, where a reader looks for them.
    _place_after(node, "security", ("description", "summary"))
    _place_after(node, "x-roles", ("security",))


def _flow_list(items: Iterable[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _place_after(node: CommentedMap, key: str, anchors: Sequence[str]) -> None:
    anchor = next((a for a in anchors if a in node), None)
    if anchor is None:
        return
    value = node.pop(key)
    keys = list(node)
    node.insert(keys.index(anchor) + 1, key, value)


def render(document: CommentedMap, operations: Sequence[Operation]) -> None:
    """``document`` rewritten in place to say what ``operations`` declare."""
    areas = sorted({op.area for op in operations})
    described = {str(t["name"]): t for t in document.get("tags", [])}
    _set(document, "tags", [described.get(area) or CommentedMap({"name": area}) for area in areas])
    paths: CommentedMap = document["paths"]
    declared = {(op.path, op.method.lower()): op for op in operations}
    for path in list(paths):
        item = paths[path]
        for method in [m for m in item if m in HTTP_METHODS and (path, m) not in declared]:
            del item[method]
        if not any(m in HTTP_METHODS for m in item):
            del paths[path]
    for (path, method), op in declared.items():
        item = paths.setdefault(path, CommentedMap())
        _write_operation(op, item.setdefault(method, CommentedMap()))


def rendered(text: str, operations: Sequence[Operation]) -> str:
    yaml = _yaml()
    document = yaml.load(text)
    render(document, operations)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.yaml is not up to date")
    args = parser.parse_args(argv)
    current = DOCUMENT.read_text(encoding="utf-8")
    wanted = rendered(current, declared_operations())
    if args.check:
        if wanted == current:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), wanted.splitlines(), "docs/openapi.yaml", "declared", lineterm=""
        )
        print("\n".join(diff), file=sys.stderr)
        print("docs/openapi.yaml is stale: run python -m tools.openapi", file=sys.stderr)
        return 1
    DOCUMENT.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
