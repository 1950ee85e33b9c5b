"""The harness of the hostile-input cases: a seeded app to send requests to, and the checks on its answers.

What every request is checked for
---------------------------------
``check(answer, method, path, body, world)`` holds every answer to these, whatever was sent:

1. no 5xx;
2. every response header name and value is a single line: no CR or LF, and no other line break (NEL,
   U+2028...) splitting it;
3. when ``world`` is given, every email the fakes have sent has a single-line subject, recipient and
   headers (a line break there is header injection);
4. a path that matches no route (a ``/`` inside a parameter) gets API Gateway's own 403, nothing else;
5. an HTML answer never shows a traceback, and an HTML refusal is only a link page's 404
   (``/ack/``, ``/verify/``, ``/unsubscribe/``);
6. any other refusal (4xx) is ``application/json`` in the one error shape:
   ``{"error": "<non-empty code>", "message": "...", "details": [{"field": "...", "message": "..."}]}``;
7. a JSON success is strict JSON: no ``NaN`` or ``Infinity``.

The cases add what a route promises on top (a 413 at the size limit, a 400 for invalid UTF-8, a value
stored without its line break...). ``Findings`` runs ``check`` over many inputs in one test and reports
every failing input, not just the first. ``within_budget`` sends a request from a forked child and gives
up after ``BUDGET_SECONDS``, so an input that makes a route slow fails in seconds instead of hanging.

The world the requests meet
---------------------------
The ``arena`` fixture (``seeded_arena``) is an ``Arena``: the app on Chalice's test client over the
fakes of ``tests/fakes.py``, seeded once per run by ``seed`` (notices of both types, a decided detainer
with its duties, deliveries and their links, subscribers, API keys, a trusted sender), plus the
``keys`` fixture's keys.
``arena.ids`` holds the seeded ids by path parameter name; ``arena.path(template)`` fills a route's
template with them. ``arena.send`` sends as an admin unless told otherwise. ``arena.reset()`` restores
the seeded world (the property tests do it before every example); ``arena.reset_if_dirty()`` does it
only after a request was accepted: a refusal is taken to change nothing, as the API promises (the
harness does not check that).

Where the cases are
-------------------
- ``tests/unit/test_hostile_input.py``: every route of the route table (``routes.py``), property tests
  over paths, queries, headers and bodies; every content type and method; paging limits; API keys.
- ``tests/unit/test_hostile_json_bodies.py``: malformed, oversized or oddly typed JSON bodies.
- ``tests/unit/test_hostile_line_breaks.py``: text that could reach an email or HTTP header.
- ``tests/unit/test_hostile_oversized_inputs.py``: inputs that could make a route slow.

Hypothesis runs derandomized (``strategies.FUZZ``): the examples are the same from run to run, drawn
from a seed of the test's source and, for a parametrized test, its pytest node id. Renaming or moving
such a test changes the examples it draws.

Adding cases
------------
- A new route: give it its line in ``routes.ROUTE_CASES`` (valid JSON bodies and their size limit, the
  query parameters it reads, whether it is local-only). The fuzz finds the route in ``app.routes`` by
  itself but, without that line, sends it arbitrary bodies only, and ``test_hostile_input.py`` fails.
  With it, the route-table-driven cases (``test_hostile_input.py`` and, for a JSON body,
  ``test_hostile_json_bodies.py``) aim its valid bodies and queries at it. A route that truly cannot
  be fuzzed goes in ``routes.NOT_FUZZED`` with the reason instead.
- A new path parameter: return ids for it from ``seed`` under the parameter's name (``arena.path``
  needs one), so the fuzz aims valid and nearly valid values at it, not only hostile text.
- A targeted case: a test taking ``arena`` that sends with ``arena.send(method, arena.path(template),
  body)``, passes each answer to ``check`` (with ``arena.world`` when the request may send email) and
  asserts what the route promises; ``Findings`` for many inputs in one test, ``within_budget`` and
  ``assert_prompt_refusal`` for an input that could be slow. It goes in the module for its kind of
  input, which declares the fixture with ``arena = pytest.fixture(name="arena")(seeded_arena)``.
"""

from __future__ import annotations

import copy
import gc
import json
import multiprocessing
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from multiprocessing.connection import wait
from typing import Any

from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole, new_key
from chalicelib.domain.chat import chat_endpoint
from chalicelib.domain.messages import OutgoingEmail
from chalicelib.domain.subscribers import Channel, ChannelRef, ChannelType, Role
from chalicelib.entrypoints.pages import DASHBOARD_ASSETS
from tests.builders import NOW, detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.hostile.routes import DECISION, DETAINER_POLICY, PARAM, ROTATION
from tests.unit.test_pipeline import run

