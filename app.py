"""Vigil's Lambda entry points: parse the request or event, call one service, shape the response."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from chalice.app import Chalice, Request, Response, SQSEvent

from chalicelib import bootstrap
from chalicelib import log as logging_setup
from chalicelib.config import resource_name, stage_name
from chalicelib.domain.auth import READERS, ApiRole, Caller
from chalicelib.domain.errors import FieldError, InvalidInput, NotFound
from chalicelib.domain.jurisdictions import UnknownJurisdiction
from chalicelib.http import api_errors, json_response, read_json, reshape_chalice_error
from chalicelib.schemas.events import parse_event
from chalicelib.schemas.subscribers import parse_subscriber
from chalicelib.services import delivery, ingest, routing, subscribers
from chalicelib.services.access import authenticate, require
from chalicelib.views import jurisdiction_json, notice_json, subscriber_json

logging_setup.configure()
log = structlog.get_logger()

app = Chalice(app_name="vigil")
STAGE = stage_name()
ROUTE_QUEUE = resource_name(STAGE, "route")
SEND_QUEUE = resource_name(STAGE, "send")


def utcnow() -> datetime:
    return datetime.now(UTC)


def request() -> Request:
    current = app.current_request
    assert current is not None  # Chalice sets it for every HTTP invocation
    return current


def query_param(name: str) -> str | None:
    params = request().query_params
    value = params.get(name) if params else None
    return str(value) if value is not None else None


def caller(allow: frozenset[ApiRole] | set[ApiRole]) -> Caller:
    who = authenticate(request().headers.get("authorization"), keys=bootstrap.deps().keys)
    structlog.contextvars.bind_contextvars(key_id=who.key_id)
    return require(who, allow)


@app.middleware("http")
def http_context(event: Request, get_response: Callable[[Request], Response]) -> Response:
    structlog.contextvars.clear_contextvars()
    context = event.context or {}
    structlog.contextvars.bind_contextvars(
        request_id=context.get("requestId"), path=context.get("resourcePath")
    )
    return reshape_chalice_error(get_response(event))


@app.route("/health", methods=["GET"])
def health() -> Response:
    return json_response({"status": "ok"})


@app.route("/events", methods=["POST"])
@api_errors
def post_event() -> Response:
    who = caller({ApiRole.SOURCE, ApiRole.ADMIN})
    deps = bootstrap.deps()
    submitted = parse_event(
        read_json(request(), max_bytes=deps.settings.max_body_bytes),
        idempotency_header=request().headers.get("idempotency-key"),
        registry=deps.registry,
    )
    result = ingest.accept(
        submitted,
        caller=who,
        notices=deps.notices,
        index=deps.index,
        registry=deps.registry,
        route_queue=deps.route_queue,
        now=utcnow(),
    )
    return json_response(result.as_json(), 202)


@app.route("/notices/{notice_id}", methods=["GET"])
@api_errors
def get_notice(notice_id: str) -> Response:
    caller(READERS)
    deps = bootstrap.deps()
    notice = deps.notices.get(notice_id)
    return json_response(notice_json(notice, deps.deliveries.for_notice(notice_id)))


@app.route("/subscribers", methods=["POST"])
@api_errors
def post_subscriber() -> Response:
    caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    draft = parse_subscriber(
        read_json(request(), max_bytes=deps.settings.max_body_bytes),
        registry=deps.registry,
        allow_plain_http=deps.settings.allows_plain_http_webhooks,
    )
    created = subscribers.create(draft, subscribers=deps.subscribers, now=utcnow())
    return json_response(
        subscriber_json(created, reveal_secrets=True), 201, {"Location": f"/subscribers/{created.id}"}
    )


@app.route("/subscribers", methods=["GET"])
@api_errors
def list_subscribers() -> Response:
    caller({ApiRole.ADMIN})
    limit = _limit(query_param("limit"))
    page = bootstrap.deps().subscribers.list(limit=limit, cursor=query_param("cursor"))
    return json_response({"items": [subscriber_json(s) for s in page.items], "cursor": page.cursor})


@app.route("/subscribers/{subscriber_id}", methods=["GET"])
@api_errors
def get_subscriber(subscriber_id: str) -> Response:
    caller({ApiRole.ADMIN})
    return json_response(subscriber_json(bootstrap.deps().subscribers.get(subscriber_id)))


@app.route("/subscribers/{subscriber_id}", methods=["DELETE"])
@api_errors
def delete_subscriber(subscriber_id: str) -> Response:
    caller({ApiRole.ADMIN})
    bootstrap.deps().subscribers.delete(subscriber_id)
    return Response(body="", status_code=204)


@app.route("/jurisdictions", methods=["GET"])
@api_errors
def find_jurisdiction() -> Response:
    caller(READERS)
    query = query_param("q") or ""
    registry = bootstrap.deps().registry
    try:
        found = registry.resolve(query)
    except UnknownJurisdiction as exc:
        raise NotFound(str(exc)) from None
    return json_response(
        {"jurisdiction": jurisdiction_json(found), "ancestors": [j.id for j in registry.ancestors(found.id)]}
    )


@app.route("/dev/outbox", methods=["GET"])
@api_errors
def dev_outbox() -> Response:
    deps = bootstrap.deps()
    if not deps.settings.is_local:
        raise NotFound("no such route")
    from chalicelib.local.outbox import read_outbox  # noqa: PLC0415  # local stage only: moto is not in Lambda

    return json_response(read_outbox(deps.settings, to=query_param("to")))


@app.on_sqs_message(queue=ROUTE_QUEUE, batch_size=10)
def on_route_message(event: SQSEvent) -> dict[str, Any]:
    return _each_record(event, _route)


@app.on_sqs_message(queue=SEND_QUEUE, batch_size=10)
def on_send_message(event: SQSEvent) -> dict[str, Any]:
    return _each_record(event, _deliver)


def _route(body: dict[str, Any]) -> bool:
    deps = bootstrap.deps()
    routing.route(
        body["notice_id"],
        notices=deps.notices,
        index=deps.index,
        deliveries=deps.deliveries,
        send_queue=deps.send_queue,
        registry=deps.registry,
        now=utcnow(),
    )
    return True


def _deliver(body: dict[str, Any]) -> bool:
    deps = bootstrap.deps()
    report = delivery.deliver(
        body["notice_id"],
        body["delivery_ids"],
        notices=deps.notices,
        deliveries=deps.deliveries,
        subscribers=deps.subscribers,
        senders=deps.senders,
        ack_url=deps.ack_url,
        lease=deps.settings.send_lease,
        now=utcnow(),
    )
    return not report.needs_retry


def _each_record(event: SQSEvent, handle: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Run ``handle`` per message; report the failures so SQS retries only those (partial batch response)."""
    failures = []
    for record in event:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(message_id=record.to_dict().get("messageId"))
        try:
            ok = handle(json.loads(record.body))
        except Exception:
            log.exception("message.failed")
            ok = False
        if not ok:
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise InvalidInput("limit is invalid", [FieldError("limit", "must be a whole number from 1 to 100")])
    return int(raw)
