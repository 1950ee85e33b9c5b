"""The HTTP contract, declared once per route: method and path, who may call it, what it answers.

A blueprint module makes ``routes = Routes("area")`` and declares each handler with
``@routes.get(...)``, ``@routes.post(...)`` and so on. The declaration registers the route with
Chalice and records an ``Operation`` in ``OPERATIONS``, from which

- ``tools/openapi.py`` writes each operation's facts into docs/openapi.yaml (operationId, tag,
  security, ``x-roles``, request content types, the statuses it answers), and a unit test fails when
  the document is not what the declarations say;
- the unit tests check docs/api.md's route table, the ``vigil`` commands and the audit of writes.

The statuses an operation may answer are its success status, the refusals it declares, and these,
which follow from the declaration itself:

- 401 and 403 when it takes a key (``roles``);
- 415 on every route: Chalice checks the Content-Type of every request before the handler runs;
- 400 and 413 when it reads a JSON body (``body=True``);
- 404 when its path has parameters (a path parameter of megabytes names nothing, and an id may
  name nothing that exists);
- 503 unless it is ``static`` (it reads or writes a store, which may be unavailable).

A handler receives the request as ``Incoming`` (the caller already authenticated and authorized),
the bound use cases, and its path parameters; it parses, calls one use case, and shapes the answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Concatenate, NamedTuple, ParamSpec

import structlog
from chalice.app import Blueprint, Request, Response

from chalicelib import bootstrap
from chalicelib.domain.auth import ApiRole, Caller
from chalicelib.domain.errors import FieldError, NotFound, UnsupportedMediaType
from chalicelib.entrypoints.http import MAX_PATH_PARAMETER, api_errors, html_response, read_json
from chalicelib.entrypoints.pages import message_page
from chalicelib.usecases import UseCases

P = ParamSpec("P")

# Who may call: every authenticated role (their order is the roles' own, as x-roles lists them).
READERS: tuple[ApiRole, ...] = tuple(ApiRole)
ADMINS = (ApiRole.ADMIN,)
SOURCES = (ApiRole.SOURCE, ApiRole.ADMIN)
REVIEWERS = (ApiRole.REVIEWER, ApiRole.ADMIN)

JSON = "application/json"
HTML = "text/html"
CSV = "text/csv"
JAVASCRIPT = "text/javascript"
# Link pages are posted by browsers' forms, mail clients' one-click unsubscribe and webhook systems.
FORM_OR_JSON = (JSON, "application/x-www-form-urlencoded", "text/plain", "multipart/form-data")
# A forwarded message is posted as it is: bytes, not JSON.
MAIL = ("message/rfc822", "text/plain", "application/octet-stream")


class Operation(NamedTuple):
    """One route's declared contract. (A NamedTuple rather than a frozen dataclass: every Lambda
    function imports this module, and building a dataclass at import costs about a millisecond.)"""

    method: str
    path: str
    name: str  # the handler's name: the OpenAPI operationId
    area: str  # the blueprint: the OpenAPI tag
    roles: tuple[ApiRole, ...]  # () takes no key: a signed link in the path, or nothing to protect
    status: int  # the success answer
    refuses: tuple[int, ...]  # every refusal status, the implied ones included
    content_types: tuple[str, ...]  # request bodies Chalice lets through
    answers: tuple[str, ...]  # media types of the success answer
    body: bool  # reads a JSON body
    # How an admin does this from the command line ("subscribers create"), or why there is no command.
    cli: str | None
    api_only: str | None
    local_only: bool  # served by the local stack only (the /dev routes)

    @property
    def writes(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}

    @property
    def statuses(self) -> tuple[int, ...]:
        return (self.status, *self.refuses)


# (METHOD, path) → its declaration, for every route of every blueprint imported so far.
OPERATIONS: dict[tuple[str, str], Operation] = {}


class Incoming:
    """What a handler reads of its request. ``caller`` is set on routes that take a key.
    (A plain class, not a dataclass, for the reason Operation gives.)"""

    __slots__ = ("caller", "max_body_bytes", "request")

    def __init__(self, request: Request, caller: Caller | None, max_body_bytes: int) -> None:
        self.request = request
        self.caller = caller
        self.max_body_bytes = max_body_bytes

    @property
    def who(self) -> Caller:
        """The authenticated caller of a route that takes a key."""
        if self.caller is None:
            raise TypeError("this route takes no key: declare roles to have a caller")
        return self.caller

    def json(self, *, max_bytes: int | None = None) -> Any:
        return read_json(self.request, max_bytes=max_bytes or self.max_body_bytes)

    def query(self, name: str) -> str | None:
        params = self.request.query_params
        value = params.get(name) if params else None
        return str(value) if value is not None else None

    def header(self, name: str) -> str | None:
        value = self.request.headers.get(name)
        return str(value) if value is not None else None

    @property
    def raw_body(self) -> bytes:
        raw = self.request.raw_body or b""
        return raw if isinstance(raw, bytes) else raw.encode()

    @property
    def source_ip(self) -> str:
        identity = (self.request.context or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "unknown")

    @property
    def wants_html(self) -> bool:
        return HTML in (self.header("accept") or "")


Handler = Callable[Concatenate[Incoming, UseCases, P], Response]


def check_content_type(header: str | None, accepted: Sequence[str]) -> None:
    """Chalice's rule, applied after the key: no Content-Type counts as JSON; a header matches when
    one of its media types (parameters aside) is accepted."""
    given = [part.split(";")[0].strip().lower() for part in (header or JSON).split(",")]
    if not any(media in accepted for media in given):
        raise UnsupportedMediaType(
            f"Content-Type {(header or '')[:100]!r} is not accepted here",
            [FieldError("Content-Type", "must be one of " + ", ".join(accepted))],
        )


def request_public_url(request: Request) -> str | None:
    """The address a request came to (``https://<host>/api`` on API Gateway's own host, whose
    paths start with the stage): where links made while answering it point when the stage has no
    configured public URL. A custom domain maps its own paths, so its stage is not in them."""
    context = request.context or {}
    domain, stage = context.get("domainName"), context.get("stage")
    if not domain:
        return None
    if stage and ".execute-api." in str(domain):
        return f"https://{domain}/{stage}"
    return f"https://{domain}"


class Routes:
    """The routes of one area, as a Chalice blueprint (``app.register_blueprint(routes.blueprint)``)."""

    def __init__(self, area: str, *, local_only: bool = False) -> None:
        self.area = area
        self.local_only = local_only
        self.blueprint = Blueprint(f"chalicelib.entrypoints.{area}")

    def get(self, path: str, **declared: Any) -> Callable[[Handler[P]], Callable[P, Response]]:
        return self.route("GET", path, **declared)

    def post(self, path: str, **declared: Any) -> Callable[[Handler[P]], Callable[P, Response]]:
        return self.route("POST", path, **declared)

    def put(self, path: str, **declared: Any) -> Callable[[Handler[P]], Callable[P, Response]]:
        return self.route("PUT", path, **declared)

    def patch(self, path: str, **declared: Any) -> Callable[[Handler[P]], Callable[P, Response]]:
        return self.route("PATCH", path, **declared)

    def delete(self, path: str, **declared: Any) -> Callable[[Handler[P]], Callable[P, Response]]:
        return self.route("DELETE", path, **declared)

    def route(
        self,
        method: str,
        path: str,
        *,
        roles: Sequence[ApiRole] = (),
        status: int = 200,
        refuses: Sequence[int] = (),
        body: bool = False,
        content_types: Sequence[str] = (JSON,),
        answers: Sequence[str] = (JSON,),
        static: bool = False,
        cli: str | None = None,
        api_only: str | None = None,
    ) -> Callable[[Handler[P]], Callable[P, Response]]:
        implied = {415}
        if roles:
            implied |= {401, 403}
        if body:
            implied |= {400, 413}
        if "{" in path:
            implied.add(404)
        if not static:
            implied.add(503)
        allowed = frozenset(roles)

        def register(handler: Handler[P]) -> Callable[P, Response]:
            operation = Operation(
                method=method,
                path=path,
                name=handler.__name__,
                area=self.area,
                roles=tuple(roles),
                status=status,
                refuses=tuple(sorted(implied | set(refuses))),
                content_types=tuple(content_types),
                answers=tuple(answers),
                body=body,
                cli=cli,
                api_only=api_only,
                local_only=self.local_only,
            )
            if (method, path) in OPERATIONS:
                raise ValueError(f"{method} {path} is declared twice")
            OPERATIONS[(method, path)] = operation

            @functools.wraps(handler)
            @api_errors
            def respond(*args: P.args, **kwargs: P.kwargs) -> Response:
                # Ids and tokens are short; a path segment of megabytes names nothing worth a lookup.
                if any(isinstance(v, str) and len(v) > MAX_PATH_PARAMETER for v in kwargs.values()):
                    if (
                        HTML in operation.answers and JSON not in operation.answers
                    ):  # a page: say so in a page
                        return html_response(message_page("Link not valid", "This link is not valid."), 404)
                    raise NotFound("no such resource")
                request = self.blueprint.current_request
                bootstrap.REQUEST_PUBLIC_URL.set(request_public_url(request))
                vigil = bootstrap.usecases()
                caller = vigil.authorize(request.headers.get("authorization"), allowed) if allowed else None
                if caller is not None:
                    structlog.contextvars.bind_contextvars(key_id=caller.key_id)
                # After the key: a caller without one learns nothing of the route, 415 included.
                check_content_type(request.headers.get("content-type"), operation.content_types)
                incoming = Incoming(request, caller, vigil.max_body_bytes)
                return handler(incoming, vigil, *args, **kwargs)

            # Chalice lets every Content-Type through ("*/*"); respond() checks the declared ones
            # after the key, so 401 comes before 415.
            self.blueprint.route(path, methods=[method], content_types=["*/*"])(respond)
            return respond

        return register