Keys = dict[ApiRole, str]
JSON = "application/json"
LINK_PAGES = ("/ack/", "/verify/", "/unsubscribe/")
# Not a speed requirement (those are benchmarks): a bound ten times any normal answer on a loaded
# machine, so an input that makes a route pathologically slow (minutes) fails instead of hanging.
BUDGET_SECONDS = 5.0


# -- the seeded world ---------------------------------------------------------------------------------

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


def path_for(arena: Arena, template: str, body: dict[str, Any]) -> str:
    """Where a valid body goes: the detainer policy to /policies/detainer, the rest to the first ids."""
    return arena.path(template, event_type="detainer" if body is DETAINER_POLICY else "")


SLACK_URL = "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/0123456789abcdef"
TEAMS_URL = "https://prod-01.westus.logic.azure.com/workflows/0a1b/triggers/manual?sig=x"


def seed(client: Any, world: FakeWorld, admin: str) -> dict[str, list[str]]:
    """Notices, deliveries, a decided detainer, subscribers, keys, a trusted sender and a duty rotation
    (statewide, so the valid body of POST /rotations makes another); their ids by path parameter name."""
    channels = (
        Channel(ChannelType.EMAIL, "adviser@example.gov"),
        Channel(ChannelType.SMS, "+18605550100"),
        Channel(ChannelType.WEBHOOK, "https://hooks.example.org/vigil", secret="whsec_c2VjcmV0LXNlY3JldA=="),
        Channel(ChannelType.SLACK, chat_endpoint(SLACK_URL), secret=SLACK_URL),
        Channel(ChannelType.TEAMS, chat_endpoint(TEAMS_URL), secret=TEAMS_URL),
    )
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=channels))
    world.subscribers.add(subscriber("reviewers", Role.CORRECTIONS, "us-ct"))
    headers = {"Content-Type": JSON, "Authorization": f"Bearer {admin}"}

    def post(path: str, body: dict[str, Any]) -> Any:
        response = client.http.post(path, headers=headers, body=json.dumps(body))
        assert response.status_code < 300, response.body
        return json.loads(response.body)

    sender = post("/inbound/senders", {"sender": "ice.dhs.gov", "note": "ICE"})["sender"]
    jail = post("/facilities", {"name": "Harris County Jail", "place": "us-tx/county/harris", "kind": "jail"})
    rotation = post("/rotations", {**ROTATION, "jurisdiction": "statewide"})["id"]
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
        tokens.append(deps.verify(ref, issued=datetime.now(UTC)).rsplit("/", 1)[1])
        tokens.append(deps.unsubscribe(ref).rsplit("/", 1)[1])
    return {
        "notice_id": [open_detainer, decided, rollout],
        "duty_id": [str(d["id"]) for d in world.notices.get(decided).duties],
        "token": tokens,
        "event_type": ["rollout", "detainer"],
        "subscriber_id": ["adviser", "reviewers"],
        "channel_id": [c.id for c in adviser.channels],
        "key_id": sorted(world.keys.keys),
        "sender": [sender],
        "state_id": [jail["id"].split("/")[0]],
        "slug": [jail["id"].split("/")[2]],
        "name": sorted(DASHBOARD_ASSETS),
        "rotation_id": [rotation],
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


def seeded_arena(world: FakeWorld, keys: Keys) -> Iterator[Arena]:
    """The fixture's world, holding the seeded notices, subscribers and keys and the fixture's own keys.

    The ``arena`` fixture of each case module (``world`` and ``keys`` are those of tests/unit/conftest.py).
    """
    fixture_keys = dict(world.keys.keys)
    template, ids = seeded()
    restore(world, template)
    world.keys.keys.update(fixture_keys)
    bootstrap.use(world.deps())
    with Client(app) as client:
        ids = {**ids, "key_id": sorted(world.keys.keys)}
        yield Arena(client, world, keys[ApiRole.ADMIN], ids, clone(world))


# -- what every answer must satisfy -------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"the answer is not valid JSON: it holds {name}")


def single_line(text: str) -> bool:
    return "\r" not in text and "\n" not in text and len(text.splitlines()) <= 1


def clean(text: str) -> bool:
    """No control character and no line break of any kind."""
    return not any(ord(c) < 32 or c in "\x7f\x85\u2028\u2029" for c in text)


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


# -- a time budget for inputs that could make a route slow --------------------------------------------


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
    # The child inherits the test run's whole heap: frozen, its garbage collections skip it instead
    # of touching (and so copying) every page of it, which would be timed as the request's own work.
    gc.freeze()
    try:
        process.start()
    finally:
        gc.unfreeze()
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
    """The request answered within its budget, with a 4xx that passes ``check``."""
    assert timed.answer is not None, f"{method} {short(path, 120)} body={short(body, 120)}: {timed.error}"
    check(timed.answer, method, path, body)
    assert 400 <= timed.answer.status < 500, short(timed.answer)
    return timed.answer
