"""Every route of the app's route table, fuzzed: never a 5xx, and every refusal in the one JSON error shape.

The routes come from ``app.routes``, what the cases know of each from ``routes.ROUTE_CASES``; the first
two tests fail when the two disagree. Property tests (hypothesis) send hostile path parameters, query
strings and headers, arbitrary JSON and bytes, and mutations of each route's valid bodies; then every
content type to every route, every method a path does not take, and hostile paging limits and API keys.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app import app
from chalicelib.config import Settings
from tests.builders import UNIT_SECRET
from tests.hostile.harness import Arena, Findings, check, check_emails, seeded_arena, short
from tests.hostile.routes import (
    APP_ROUTES,
    GET_QUERY_ROUTES,
    JSON_BODY_ROUTES,
    LIMIT_ROUTES,
    NOT_FUZZED,
    OTHER_ROUTES,
    PARAM,
    ROUTE_CASES,
    ROUTE_IDS,
    ROUTES,
    VALID_BODIES,
)
from tests.hostile.strategies import (
    FUZZ,
    bodies,
    extra_headers,
    fill,
    hostile_text,
    path_values,
    query_strings,
    realistic,
)
from tests.unit.test_pipeline import run

# The seeded app every case here sends to (see tests/hostile/harness.py).
arena = pytest.fixture(name="arena")(seeded_arena)


# -- the route table ----------------------------------------------------------------------------------


def test_every_route_of_the_app_has_its_hostile_cases_declared() -> None:
    """A route added to the app fails here until routes.ROUTE_CASES says what it reads (or NOT_FUZZED why
    it cannot be fuzzed): the fuzz would otherwise know no valid body, query or stage for it."""
    undeclared = sorted(APP_ROUTES - ROUTE_CASES.keys() - NOT_FUZZED.keys())
    assert not undeclared, f"routes of the app without a line in routes.ROUTE_CASES: {undeclared}"


def test_every_route_with_hostile_cases_declared_is_a_route_of_the_app() -> None:
    """A renamed or removed route leaves no line behind in ROUTE_CASES or NOT_FUZZED: its cases would
    otherwise test a 404, or be dropped, without a word."""
    unknown = sorted((ROUTE_CASES.keys() | NOT_FUZZED.keys()) - APP_ROUTES)
    assert not unknown, f"declared routes the app does not have: {unknown}"
    both = sorted(ROUTE_CASES.keys() & NOT_FUZZED.keys())
    assert not both, f"routes both fuzzed and excluded from the fuzz: {both}"


# -- property tests -----------------------------------------------------------------------------------


def fuzz(arena: Arena, template: str, method: str, data: st.DataObject) -> None:
    arena.reset()
    values = {
        name: data.draw(path_values(arena.ids.get(name, [])), label=name) for name in PARAM.findall(template)
    }
    path = fill(template, values, percent_encode=data.draw(st.booleans(), label="percent-encode"))
    if data.draw(st.booleans(), label="with a query"):
        path += "?" + data.draw(query_strings, label="query")
    body = data.draw(bodies(method, template), label="body")
    headers = data.draw(extra_headers, label="headers")
    answer = arena.send(method, path, body, headers)
    event(f"status {answer.status}")  # shown by --hypothesis-show-statistics: how often inputs get through
    check(answer, method, path, body, arena.world)
    if answer.status == 202 and template == "/events":
        run(arena.world)
        check_emails(arena.world.email.sent, f"after delivering {short(body)}")


@pytest.mark.parametrize(("template", "method"), OTHER_ROUTES, ids=[f"{m} {p}" for p, m in OTHER_ROUTES])
@FUZZ
@given(data=st.data())
def test_every_route_answers_hostile_input_without_a_5xx_and_refuses_in_json(
    arena: Arena, template: str, method: str, data: st.DataObject
) -> None:
    fuzz(arena, template, method, data)


@pytest.mark.parametrize(
    ("template", "method"), JSON_BODY_ROUTES, ids=[f"{m} {p}" for p, m in JSON_BODY_ROUTES]
)
@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_every_json_body_route_answers_mutated_bodies_without_a_5xx_and_refuses_in_json(
    arena: Arena, template: str, method: str, data: st.DataObject
) -> None:
    fuzz(arena, template, method, data)


@pytest.mark.parametrize("route", GET_QUERY_ROUTES)
@FUZZ
@given(query=query_strings)
def test_query_strings_never_cause_a_5xx(arena: Arena, route: str, query: str) -> None:
    arena.reset()
    check(arena.send("GET", f"{route}?{query}"), "GET", f"{route}?{query}", None, arena.world)


@settings(FUZZ, max_examples=40)
@given(authorization=st.one_of(hostile_text, hostile_text.map(lambda t: f"Bearer vk_{t}_{t}")).map(realistic))
def test_any_authorization_header_is_a_401_in_json(arena: Arena, authorization: str) -> None:
    arena.reset()
    answer = arena.send("GET", "/coverage", key=None, headers={"Authorization": authorization})
    check(answer, "GET", "/coverage", None)
    assert answer.status == 401, short(answer)


@settings(FUZZ, max_examples=30)
@given(body=bodies("POST", "/dev/sms/inbound"))
def test_the_local_stage_sms_route_survives_hostile_texts(arena: Arena, body: bytes) -> None:
    arena.reset(Settings.from_env({"VIGIL_STAGE": "local", "VIGIL_ACK_SECRET": UNIT_SECRET}))
    check(arena.send("POST", "/dev/sms/inbound", body), "POST", "/dev/sms/inbound", body, arena.world)


# -- every route, every content type and method, every paging limit -----------------------------------

CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=vigil",
    None,
    "application/json; charset=latin-1",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/jsonx",
    "",
]


@pytest.mark.parametrize(("template", "method"), ROUTES, ids=ROUTE_IDS)
def test_every_content_type_on_every_route_is_answered_without_a_5xx(
    arena: Arena, template: str, method: str
) -> None:
    body = json.dumps(VALID_BODIES.get((method, template), [{}])[0])
    path = arena.path(template)
    findings = Findings()
    for content_type in CONTENT_TYPES:
        arena.reset_if_dirty()
        answer = arena.send(method, path, body, content_type=content_type)
        findings.check(answer, method, f"{path} (Content-Type: {content_type!r})", body, arena.world)
    findings.assert_none()


@pytest.mark.parametrize("path", sorted(app.routes))
def test_methods_a_route_does_not_take_are_405_in_json(arena: Arena, path: str) -> None:
    concrete = arena.path(path)
    findings = Findings()
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - set(app.routes[path])):
        answer = arena.send(method, concrete, "{}")
        findings.check(answer, method, concrete, "{}")
        if answer.status != 405:
            findings.failures.append(f"{method} {path} is not a 405: {short(answer)}")
    findings.assert_none()


@pytest.mark.parametrize("route", LIMIT_ROUTES)
@pytest.mark.parametrize("limit", ["²", "①", "١٢", "0", "101", "-1", " 5", "1e2", "", "9" * 5000])
def test_any_limit_is_a_page_or_a_400_never_a_5xx(arena: Arena, route: str, limit: str) -> None:
    path = f"{route}{'&' if '?' in route else '?'}limit={quote(limit)}"
    answer = arena.send("GET", path)
    check(answer, "GET", path, None)
    assert answer.status in {200, 400}
