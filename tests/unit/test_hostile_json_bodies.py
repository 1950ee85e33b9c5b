"""Malformed JSON bodies on every route that reads one: refused in the error shape, never a 5xx.

The routes and their valid bodies come from ``routes.ROUTE_CASES``: bodies just over the size limit,
deep nesting, invalid UTF-8, lone surrogates, non-finite and huge numbers, each field in turn given a
wrong type, duplicate keys, other charsets and content types.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.builders import detainer_body, rollout_body
from tests.hostile.harness import Arena, Findings, check, check_emails, path_for, seeded_arena, short
from tests.hostile.routes import (
    BODY_ROUTE_IDS,
    BODY_ROUTES,
    DECISION,
    SUBSCRIBER,
    VALID_CASE_IDS,
    VALID_CASES,
)
from tests.hostile.strategies import RAW_NUMBERS, JsonPath, Raw, encode, json_paths
from tests.unit.test_pipeline import run

# The seeded app every case here sends to (see tests/hostile/harness.py).
arena = pytest.fixture(name="arena")(seeded_arena)


def limit_of(arena: Arena, limit: int | str) -> int:
    return arena.world.settings.max_body_bytes if limit == "default" else int(limit)


def padded(size: int, fill_char: str = "x") -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    head, tail = b'{"pad":"', b'"}'
    unit = fill_char.encode()
    room = size - len(head) - len(tail)
    return head + unit * (room // len(unit)) + b"x" * (room % len(unit)) + tail


@pytest.mark.parametrize(("method", "template", "limit"), BODY_ROUTES, ids=BODY_ROUTE_IDS)
def test_a_body_just_over_the_limit_is_413_in_json(
    arena: Arena, method: str, template: str, limit: int | str
) -> None:
    size = limit_of(arena, limit)
    path = arena.path(template)
    for body in (padded(size + 1), padded(size + 1, "é")):
        answer = arena.send(method, path, body)
        check(answer, method, path, body[:40])
        assert answer.status == 413, short(answer)
        assert answer.json()["error"] == "too_large"
    at_limit = arena.send(method, path, padded(size))
    check(at_limit, method, path, "<at the limit>")
    assert at_limit.status == 400, (
        f"a body of exactly the limit is read (and refused for its field): {short(at_limit)}"
    )


@pytest.mark.parametrize(("method", "template", "limit"), BODY_ROUTES, ids=BODY_ROUTE_IDS)
@pytest.mark.parametrize("shape", ["arrays", "objects", "mixed"])
def test_deeply_nested_bodies_are_400_not_a_recursion_error(
    arena: Arena, method: str, template: str, limit: int | str, shape: str
) -> None:
    opener, closer = {"arrays": ("[", "]"), "objects": ('{"a":', "}"), "mixed": ('[{"a":', "}]")}[shape]
    depth = min(10_000, (limit_of(arena, limit) - 10) // (len(opener) + len(closer)))
    body = opener * depth + "0" + closer * depth
    path = arena.path(template)
    answer = arena.send(method, path, body)
    check(answer, method, path, body[:40])
    assert answer.status == 400, short(answer)


@pytest.mark.parametrize("depth", [100, 500, 900, 950, 990, 1000, 2000, 10_000])
@pytest.mark.parametrize("field", ["confidential", "source"])
def test_deep_nesting_inside_a_field_is_refused_or_stored_and_readable(
    arena: Arena, depth: int, field: str
) -> None:
    nested = "[" * depth + "]" * depth
    base = detainer_body(external_id=f"deep-{depth}") if field == "confidential" else rollout_body()
    base = {**base, "external_id": f"deep-{field}-{depth}", field: {"x": "HERE"}}
    body = json.dumps(base).replace('"HERE"', nested)
    answer = arena.send("POST", "/events", body)
    check(answer, "POST", "/events", body[:80], arena.world)
    if answer.status == 202:
        notice_id = answer.json()["notice_id"]
        run(arena.world)
        for path in (f"/notices/{notice_id}", f"/notices/{notice_id}/log"):
            shown = arena.send("GET", path)
            check(shown, "GET", path, None)
            assert shown.status == 200


INVALID_UTF8 = [
    b"\xff",
    b"\xfe\xff\x00{",
    b'{"summary": "\xff"}',
    b'{"summary": "\xc3\x28"}',
    b'{"summary": "\xed\xa0\x80"}',
    b'{"summary": "\xc0\xaf"}',
    b'{"summary": "\xf4\x90\x80\x80"}',
    b"\xef\xbb\xbf\xef\xbb\xbf{}",
    b"\x00\x00\x00{",
]


@pytest.mark.parametrize(("method", "template", "limit"), BODY_ROUTES, ids=BODY_ROUTE_IDS)
def test_invalid_utf8_is_400_in_json(arena: Arena, method: str, template: str, limit: int | str) -> None:
    path = arena.path(template)
    findings = Findings()
    for body in INVALID_UTF8:
        answer = arena.send(method, path, body)
        findings.check(answer, method, path, body)
        if answer.status != 400:
            findings.failures.append(f"{body!r} is not a 400: {short(answer)}")
    findings.assert_none()


SURROGATE_CASES = [
    *[("POST", "/events", {**rollout_body(), name: "x\ud800y"}) for name in ["summary", "title", "program"]],
    ("POST", "/events", {**rollout_body(), "external_id": "ext-\udfff"}),
    ("POST", "/events", {**rollout_body(), "jurisdiction": "New Haven\ud800"}),
    ("POST", "/events", {**rollout_body(), "source": {"agency": "ICE\ud800", "channel": "email\udc00"}}),
    ("POST", "/events", {**detainer_body(), "subject": {"name": "Test \ud800 Person"}}),
    ("POST", "/events", {**detainer_body(), "summary": "x\ud800y"}),
    ("POST", "/events", {**detainer_body(), "confidential": {"note": "\ud800"}}),
    ("POST", "/subscribers", {**SUBSCRIBER, "name": "Adviser \ud800"}),
    ("POST", "/subscribers", {**SUBSCRIBER, "organization": "\udfff"}),
    ("PATCH", "/subscribers/{subscriber_id}", {"name": "Adviser \ud800"}),
    ("POST", "/keys", {"name": "ci \ud800", "role": "source"}),
    ("POST", "/detainers/{notice_id}/decision", {**DECISION, "reasons": "none \ud800"}),
    ("POST", "/detainers/{notice_id}/duties/{duty_id}", {"done": True, "note": "\ud800"}),
]


@pytest.mark.parametrize(
    ("method", "template", "body"),
    SURROGATE_CASES,
    ids=[f"{m} {t} {sorted(b)[0] if len(b) == 1 else i}" for i, (m, t, b) in enumerate(SURROGATE_CASES)],
)
def test_lone_surrogates_escaped_in_json_are_refused_or_stored_never_a_5xx(
    arena: Arena, method: str, template: str, body: dict[str, Any]
) -> None:
    text = json.dumps(body)  # ensure_ascii: the surrogate travels as the escape \ud800, valid JSON text
    assert "\\ud800" in text or "\\udfff" in text or "\\udc00" in text
    path = arena.path(template)
    answer = arena.send(method, path, text)
    check(answer, method, path, body, arena.world)
    if answer.status < 300 and template == "/events":
        run(arena.world)
        check_emails(arena.world.email.sent, "after delivering a notice with a lone surrogate")


@pytest.mark.parametrize(("method", "template", "body"), VALID_CASES, ids=VALID_CASE_IDS)
def test_non_finite_and_huge_numbers_in_any_field_are_never_a_5xx(
    arena: Arena, method: str, template: str, body: dict[str, Any]
) -> None:
    path = path_for(arena, template, body)
    findings = Findings()
    for number in RAW_NUMBERS:
        for name in [None, *body]:
            arena.reset_if_dirty()
            document = Raw(number) if name is None else {**body, name: Raw(number)}
            text = encode(document)
            answer = arena.send(method, path, text)
            findings.check(answer, method, path, text[:200], arena.world)
            if name is None and answer.status not in {400, 413}:
                findings.failures.append(f"a bare {number[:20]} is not refused: {short(answer)}")
    findings.assert_none()


WRONG_TYPES: list[Any] = [[], {}, [[1]], [{}], {"a": [1]}, 0, -1, 1.5, True, None, "", "x" * 300]


def replaced(document: Any, where: JsonPath, value: Any) -> Any:
    changed = copy.deepcopy(document)
    parent = changed
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = value
    return changed


@pytest.mark.parametrize(("method", "template", "body"), VALID_CASES, ids=VALID_CASE_IDS)
def test_every_field_of_a_valid_body_given_a_wrong_type_is_refused_in_json_never_a_5xx(
    arena: Arena, method: str, template: str, body: dict[str, Any]
) -> None:
    """Each field and each list item, nested or not, in turn: a list, an object, a number, a boolean..."""
    path = path_for(arena, template, body)
    findings = Findings()
    for where in json_paths(body)[1:]:
        for value in WRONG_TYPES:
            arena.reset_if_dirty()
            document = replaced(body, where, value)
            answer = arena.send(method, path, json.dumps(document))
            findings.check(answer, method, path, f"{'.'.join(map(str, where))} = {value!r}", arena.world)
    findings.assert_none()


@pytest.mark.parametrize(("method", "template", "body"), VALID_CASES, ids=VALID_CASE_IDS)
def test_duplicate_keys_are_never_a_5xx(
    arena: Arena, method: str, template: str, body: dict[str, Any]
) -> None:
    path = path_for(arena, template, body)
    findings = Findings()
    for name, value in body.items():
        for hostile in ("", None, ["x"], "x" * 300, {"nested": True}):
            # The hostile value first, the valid one last (what Python keeps), then the other way round.
            for first, last in ((hostile, value), (value, hostile)):
                arena.reset_if_dirty()
                rest = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in body.items() if k != name)
                text = "{" + f"{json.dumps(name)}:{json.dumps(first)},{json.dumps(name)}:{json.dumps(last)}"
                text += ("," + rest if rest else "") + "}"
                findings.check(arena.send(method, path, text), method, path, text[:200], arena.world)
    findings.assert_none()


def test_a_latin1_body_is_refused_or_read_correctly_never_mangled(arena: Arena) -> None:
    body = rollout_body(external_id="latin-1", summary="Politique de la ville de Québec")
    raw = json.dumps(body, ensure_ascii=False).encode("latin-1")
    answer = arena.send("POST", "/events", raw, content_type="application/json; charset=latin-1")
    check(answer, "POST", "/events", raw)
    if answer.status == 202:
        stored = arena.world.notices.get(answer.json()["notice_id"]).event["summary"]
        assert stored == body["summary"], f"stored as {stored!r}"
    else:
        assert answer.status in {400, 415}


def test_text_plain_and_form_bodies_are_415_on_json_routes_and_read_on_link_pages(arena: Arena) -> None:
    body = json.dumps(rollout_body())
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        refused = arena.send("POST", "/events", body, content_type=content_type)
        check(refused, "POST", "/events", body)
        assert refused.status == 415, short(refused)
        assert refused.json()["error"] == "unsupported_media_type"
        page = arena.send(
            "POST", "/ack/not-a-token", "a=b", content_type=content_type, headers={"Accept": "text/html"}
        )
        check(page, "POST", "/ack/not-a-token", "a=b")
        assert page.status == 404
        assert page.content_type.startswith("text/html")
    missing = arena.send("POST", "/events", body, content_type=None)
    check(missing, "POST", "/events", body)
    assert missing.status == 202, "a missing Content-Type is read as JSON, as Chalice does"
