"""Answers held to docs/openapi.yaml: every response the unit tests see is checked against it.

``ResponseContract.check`` finds the operation a request reached (by method and path template) and
says what is wrong with its answer: a status the operation does not document, a media type its
documented answer does not have, or a JSON body that does not validate against the documented
schema (JSON Schema 2020-12, OpenAPI 3.1's dialect; ``$ref``s resolved within the document). A
path no operation declares (Chalice's own 404 and 405) must still answer in the Error shape.

``tests/unit/conftest.py`` applies it to every request made through Chalice's test client.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
DOCUMENT_URI = "urn:vigil:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
ERROR_POINTER = "/components/schemas/Error"


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, slots=True)
class Located:
    """A node of the document and the JSON pointer it was found at (after following $refs)."""

    node: Any
    pointer: str


class ResponseContract:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = document
        resource = Resource.from_contents(dict(document), default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        # Templates with fewer parameters first: /notices/{id}/log before a looser match.
        templates = sorted(document["paths"], key=lambda t: (t.count("{"), -len(t)))
        self._templates = [(t, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "$")) for t in templates]

    @classmethod
    @functools.cache
    def from_spec(cls) -> ResponseContract:
        loaded = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
        assert isinstance(loaded, dict)
        return cls(loaded)

    def _locate(self, pointer: str) -> Located:
        """The node at ``pointer``, following ``$ref`` chains to what they name."""
        node: Any = self._document
        for part in pointer.lstrip("/").split("/") if pointer else []:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        while isinstance(node, dict) and "$ref" in node:
            pointer = str(node["$ref"]).removeprefix("#")
            return self._locate(pointer)
        return Located(node, pointer)

    def template(self, path: str) -> str | None:
        bare = path.split("?", 1)[0]
        if bare != "/" and bare.endswith("/"):
            bare = bare[:-1]  # API Gateway and Chalice's router drop it: "/facilities/" is "/facilities"
        return next((t for t, pattern in self._templates if pattern.match(bare)), None)

    def check(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """Everything wrong with this answer by the document; empty when it conforms."""
        media = (headers.get("Content-Type") or headers.get("content-type") or "").split(";")[0].strip()
        template = self.template(path)
        operation = (
            self._document["paths"][template].get(method.lower())
            if template and method.lower() in HTTP_METHODS
            else None
        )
        shown = path if len(path) <= 100 else f"{path[:100]}… ({len(path)} characters)"
        where = f"{method} {shown} → {status}"
        if operation is None:
            # Chalice's own answers (no such route, no such method): the Error shape, nothing more.
            if media == "application/json" and body:
                return self._validate(json.loads(body), ERROR_POINTER, where)
            return []
        return self._check_answer(
            f"/paths/{_escape(template or '')}/{method.lower()}", status, media, body, where
        )

    def _check_answer(self, op_pointer: str, status: int, media: str, body: bytes, where: str) -> list[str]:
        responses = self._locate(op_pointer).node["responses"]
        if str(status) not in responses:
            return [f"{where}: status {status} is not documented (documented: {', '.join(responses)})"]
        response = self._locate(f"{op_pointer}/responses/{status}")
        content = response.node.get("content", {})
        if not content:
            return [] if not body else [f"{where}: documented without a body, answered {len(body)} bytes"]
        if media not in content:
            return [f"{where}: answered {media or 'no Content-Type'}, documented {sorted(content)}"]
        if media != "application/json":
            return []
        return self._validate(json.loads(body), f"{response.pointer}/content/{_escape(media)}/schema", where)

    def _validate(self, instance: Any, pointer: str, where: str) -> list[str]:
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=self._registry
        )
        return [
            f"{where}: {'/'.join(str(p) for p in error.absolute_path) or 'body'}: {error.message}"
            for error in validator.iter_errors(instance)
        ]
