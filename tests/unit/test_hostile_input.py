"""Hostile input against every route: never a 5xx, and every refusal in the one JSON error shape.

Property-based (hypothesis) over every route and method of ``app.routes``: hostile path parameters,
query strings and headers, arbitrary JSON bodies and mutations of valid ones. Then the targeted cases
of the reliability issue: oversized bodies, deep nesting, invalid UTF-8, lone surrogates, control
characters and line breaks in what ends up in an email header, huge fields and lists, wrong content
types, duplicate keys, non-finite numbers and hostile Idempotency-Key headers.

Each hypothesis example starts from the same seeded world (notices, deliveries, a decided detainer,
subscribers, keys), so the valid-looking ids in the strategies exist and examples do not leak state.
Inputs that could make a route slow are sent in a forked child with a time budget, so a regression
fails in seconds instead of hanging the suite.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from multiprocessing.connection import wait
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app import app
from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole, new_key
from chalicelib.domain.messages import OutgoingEmail, render_email
from chalicelib.domain.subscribers import Channel, ChannelRef, ChannelType, Role
from tests.builders import NOW, detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_pipeline import run

Keys = dict[ApiRole, str]
JSON = "application/json"
LINK_PAGES = ("/ack/", "/verify/", "/unsubscribe/")
BUDGET_SECONDS = 0.5

# Every route and method the app declares, found at run time: a new route is fuzzed without an edit here.
ROUTES = sorted((path, method) for path, entries in app.routes.items() for method in entries)
ROUTE_IDS = [f"{method} {path}" for path, method in ROUTES]
PARAM = re.compile(r"\{(\w+)\}")

FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- valid inputs, to mutate and to aim the targeted cases at ---------------------------------------

SUBSCRIBER: dict[str, Any] = {
    "name": "Criminal Justice Policy Adviser",
    "role": "state-executive",
    "organization": "Office of the Governor",
    "ack_required": True,
    "escalation_contact": False,
    "channels": [
        {"type": "email", "address": "policy.adviser@example.gov"},
        {"type": "sms", "phone": "(860) 555-0111"},
        {"type": "webhook", "url": "https://cases.example.org/hooks/vigil"},
    ],
    "subscriptions": [{"jurisdiction": "statewide", "event_types": ["rollout", "detainer"]}],
}
PATCH: dict[str, Any] = {
    "name": "Adviser (renamed)",
    "organization": "Office of the Governor",
    "escalation_contact": True,
    "add_subscriptions": [{"jurisdiction": "New Haven", "event_types": ["rollout"]}],
    "remove_subscriptions": ["Hartford"],
    "enable_channels": [],
}
ROLLOUT_POLICY: dict[str, Any] = {
    "required_roles": ["state-executive"],
    "steps": [
        {"after": "PT0S", "notify": "recipients"},
        {"after": "PT15M", "notify": "unacknowledged", "channels": ["email", "sms", "webhook"]},
        {"after": "PT1H", "notify": "escalation-contacts"},
        {"after": "PT2H", "notify": "admins"},
    ],
}
DETAINER_POLICY: dict[str, Any] = {
    "required_roles": ["corrections"],
    "steps": [
        {"after": "PT0S", "notify": "recipients"},
        {"after": "PT30M", "notify": "unacknowledged"},
        {"before_deadline": "PT12H", "notify": "escalation-contacts"},
        {"before_deadline": "PT4H", "notify": "admins"},
    ],
}
DECISION: dict[str, Any] = {
    "decision": "decline",
    "reasons": "No statutory criterion is met.",
    "criteria_relied_on": [],
    "override_reason": None,
}
VALID_BODIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    # Ids of their own: the seeded notices use the builders' ids, and a reused id with another body is a 409.
    ("POST", "/events"): [
        rollout_body(external_id="fuzz-rollout"),
        detainer_body(external_id="fuzz-detainer"),
    ],
    ("POST", "/subscribers"): [SUBSCRIBER],
    ("PATCH", "/subscribers/{subscriber_id}"): [PATCH],
    ("PUT", "/policies/{event_type}"): [ROLLOUT_POLICY, DETAINER_POLICY],
    ("POST", "/keys"): [{"name": "ci pipeline", "role": "source"}],
    ("POST", "/detainers/{notice_id}/decision"): [DECISION],
    ("POST", "/detainers/{notice_id}/duties/{duty_id}"): [{"done": True, "note": "ICE told by fax."}],
    ("POST", "/dev/sms/inbound"): [{"from": "+18605550100", "body": "100000"}],
}
# Routes that read a JSON body, with the path their valid body goes to and the size limit they apply.
BODY_ROUTES = [
    ("POST", "/events", "default"),
    ("POST", "/subscribers", "default"),
    ("PATCH", "/subscribers/{subscriber_id}", "default"),
    ("PUT", "/policies/{event_type}", "default"),
    ("POST", "/detainers/{notice_id}/decision", "default"),
    ("POST", "/keys", 4096),
    ("POST", "/detainers/{notice_id}/duties/{duty_id}", 4096),
]
BODY_ROUTE_IDS = [f"{method} {path}" for method, path, _ in BODY_ROUTES]
ROLLOUT_TEXT_FIELDS = ["summary", "title", "program", "external_id"]


# -- the seeded world -------------------------------------------------------------------------------

_LOCK_TYPE = type(threading.Lock())


def clone(world: FakeWorld) -> FakeWorld:
    """A deep copy of every store; locks (which cannot be copied) are replaced by fresh ones."""
    memo: dict[int, Any] = {}
    for f in fields(world):
        for value in getattr(getattr(world, f.name), "__dict__", {}).values():
            if isinstance(value, _LOCK_TYPE):
                memo[id(value)] = threading.Lock()
    return copy.deepcopy(world, memo)


def restore(world: FakeWorld, snapshot: FakeWorld) -> None:
    """Copies ``snapshot``'s stores into ``world``: the fixture's own object, so its teardown still runs."""
    fresh = clone(snapshot)
    for f in fields(FakeWorld):
        setattr(world, f.name, getattr(fresh, f.name))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)


def short(value: object, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


@dataclass
class Arena:
    """The app, a seeded world to restore before each example, and the ids that exist in it."""

    client: Any
    world: FakeWorld
    admin: str
    ids: dict[str, list[str]]
    snapshot: FakeWorld
    # Something was accepted since the last reset (a refusal changes nothing, as the API promises).
    dirty: bool = False

    def reset(self, settings: Settings | None = None) -> None:
        restore(self.world, self.snapshot)
        bootstrap.use(self.world.deps(settings))
        self.dirty = False

    def reset_if_dirty(self) -> None:
        if self.dirty:
            self.reset()

    def send(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        key: str | None = "admin",
        content_type: str | None = JSON,
    ) -> Answer:
        sent: dict[str, str] = {}
        if content_type is not None:
            sent["Content-Type"] = content_type
        if key is not None:
            sent["Authorization"] = f"Bearer {self.admin if key == 'admin' else key}"
        sent.update(headers or {})
        raw = body.encode() if isinstance(body, str) else (body or b"")
        response = self.client.http.request(method, path, headers=sent, body=raw)
        self.dirty = self.dirty or response.status_code < 300
        got = response.body if isinstance(response.body, bytes) else str(response.body or "").encode()
        return Answer(
            response.status_code, {str(k).lower(): str(v) for k, v in response.headers.items()}, got
        )

    def path(self, template: str, **override: str) -> str:
        """The template with a real id for each parameter (the first seeded one unless overridden)."""
        return PARAM.sub(lambda m: override.get(m.group(1)) or self.ids[m.group(1)][0], template)


def seed(client: Any, world: FakeWorld, admin: str) -> dict[str, list[str]]:
    channels = (
        Channel(ChannelType.EMAIL, "adviser@example.gov"),
        Channel(ChannelType.SMS, "+18605550100"),
        Channel(ChannelType.WEBHOOK, "https://hooks.example.org/vigil", secret="whsec_c2VjcmV0LXNlY3JldA=="),
    )
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=channels))
    world.subscribers.add(subscriber("reviewers", Role.CORRECTIONS, "us-ct"))
    headers = {"Content-Type": JSON, "Authorization": f"Bearer {admin}"}

    def post(path: str, body: dict[str, Any]) -> Any:
        response = client.http.post(path, headers=headers, body=json.dumps(body))
        assert response.status_code < 300, response.body
        return json.loads(response.body)

    rollout = post("/events", rollout_body())["notice_id"]
    open_detainer = post("/events", detainer_body())["notice_id"]
    decided = post("/events", detainer_body(external_id="I247A-2026-000124"))["notice_id"]
    run(world)
    post(f"/detainers/{decided}/decision", DECISION)
    deps = world.deps()
    adviser = world.subscribers.get("adviser")
    tokens = sorted({m for e in world.email.sent for m in re.findall(r"/ack/([\w.-]+)", e.text)})
    for channel in adviser.channels:
        ref = ChannelRef(adviser.id, channel.id)
        tokens.append(deps.verify(ref).rsplit("/", 1)[1])
        tokens.append(deps.unsubscribe(ref).rsplit("/", 1)[1])
    return {
        "notice_id": [open_detainer, decided, rollout],
        "duty_id": [str(d["id"]) for d in world.notices.get(decided).duties],
        "token": tokens,
        "event_type": ["rollout", "detainer"],
        "subscriber_id": ["adviser", "reviewers"],
        "channel_id": [c.id for c in adviser.channels],
        "key_id": sorted(world.keys.keys),
    }


_SEEDED: list[tuple[FakeWorld, dict[str, list[str]]]] = []


def seeded() -> tuple[FakeWorld, dict[str, list[str]]]:
    """Seeded once per run in a world of its own (the seed takes ~25 ms; a copy of it ~3 ms)."""
    if not _SEEDED:
        template = FakeWorld()
        key, admin = new_key(name="seed admin", role=ApiRole.ADMIN, now=NOW)
        template.keys.add(key)
        bootstrap.use(template.deps())
        with Client(app) as client:
            _SEEDED.append((template, seed(client, template, admin)))
    return _SEEDED[0]


@pytest.fixture
def arena(world: FakeWorld, keys: Keys) -> Iterator[Arena]:
    """The fixture's world, holding the seeded notices, subscribers and keys and the fixture's own keys."""
    fixture_keys = dict(world.keys.keys)
    template, ids = seeded()
    restore(world, template)
    world.keys.keys.update(fixture_keys)
    bootstrap.use(world.deps())
    with Client(app) as client:
        ids = {**ids, "key_id": sorted(world.keys.keys)}
        yield Arena(client, world, keys[ApiRole.ADMIN], ids, clone(world))


# -- what every answer must satisfy ---------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"the answer is not valid JSON: it holds {name}")


def single_line(text: str) -> bool:
    return "\r" not in text and "\n" not in text and len(text.splitlines()) <= 1


def check_emails(sent: list[OutgoingEmail], context: str) -> None:
    for email in sent:
        assert single_line(email.subject), (
            f"email subject with a line break {short(email.subject)}; {context}"
        )
        assert single_line(email.to), f"email recipient with a line break {short(email.to)}; {context}"
        for name, value in email.headers.items():
            assert single_line(name), f"email header name with a line break {short(name)}; {context}"
            assert single_line(value), f"email header {name} with a line break {short(value)}; {context}"


def check(answer: Answer, method: str, path: str, body: object, world: FakeWorld | None = None) -> None:
    """No 5xx; a refusal is the JSON error shape (or a link page's HTML 404); headers are single lines."""
    context = f"{method} {short(path, 200)} body={short(body, 200)} -> {answer.status} {short(answer.body)}"
    assert answer.status < 500, f"server error: {context}"
    for name, value in answer.headers.items():
        assert single_line(name), f"response header name with a line break: {context}"
        assert single_line(value), f"response header {name} with a line break {short(value)}: {context}"
    if world is not None:
        check_emails(world.email.sent, context)
    if "x-amzn-errortype" in answer.headers:
        # No route matches the path (a '/' inside a parameter): API Gateway's own answer, not the app's.
        assert answer.status == 403, context
        return
    if answer.content_type.startswith("text/html"):
        text = answer.body.decode("utf-8")
        assert "Traceback" not in text, context
        assert 'File "' not in text, context
        if answer.status >= 400:
            assert path.startswith(LINK_PAGES), f"an HTML refusal outside the link pages: {context}"
            assert answer.status == 404, context
        return
    if answer.status >= 400:
        assert answer.content_type == JSON, f"a refusal that is not JSON: {context}"
        error = answer.json()
        assert isinstance(error, dict), context
        assert set(error) == {"error", "message", "details"}, f"not the error shape: {context}"
        assert isinstance(error["error"], str), context
        assert error["error"], context
        assert isinstance(error["message"], str), context
        assert isinstance(error["details"], list), context
        for detail in error["details"]:
            assert isinstance(detail, dict), context
            assert isinstance(detail.get("field"), str), context
            assert isinstance(detail.get("message"), str), context
    elif answer.content_type == JSON and answer.body:
        json.loads(answer.body, parse_constant=_reject_constant)


class Findings:
    """Runs ``check`` over many inputs and reports every failure at the end, not just the first."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(
        self, answer: Answer, method: str, path: str, body: object, world: FakeWorld | None = None
    ) -> None:
        try:
            check(answer, method, path, body, world)
        except AssertionError as exc:
            self.failures.append(str(exc).splitlines()[0])

    def assert_none(self) -> None:
        assert not self.failures, f"{len(self.failures)} failing inputs:\n" + "\n".join(self.failures)


# -- strategies ---------------------------------------------------------------------------------------


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


Path = tuple[str | int, ...]


def _paths(value: Any, prefix: Path = ()) -> list[Path]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """A valid body with up to three edits anywhere in it: replaced, removed, added, wrapped, hostile."""
    body: Any = copy.deepcopy(valid)
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(_paths(body)))
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
    def value(match: re.Match[str]) -> str:
        raw = values[match.group(1)]
        return quote(to_bytes(raw), safe="") if percent_encode else realistic(raw)

    return PARAM.sub(value, template)


query_names = st.sampled_from(
    ["type", "status", "jurisdiction", "limit", "cursor", "from", "to", "format", "q"]
)
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


JSON_BODY_ROUTES = [(path, method) for path, method in ROUTES if (method, path) in VALID_BODIES]
OTHER_ROUTES = [(path, method) for path, method in ROUTES if (method, path) not in VALID_BODIES]


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


GET_QUERY_ROUTES = [
    "/notices",
    "/reports/detainers",
    "/stats/acknowledgments",
    "/subscribers",
    "/audit",
    "/jurisdictions",
]


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
    arena.reset(Settings.from_env({"VIGIL_STAGE": "local", "VIGIL_ACK_SECRET": "unit-secret"}))
    check(arena.send("POST", "/dev/sms/inbound", body), "POST", "/dev/sms/inbound", body, arena.world)


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


# -- targeted cases -----------------------------------------------------------------------------------


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


LINE_BREAKS = [
    "a\x00b",
    "a\r\nBcc: evil@example.com",
    "a\nBcc: evil@example.com",
    "a\rb",
    "a\u2028b",
    "a\x85b",
]


@pytest.mark.parametrize("value", LINE_BREAKS, ids=["nul", "crlf", "lf", "cr", "u2028", "nel"])
@pytest.mark.parametrize("field", ROLLOUT_TEXT_FIELDS)
def test_nul_and_line_breaks_in_rollout_fields_never_reach_an_email_header(
    arena: Arena, field: str, value: str
) -> None:
    body = {**rollout_body(external_id="hostile-text"), field: value}
    answer = arena.send("POST", "/events", json.dumps(body))
    check(answer, "POST", "/events", body, arena.world)
    assert answer.status in {202, 400}, short(answer)
    if answer.status == 400:
        return
    notice = arena.world.notices.get(answer.json()["notice_id"])
    email = render_email(
        notice, to="adviser@example.gov", role=Role.STATE_EXECUTIVE, ack_url="https://vigil.example/ack/t"
    )
    assert single_line(email.subject), short(email.subject)
    run(arena.world)
    check_emails(arena.world.email.sent, f"{field}={value!r}")


@pytest.mark.parametrize("name", ["Office\nBcc: evil@example.com", "Office\u2028Bcc: evil@example.com"])
def test_a_subscriber_name_with_a_line_break_never_reaches_an_email_subject(arena: Arena, name: str) -> None:
    """The opt-out notice to admins puts the subscriber's name in its subject."""
    admins = Settings.from_env(
        {"VIGIL_STAGE": "dev", "VIGIL_ACK_SECRET": "unit-secret", "VIGIL_ADMIN_EMAILS": "ops@example.gov"}
    )
    arena.reset(admins)
    body = {**SUBSCRIBER, "name": name, "channels": [{"type": "email", "address": "clerk@example.gov"}]}
    created = arena.send("POST", "/subscribers", json.dumps(body))
    check(created, "POST", "/subscribers", body, arena.world)
    if created.status != 201:
        return
    made = created.json()
    channel_id = made["channels"][0]["id"]
    token = arena.world.deps().unsubscribe(ChannelRef(made["id"], channel_id)).rsplit("/", 1)[1]
    path = f"/unsubscribe/{token}"
    answer = arena.send(
        "POST", path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    check(answer, "POST", path, None, arena.world)
    assert answer.status == 200, short(answer)


EMAIL_LINE_BREAKS = [
    "clerk@example.gov\r\nBcc: evil@example.com",
    "clerk@example.gov\nBcc: evil@example.com",
    "clerk@example.gov\n",
    "clerk@example.gov\r",
    '"clerk\r\nBcc: evil@example.com"@example.gov',
    "clerk@example.gov\u2028Bcc: evil@example.com",
    "clerk@example.gov\x00",
]
EMAIL_FIELDS: dict[str, Callable[[str], tuple[str, str, dict[str, Any]]]] = {
    "subscriber channel": lambda address: (
        "POST",
        "/subscribers",
        {**SUBSCRIBER, "channels": [{"type": "email", "address": address}]},
    ),
    "subscriber change": lambda address: (
        "PATCH",
        "/subscribers/{subscriber_id}",
        {"channels": [{"type": "email", "address": address}]},
    ),
    "rollout original recipient": lambda address: (
        "POST",
        "/events",
        {**rollout_body(external_id="recipients"), "source": {"original_recipients": [address]}},
    ),
}


@pytest.mark.parametrize("field", sorted(EMAIL_FIELDS))
@pytest.mark.parametrize("address", EMAIL_LINE_BREAKS, ids=range(len(EMAIL_LINE_BREAKS)))
def test_an_email_address_with_a_line_break_is_refused_or_trimmed(
    arena: Arena, field: str, address: str
) -> None:
    """Refused, or trimmed to a clean address: a line break kept in an address is a header injection waiting
    to happen (trailing whitespace stripped before validation is fine)."""
    method, template, body = EMAIL_FIELDS[field](address)
    path = arena.path(template)
    answer = arena.send(method, path, json.dumps(body))
    check(answer, method, path, body, arena.world)
    assert answer.status in {200, 201, 202, 400}, short(answer)
    if answer.status == 400:
        return
    if template == "/events":
        kept = arena.world.notices.get(answer.json()["notice_id"]).event["source"]["original_recipients"]
    else:
        kept = [c["address"] for c in answer.json()["channels"] if c["type"] == "email"]
    for stored in kept:
        assert clean(stored), f"{field} {address!r} was stored as {stored!r}"


def clean(text: str) -> bool:
    return not any(ord(c) < 32 or c in "\x7f\x85\u2028\u2029" for c in text)


@dataclass(frozen=True)
class Timed:
    answer: Answer | None
    error: str | None = None


def within_budget(action: Callable[[], Answer], seconds: float = BUDGET_SECONDS) -> Timed:
    """Runs ``action`` in a forked child; kills it (and says so) when it has not answered in time."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        try:
            sender.send(Timed(action()))
        except BaseException as exc:  # the parent reports whatever went wrong
            sender.send(Timed(None, f"{type(exc).__name__}: {exc}"[:500]))

    process = context.Process(target=child, daemon=True)
    process.start()
    try:
        if receiver in wait([receiver, process.sentinel], timeout=seconds) or receiver.poll(0):
            received: Timed = receiver.recv()
            return received
        if process.exitcode is not None:
            return Timed(None, f"the request's process died (exit code {process.exitcode})")
        return Timed(None, f"no answer within {seconds} s")
    finally:
        if process.is_alive():
            process.kill()
        process.join()


def assert_prompt_refusal(timed: Timed, method: str, path: str, body: object) -> Answer:
    assert timed.answer is not None, f"{method} {short(path, 120)} body={short(body, 120)}: {timed.error}"
    check(timed.answer, method, path, body)
    assert 400 <= timed.answer.status < 500, short(timed.answer)
    return timed.answer


HUGE = "a" * 100_000


@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("POST", "/events", {**rollout_body(), "jurisdiction": HUGE}),
        ("POST", "/subscribers", {**SUBSCRIBER, "subscriptions": [{"jurisdiction": HUGE}]}),
        ("PATCH", "/subscribers/{subscriber_id}", {"remove_subscriptions": [HUGE]}),
        ("GET", f"/jurisdictions?q={HUGE}", None),
        ("GET", f"/notices?type=rollout&jurisdiction={HUGE}", None),
    ],
    ids=["event", "subscription", "remove_subscriptions", "jurisdictions-q", "notices-filter"],
)
def test_a_jurisdiction_of_100000_characters_is_refused_promptly(
    arena: Arena, method: str, template: str, body: dict[str, Any] | None
) -> None:
    path = arena.path(template)
    raw = json.dumps(body) if body is not None else None
    answer = assert_prompt_refusal(within_budget(lambda: arena.send(method, path, raw)), method, path, body)
    assert answer.status in {400, 404}


@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("POST", "/subscribers", {**SUBSCRIBER, "subscriptions": [{"jurisdiction": "us-ct"}] * 10_000}),
        ("PATCH", "/subscribers/{subscriber_id}", {"subscriptions": [{"jurisdiction": "us-ct"}] * 10_000}),
        (
            "PATCH",
            "/subscribers/{subscriber_id}",
            {"add_subscriptions": [{"jurisdiction": "us-ct"}] * 10_000},
        ),
        (
            "PATCH",
            "/subscribers/{subscriber_id}",
            {"remove_subscriptions": [f"Nowhere {i}" for i in range(10_000)]},
        ),
        (
            "PATCH",
            "/subscribers/{subscriber_id}",
            {"enable_channels": [f"email-{i:010d}" for i in range(10_000)]},
        ),
    ],
    ids=["create", "replace", "add", "remove", "enable_channels"],
)
def test_10000_subscriptions_in_one_body_are_refused_promptly(
    arena: Arena, method: str, template: str, body: dict[str, Any]
) -> None:
    path = arena.path(template)
    raw = json.dumps(body, separators=(",", ":"))
    assert len(raw) < arena.world.settings.max_body_bytes, "the case is about the count, not the size"
    assert_prompt_refusal(within_budget(lambda: arena.send(method, path, raw)), method, path, body)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("GET", f"/notices/{HUGE}", None, {}),
        ("GET", f"/subscribers/{HUGE}", None, {}),
        ("DELETE", f"/keys/{HUGE}", None, {}),
        ("POST", "/events", json.dumps({**rollout_body(), HUGE: 1}), {}),
        ("POST", "/subscribers", json.dumps({**SUBSCRIBER, "role": HUGE[:150_000]}), {}),
        ("GET", "/coverage", None, {"Authorization": f"Bearer vk_{HUGE}_{HUGE}"}),
        # Within API Gateway's 10,240 bytes of headers: reachable by anyone, without a key.
        ("GET", "/coverage", None, {"Authorization": f"Bearer vk_{'a' * 10_000}_{'s' * 20}"}),
        ("GET", f"/ack/{HUGE}", None, {}),
    ],
    ids=[
        "notice-id",
        "subscriber-id",
        "key-id",
        "unknown-field",
        "role",
        "authorization",
        "authorization-10k",
        "ack-token",
    ],
)
def test_100000_character_inputs_are_answered_promptly(
    arena: Arena, method: str, path: str, body: str | None, headers: dict[str, str]
) -> None:
    key = None if "Authorization" in headers else "admin"
    timed = within_budget(lambda: arena.send(method, path, body, headers, key=key))
    assert_prompt_refusal(timed, method, path, body)


VALID_CASES = [
    (m, t, body) for (m, t), bodies_ in VALID_BODIES.items() if t != "/dev/sms/inbound" for body in bodies_
]
VALID_CASE_IDS = [f"{m} {t} {body.get('type', '')}".strip() for m, t, body in VALID_CASES]


def path_for(arena: Arena, template: str, body: dict[str, Any]) -> str:
    """Where a valid body goes: the detainer policy to /policies/detainer, the rest to the first ids."""
    return arena.path(template, event_type="detainer" if body is DETAINER_POLICY else "")


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


def replaced(document: Any, where: Path, value: Any) -> Any:
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
    for where in _paths(body)[1:]:
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


@pytest.mark.parametrize(
    "key",
    ["a\r\nb", "k\nX-Injected: 1", "\r\n", "a\x00b", "a\tb", "x" * 10_000, "x" * 201, "x" * 200, "clé-✓"],
    ids=["crlf", "lf-header", "only-crlf", "nul", "tab", "10000", "201", "200", "unicode"],
)
def test_the_idempotency_key_header_follows_the_rules_of_external_id(arena: Arena, key: str) -> None:
    """Both name the same thing and must be equal when both are sent: one set of rules for both."""
    without_id = {k: v for k, v in rollout_body().items() if k != "external_id"}
    by_header = arena.send("POST", "/events", json.dumps(without_id), {"Idempotency-Key": key})
    check(by_header, "POST", "/events", f"Idempotency-Key: {key!r}", arena.world)
    if by_header.status == 202:
        notice = arena.world.notices.get(by_header.json()["notice_id"])
        run(arena.world)
        check_emails(arena.world.email.sent, f"Idempotency-Key {key!r}")
        assert notice.idempotency_key == key.strip()
    arena.reset()
    by_body = arena.send("POST", "/events", json.dumps({**without_id, "external_id": key}))
    check(by_body, "POST", "/events", f"external_id={key!r}", arena.world)
    assert {by_header.status, by_body.status} <= {202, 400}
    assert by_header.status == by_body.status, (
        f"Idempotency-Key {short(key, 40)} answered {by_header.status}, "
        f"the same value as external_id {by_body.status}: {short(by_header)} / {short(by_body)}"
    )
    if len(key) > 200:
        assert by_header.status == 400
        assert by_header.json()["details"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    "route", ["/subscribers", "/audit", "/stats/acknowledgments", "/notices?type=rollout"]
)
@pytest.mark.parametrize("limit", ["²", "①", "١٢", "0", "101", "-1", " 5", "1e2", "", "9" * 5000])
def test_any_limit_is_a_page_or_a_400_never_a_5xx(arena: Arena, route: str, limit: str) -> None:
    path = f"{route}{'&' if '?' in route else '?'}limit={quote(limit)}"
    answer = arena.send("GET", path)
    check(answer, "GET", path, None)
    assert answer.status in {200, 400}
