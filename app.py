"""Vigil's Lambda entry points: parse the request or event, call one service, shape the response."""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from chalice.app import Chalice, Request, Response, SNSEvent, SQSEvent, SQSRecord

from chalicelib import bootstrap, logs
from chalicelib.config import resource_name, stage_name
from chalicelib.domain.acklog import verify_chain
from chalicelib.domain.acknowledgments import AckOutcome, AckVia
from chalicelib.domain.auth import READERS, ApiRole, Caller
from chalicelib.domain.errors import FieldError, InvalidInput, NotFound, VigilError
from chalicelib.domain.jurisdictions import UnknownJurisdiction
from chalicelib.domain.policies import policy_for
from chalicelib.domain.tokens import InvalidToken, Purpose, read_ack_token, read_channel_token
from chalicelib.http import (
    api_errors,
    error_body,
    html_response,
    json_response,
    read_json,
    reshape_chalice_error,
)
from chalicelib.lazy import LazyModule
from chalicelib.pages import DASHBOARD_CSP, ack_page, consent_page, dashboard_page, message_page
from chalicelib.ports import StoreUnavailable
from chalicelib.schemas.fields import whole_number
from chalicelib.schemas.keys import parse_key_request
from chalicelib.services import delivery
from chalicelib.services.access import authenticate, require
from chalicelib.views import (
    jurisdiction_json,
    log_entry_json,
    notice_detail_json,
    notice_json,
    subscriber_json,
)

if TYPE_CHECKING:
    from chalicelib.schemas import decisions as decision_schema
    from chalicelib.schemas import events as event_schema
    from chalicelib.schemas import notices as notice_schema
    from chalicelib.schemas import policies as policy_schema
    from chalicelib.schemas import reports as report_schema
    from chalicelib.schemas import subscribers as subscriber_schema
    from chalicelib.services import (
        acknowledgment,
        audit,
        dashboard,
        decisions,
        escalation,
        feedback,
        guessing,
        inbound,
        ingest,
        keys,
        notice_list,
        reports,
        routing,
        sms_replies,
        subscribers,
    )
else:
    # Each function uses a few of these: they load on first use (chalicelib/lazy.py).
    decision_schema = LazyModule("chalicelib.schemas.decisions")
    event_schema = LazyModule("chalicelib.schemas.events")
    notice_schema = LazyModule("chalicelib.schemas.notices")
    policy_schema = LazyModule("chalicelib.schemas.policies")
    report_schema = LazyModule("chalicelib.schemas.reports")
    subscriber_schema = LazyModule("chalicelib.schemas.subscribers")
    acknowledgment = LazyModule("chalicelib.services.acknowledgment")
    audit = LazyModule("chalicelib.services.audit")
    dashboard = LazyModule("chalicelib.services.dashboard")
    decisions = LazyModule("chalicelib.services.decisions")
    escalation = LazyModule("chalicelib.services.escalation")
    feedback = LazyModule("chalicelib.services.feedback")
    guessing = LazyModule("chalicelib.services.guessing")
    inbound = LazyModule("chalicelib.services.inbound")
    ingest = LazyModule("chalicelib.services.ingest")
    keys = LazyModule("chalicelib.services.keys")
    notice_list = LazyModule("chalicelib.services.notice_list")
    reports = LazyModule("chalicelib.services.reports")
    routing = LazyModule("chalicelib.services.routing")
    sms_replies = LazyModule("chalicelib.services.sms_replies")
    subscribers = LazyModule("chalicelib.services.subscribers")

logs.configure()
logger = structlog.get_logger()

app = Chalice(app_name="vigil")
app.api.binary_types.append("message/rfc822")
STAGE = stage_name()
MAX_QUERY = 200
# API keys that see a detainer's whole record (the reviewers who decide, and admins); other keys see
# what any recipient may.
FULL_RECORD_ROLES = frozenset({ApiRole.REVIEWER, ApiRole.ADMIN})
ROUTE_QUEUE = resource_name(STAGE, "route")
SEND_QUEUE = resource_name(STAGE, "send")
SMS_INBOUND_TOPIC = resource_name(STAGE, "sms-inbound")
SES_FEEDBACK_TOPIC = resource_name(STAGE, "ses-feedback")
INBOUND_MAIL_TOPIC = resource_name(STAGE, "inbound-mail")
# A forwarded message is posted as it is: bytes, not JSON.
MAIL_TYPES = ["message/rfc822", "text/plain", "application/octet-stream"]
# Link pages are posted by browsers' forms, mail clients' one-click unsubscribe and webhook systems.
FORM_OR_JSON = ["application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data"]
ACK_MESSAGES = {
    AckOutcome.ACKNOWLEDGED: "Thank you: your acknowledgment is recorded.",
    AckOutcome.ALREADY: "You had already acknowledged this notice. Nothing more is needed.",
    AckOutcome.LATE: "Recorded. The notice was already closed; your acknowledgment is kept as late.",
}


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
    submitted = event_schema.parse_event(
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
        policies=deps.policies,
        route_queue=deps.route_queue,
        ack_log=deps.ack_log,
        now=utcnow(),
    )
    return json_response(result.as_json(), 202)


@app.route("/inbound/email", methods=["POST"], content_types=MAIL_TYPES)
@api_errors
def post_inbound_email() -> Response:
    """A raw RFC 822 message (a forwarded notice): routed, or held for triage."""
    who = caller({ApiRole.SOURCE, ApiRole.ADMIN})
    raw = request().raw_body or b""
    result = inbound.receive(
        raw if isinstance(raw, bytes) else raw.encode(), caller=who, desk=bootstrap.deps().desk, now=utcnow()
    )
    return json_response(result.as_json(), 202)


@app.route("/inbound/triage/{notice_id}", methods=["POST"])
@api_errors
def post_triage(notice_id: str) -> Response:
    who = caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    accepted = inbound.complete_triage(
        notice_id,
        read_json(request(), max_bytes=deps.settings.max_body_bytes),
        caller=who,
        desk=deps.desk,
        now=utcnow(),
    )
    return json_response({"notices": [a.as_json() for a in accepted]}, 202)


@app.route("/notices", methods=["GET"])
@api_errors
def list_notices() -> Response:
    who = caller(READERS)
    deps = bootstrap.deps()
    page = notice_list.recent(
        notice_schema.parse_notice_filter(
            {k: query_param(k) for k in ("type", "status", "jurisdiction", "limit", "cursor")},
            registry=deps.registry,
        ),
        notices=deps.notices,
        registry=deps.registry,
    )
    full = who.role in FULL_RECORD_ROLES
    return json_response({"items": [notice_json(n, full=full) for n in page.items], "cursor": page.cursor})


@app.route("/notices/{notice_id}", methods=["GET"])
@api_errors
def get_notice(notice_id: str) -> Response:
    who = caller(READERS)
    deps = bootstrap.deps()
    notice = deps.notices.get(notice_id)
    policy = policy_for(deps.policies.get(notice.type), low_key=notice.low_key)
    return json_response(
        notice_detail_json(
            notice,
            deps.deliveries.for_notice(notice_id),
            deps.deliveries.acknowledgments(notice_id),
            policy,
            now=utcnow(),
            full=who.role in FULL_RECORD_ROLES,
        )
    )


@app.route("/notices/{notice_id}/log", methods=["GET"])
@api_errors
def get_notice_log(notice_id: str) -> Response:
    caller(READERS)
    deps = bootstrap.deps()
    deps.notices.get(notice_id)
    entries = deps.ack_log.entries(notice_id)
    verification = verify_chain(notice_id, entries)
    return json_response(
        {
            "notice_id": notice_id,
            "verified": verification.verified,
            "broken_at": verification.broken_at,
            "reason": verification.reason,
            "entry_count": verification.entries,
            "entries": [log_entry_json(e) for e in entries],
        }
    )


def _guard_links(deps: bootstrap.Deps) -> str:
    """The caller's address, refused (429) after too many invalid links from it."""
    identity = (request().context or {}).get("identity") or {}
    source = str(identity.get("sourceIp") or "unknown")
    guessing.check_tokens(source, limits=deps.limits, now=utcnow())
    return source


def _link_refused(deps: bootstrap.Deps, source: str, message: str) -> Response:
    guessing.token_failed(source, limits=deps.limits, now=utcnow())
    return html_response(message_page("Link not valid", message), 404)


@app.route("/ack/{token}", methods=["GET"])
@api_errors
def show_ack(token: str) -> Response:
    """Changes nothing: mail security scanners follow every link in an email."""
    deps = bootstrap.deps()
    source = _guard_links(deps)
    try:
        notice, delivery_ = acknowledgment.find_delivery(
            read_ack_token(deps.settings.ack_secret, token), notices=deps.notices, deliveries=deps.deliveries
        )
    except (InvalidToken, NotFound):
        return _link_refused(deps, source, "This acknowledgment link is not valid.")
    return html_response(ack_page(notice, delivery_, action=f"/ack/{token}"))


@app.route("/ack/{token}", methods=["POST"], content_types=FORM_OR_JSON)
@api_errors
def post_ack(token: str) -> Response:
    """From the page's button (HTML answer) or from a webhook subscriber's system (JSON answer)."""
    deps = bootstrap.deps()
    source = _guard_links(deps)
    wants_html = "text/html" in (request().headers.get("accept") or "")
    try:
        target = read_ack_token(deps.settings.ack_secret, token)
        result = acknowledgment.acknowledge(
            target,
            via=AckVia.LINK if wants_html else AckVia.WEBHOOK,
            notices=deps.notices,
            deliveries=deps.deliveries,
            policies=deps.policies,
            ack_log=deps.ack_log,
            now=utcnow(),
        )
    except (InvalidToken, NotFound):
        guessing.token_failed(source, limits=deps.limits, now=utcnow())
        if wants_html:
            return html_response(
                message_page("Link not valid", "This acknowledgment link is not valid."), 404
            )
        return json_response(error_body("not_found", "this acknowledgment link is not valid"), 404)
    if wants_html:
        return html_response(
            ack_page(result.notice, result.delivery, action="", message=ACK_MESSAGES[result.outcome])
        )
    return json_response(result.as_json())


@app.route("/detainers/{notice_id}/decision", methods=["POST"])
@api_errors
def post_decision(notice_id: str) -> Response:
    who = caller({ApiRole.REVIEWER, ApiRole.ADMIN})
    deps = bootstrap.deps()
    decided = decisions.decide(
        notice_id,
        decision_schema.parse_decision(read_json(request(), max_bytes=deps.settings.max_body_bytes)),
        notices=deps.notices,
        index=deps.index,
        deliveries=deps.deliveries,
        send_queue=deps.send_queue,
        registry=deps.registry,
        ack_log=deps.ack_log,
        actor=who.key_id,
        now=utcnow(),
    )
    return json_response(notice_json(decided, full=True), 201)


@app.route("/detainers/{notice_id}/duties/{duty_id}", methods=["POST"])
@api_errors
def post_duty(notice_id: str, duty_id: str) -> Response:
    who = caller({ApiRole.REVIEWER, ApiRole.ADMIN})
    deps = bootstrap.deps()
    _, note = decision_schema.parse_duty_update(read_json(request(), max_bytes=4096))
    updated = decisions.complete_duty(
        notice_id,
        duty_id,
        note=note,
        notices=deps.notices,
        ack_log=deps.ack_log,
        actor=who.key_id,
        now=utcnow(),
    )
    return json_response(notice_json(updated, full=True))


@app.route("/reports/detainers", methods=["GET"])
@api_errors
def get_detainer_report() -> Response:
    caller(READERS)
    start, end, fmt = report_schema.parse_report_window(
        {k: query_param(k) for k in ("from", "to", "format")},
        today=utcnow().astimezone(report_schema.NEW_YORK).date(),
    )
    report = reports.detainer_report(notices=bootstrap.deps().notices, start=start, end=end)
    if fmt == "csv":
        return Response(
            body=report.as_csv(),
            status_code=200,
            headers={"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store"},
        )
    return json_response(report.as_json())


@app.route("/coverage", methods=["GET"])
@api_errors
def get_coverage() -> Response:
    caller(READERS)
    deps = bootstrap.deps()
    return json_response(
        dashboard.coverage_report(
            registry=deps.registry, subscribers=deps.subscribers, policies=deps.policies
        )
    )


@app.route("/stats/acknowledgments", methods=["GET"])
@api_errors
def get_acknowledgment_times() -> Response:
    caller(READERS)
    deps = bootstrap.deps()
    return json_response(
        dashboard.acknowledgment_times(
            policy_schema.parse_event_type(query_param("type") or "rollout"),
            limit=_limit(query_param("limit")),
            notices=deps.notices,
            deliveries=deps.deliveries,
            registry=deps.registry,
        )
    )


@app.route("/dashboard", methods=["GET"])
def get_dashboard() -> Response:
    """The page itself holds no data: it asks for an API key and reads the API with it."""
    return html_response(dashboard_page(), csp=DASHBOARD_CSP)


@app.route("/policies/{event_type}", methods=["GET"])
@api_errors
def get_policy(event_type: str) -> Response:
    caller(READERS)
    return json_response(bootstrap.deps().policies.get(policy_schema.parse_event_type(event_type)).as_json())


@app.route("/policies/{event_type}", methods=["PUT"])
@api_errors
def put_policy(event_type: str) -> Response:
    caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    kind = policy_schema.parse_event_type(event_type)
    policy = policy_schema.parse_policy(
        read_json(request(), max_bytes=deps.settings.max_body_bytes), event_type=kind
    )
    deps.policies.put(policy)
    logger.info("policy.replaced", event_type=str(kind), steps=len(policy.steps))
    return json_response(policy.as_json())


@app.route("/admin/sweep", methods=["POST"])
@api_errors
def post_sweep() -> Response:
    caller({ApiRole.ADMIN})
    return json_response(_sweep().as_json())


@app.schedule("rate(1 minute)")
def on_sweep_tick(event: Any) -> dict[str, Any]:
    report = _sweep()
    now = utcnow()
    logs.metric("NoticesPastLastStep", report.past_last_step, stage=STAGE, at_ms=int(now.timestamp() * 1000))
    return report.as_json()


def _sweep() -> escalation.SweepReport:
    deps = bootstrap.deps()
    return escalation.escalate_overdue(
        notices=deps.notices,
        policies=deps.policies,
        index=deps.index,
        deliveries=deps.deliveries,
        send_queue=deps.send_queue,
        registry=deps.registry,
        admins=deps.admins,
        ack_log=deps.ack_log,
        now=utcnow(),
    )


@app.route("/subscribers", methods=["POST"])
@api_errors
def post_subscriber() -> Response:
    who = caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    draft = subscriber_schema.parse_subscriber(
        read_json(request(), max_bytes=deps.settings.max_body_bytes),
        registry=deps.registry,
        allow_plain_http=deps.settings.allows_local_webhooks,
    )
    created, confirmations = subscribers.create(
        draft, subscribers=deps.subscribers, consent=deps.consent, actor=who.key_id, now=utcnow()
    )
    body = {**subscriber_json(created, reveal_secrets=True), "confirmations": confirmations}
    return json_response(body, 201, {"Location": f"/subscribers/{created.id}"})


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


@app.route("/subscribers/{subscriber_id}", methods=["PATCH"])
@api_errors
def patch_subscriber(subscriber_id: str) -> Response:
    who = caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    patch = subscriber_schema.parse_patch(
        read_json(request(), max_bytes=deps.settings.max_body_bytes),
        registry=deps.registry,
        allow_plain_http=deps.settings.allows_local_webhooks,
    )
    before = {c.id for c in deps.subscribers.get(subscriber_id).channels}
    updated, confirmations = subscribers.update(
        subscriber_id,
        patch,
        subscribers=deps.subscribers,
        consent=deps.consent,
        actor=who.key_id,
        now=utcnow(),
    )
    added = frozenset(c.id for c in updated.channels) - before
    return json_response({**subscriber_json(updated, reveal_for=added), "confirmations": confirmations})


@app.route("/subscribers/{subscriber_id}", methods=["DELETE"])
@api_errors
def delete_subscriber(subscriber_id: str) -> Response:
    who = caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    subscribers.delete(
        subscriber_id, subscribers=deps.subscribers, consent=deps.consent, actor=who.key_id, now=utcnow()
    )
    return Response(body="", status_code=204)


@app.route("/subscribers/{subscriber_id}/test", methods=["POST"])
@api_errors
def post_test_message(subscriber_id: str) -> Response:
    who = caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    sent = subscribers.send_test(
        subscriber_id,
        subscribers=deps.subscribers,
        senders=deps.senders,
        ack_log=deps.ack_log,
        actor=who.key_id,
        now=utcnow(),
    )
    return json_response({"subscriber_id": subscriber_id, "sent": sent}, 202)


@app.route("/subscribers/{subscriber_id}/channels/{channel_id}/rotate-secret", methods=["POST"])
@api_errors
def post_rotate_secret(subscriber_id: str, channel_id: str) -> Response:
    who = caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    updated, secret = subscribers.rotate_secret(
        subscriber_id,
        channel_id,
        subscribers=deps.subscribers,
        ack_log=deps.ack_log,
        actor=who.key_id,
        now=utcnow(),
    )
    channel = updated.channel(channel_id)
    until = channel.previous_secret_until if channel else None
    return json_response(
        {
            "channel_id": channel_id,
            "secret": secret,
            "previous_secret_valid_until": until.isoformat() if until else None,
        }
    )


@app.route("/verify/{token}", methods=["GET"])
@api_errors
def show_verify(token: str) -> Response:
    """Changes nothing, like the acknowledgment link: scanners open links."""
    deps = bootstrap.deps()
    source = _guard_links(deps)
    try:
        ref = read_channel_token(deps.settings.ack_secret, Purpose.VERIFY, token)
        subscriber = deps.subscribers.get(ref.subscriber_id)
    except (InvalidToken, NotFound):
        return _link_refused(deps, source, "This confirmation link is not valid.")
    return html_response(
        consent_page(
            f"Confirm alerts for {subscriber.name}",
            "Confirm that this address is yours and that you want Vigil's alerts at it.",
            button="Confirm this address",
            action=f"/verify/{token}",
        )
    )


@app.route("/verify/{token}", methods=["POST"], content_types=FORM_OR_JSON)
@api_errors
def post_verify(token: str) -> Response:
    deps = bootstrap.deps()
    source = _guard_links(deps)
    try:
        ref = read_channel_token(deps.settings.ack_secret, Purpose.VERIFY, token)
        subscribers.confirm_channel(ref, subscribers=deps.subscribers, ack_log=deps.ack_log, now=utcnow())
    except (InvalidToken, NotFound):
        return _link_refused(deps, source, "This confirmation link is not valid.")
    return html_response(message_page("Confirmed", "Thank you: this address will receive Vigil's alerts."))


@app.route("/unsubscribe/{token}", methods=["GET"])
@api_errors
def show_unsubscribe(token: str) -> Response:
    deps = bootstrap.deps()
    source = _guard_links(deps)
    try:
        read_channel_token(deps.settings.ack_secret, Purpose.UNSUBSCRIBE, token)
    except InvalidToken:
        return _link_refused(deps, source, "This unsubscribe link is not valid.")
    return html_response(
        consent_page(
            "Stop Vigil alerts to this address",
            "You will no longer receive Vigil's alerts by email at this address. If your office requires "
            "you to acknowledge notices, its administrators will be told so they can reach you another way.",
            button="Unsubscribe",
            action=f"/unsubscribe/{token}",
        )
    )


@app.route("/unsubscribe/{token}", methods=["POST"], content_types=FORM_OR_JSON)
@api_errors
def post_unsubscribe(token: str) -> Response:
    """RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" here, without a visit."""
    deps = bootstrap.deps()
    source = _guard_links(deps)
    try:
        ref = read_channel_token(deps.settings.ack_secret, Purpose.UNSUBSCRIBE, token)
        subscribers.set_opted_out(
            ref,
            True,
            subscribers=deps.subscribers,
            senders=deps.senders,
            admins=deps.admins,
            ack_log=deps.ack_log,
            now=utcnow(),
        )
    except (InvalidToken, NotFound):
        return _link_refused(deps, source, "This unsubscribe link is not valid.")
    return html_response(message_page("Unsubscribed", "This address will receive no more alerts from Vigil."))


@app.route("/keys", methods=["POST"])
@api_errors
def post_key() -> Response:
    who = caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    name, role = parse_key_request(read_json(request(), max_bytes=4096))
    key, plaintext = keys.create(
        name, role, keys=deps.keys, ack_log=deps.ack_log, actor=who.key_id, now=utcnow()
    )
    return json_response({**keys.key_json(key), "key": plaintext}, 201, {"Location": f"/keys/{key.id}"})


@app.route("/keys", methods=["GET"])
@api_errors
def list_keys() -> Response:
    caller({ApiRole.ADMIN})
    return json_response({"items": [keys.key_json(k) for k in bootstrap.deps().keys.list()]})


@app.route("/keys/{key_id}", methods=["DELETE"])
@api_errors
def delete_key(key_id: str) -> Response:
    who = caller({ApiRole.ADMIN})
    deps = bootstrap.deps()
    keys.revoke(key_id, keys=deps.keys, ack_log=deps.ack_log, actor=who.key_id, now=utcnow())
    return Response(body="", status_code=204)


@app.route("/audit", methods=["GET"])
@api_errors
def get_audit() -> Response:
    caller({ApiRole.ADMIN})
    limit = _limit(query_param("limit"))
    entries = bootstrap.deps().ack_log.entries(audit.AUDIT_STREAM)
    verification = verify_chain(audit.AUDIT_STREAM, entries) if entries else None
    return json_response(
        {
            "verified": verification.verified if verification else True,
            "broken_at": verification.broken_at if verification else None,
            "total": len(entries),
            # Newest first: what an admin looks for is what just happened.
            "items": [log_entry_json(e) for e in reversed(entries[-limit:])],
        }
    )


@app.route("/jurisdictions", methods=["GET"])
@api_errors
def find_jurisdiction() -> Response:
    caller(READERS)
    query = query_param("q") or ""
    if len(query) > MAX_QUERY:
        raise InvalidInput("q is too long", [FieldError("q", f"must be at most {MAX_QUERY} characters")])
    if not query.strip():
        raise InvalidInput("q is required", [FieldError("q", "name a jurisdiction: a name, FIPS code or id")])
    registry = bootstrap.deps().registry
    try:
        found = registry.resolve(query)
    except UnknownJurisdiction as exc:
        raise NotFound(str(exc), [FieldError("q", str(exc))]) from None
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


@app.route("/dev/sms/inbound", methods=["POST"])
@api_errors
def dev_sms_inbound() -> Response:
    """What a carrier would deliver to the inbound topic, for the local stack."""
    deps = bootstrap.deps()
    if not deps.settings.is_local:
        raise NotFound("no such route")
    body = read_json(request(), max_bytes=4096)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("from"), str)
        or not isinstance(body.get("body"), str)
    ):
        raise InvalidInput(
            "an inbound text needs from and body",
            [FieldError("from", "an E.164 number is required"), FieldError("body", "the text is required")],
        )
    return json_response(_sms_reply(body["from"], body["body"]))


@app.on_sns_message(topic=SMS_INBOUND_TOPIC)
def on_sms_inbound(event: SNSEvent) -> None:
    """Two-way SMS: AWS End User Messaging publishes each inbound text to this topic as JSON."""
    try:
        message = json.loads(event.message)
        phone, text = str(message["originationNumber"]), str(message["messageBody"])
    except (ValueError, KeyError, TypeError):
        logger.warning("sms_reply.unreadable")
        return
    _sms_reply(phone, text)


def _sms_reply(phone: str, text: str) -> dict[str, Any]:
    deps = bootstrap.deps()
    handled = sms_replies.handle_reply(
        phone, text, inbox=deps.inbox, senders=deps.senders, admins=deps.admins, now=utcnow()
    )
    return {"outcome": str(handled.reply), "answer": handled.answer}


@app.on_sns_message(topic=SES_FEEDBACK_TOPIC)
def on_ses_feedback(event: SNSEvent) -> None:
    """SES publishes bounces and complaints of tagged messages here (the configuration set's destination)."""
    try:
        notification = json.loads(event.message)
    except ValueError:
        logger.warning("ses_feedback.unreadable")
        return
    deps = bootstrap.deps()
    done = feedback.handle_feedback(
        notification,
        notices=deps.notices,
        deliveries=deps.deliveries,
        subscribers=deps.subscribers,
        send_queue=deps.send_queue,
        senders=deps.senders,
        admins=deps.admins,
        ack_log=deps.ack_log,
        now=utcnow(),
    )
    logger.info("ses_feedback.handled", outcome=done)


@app.on_sns_message(topic=INBOUND_MAIL_TOPIC)
def on_inbound_email(event: SNSEvent) -> None:
    """SES received a message, stored it in the inbound-mail bucket and announced it here."""
    try:
        action = json.loads(event.message)["receipt"]["action"]
        bucket, key = str(action["bucketName"]), str(action["objectKey"])
    except (ValueError, KeyError, TypeError):
        logger.warning("inbound_mail.unreadable_notification")
        return
    deps = bootstrap.deps()
    try:
        result = inbound.receive(
            deps.mail.get(key),
            caller=Caller(key_id="ses-inbound", role=ApiRole.SOURCE),
            desk=deps.desk,
            now=utcnow(),
            stored_at=f"s3://{bucket}/{key}",
        )
    except VigilError as exc:  # malformed or too large: kept in the bucket, nothing to retry
        logger.warning("inbound_mail.refused", reason=exc.message)
        return
    logger.info("inbound_mail.handled", notices=len(result.notices), triage=result.triage is not None)


@app.on_sqs_message(queue=ROUTE_QUEUE, batch_size=10)
def on_route_message(event: SQSEvent) -> dict[str, Any]:
    return _each_record(event, _route)


@app.on_sqs_message(queue=SEND_QUEUE, batch_size=10)
def on_send_message(event: SQSEvent) -> dict[str, Any]:
    deps = bootstrap.deps()
    entries: list[dict[str, Any]] = []
    notices = delivery.NoticesReadOnce(deps.notices)
    answer = _each_record(event, functools.partial(_deliver, entries=entries, notices=notices))
    delivery.write_log(entries, ack_log=deps.ack_log, later=deps.send_queue)
    return answer


def _route(body: dict[str, Any], _: SQSRecord) -> bool:
    deps = bootstrap.deps()
    routing.route(
        body["notice_id"],
        notices=deps.notices,
        index=deps.index,
        deliveries=deps.deliveries,
        send_queue=deps.send_queue,
        registry=deps.registry,
        policies=deps.policies,
        ack_log=deps.ack_log,
        now=utcnow(),
    )
    return True


def _deliver(
    body: dict[str, Any],
    record: SQSRecord,
    *,
    entries: list[dict[str, Any]],
    notices: delivery.NoticesReadOnce,
) -> bool:
    deps = bootstrap.deps()
    if "log_entries" in body:  # entries a refusing log deferred: written now, retried by SQS until they are
        delivery.append_entries(body["log_entries"], ack_log=deps.ack_log)
        return True
    report = delivery.deliver(
        body["notice_id"],
        body["delivery_ids"],
        notices=notices,
        deliveries=deps.deliveries,
        subscribers=deps.subscribers,
        senders=deps.senders,
        codes=deps.codes,
        ack_log=deps.ack_log,
        links=deps,
        admins=deps.admins,
        lease=deps.settings.send_lease,
        now=utcnow(),
        log_now=False,
    )
    entries.extend(report.unlogged)
    delay = delivery.settle(
        report,
        body,
        attempt=int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1")),
        dead_letters=deps.send_dead_letters,
        retry_scale=deps.settings.retry_scale,
        jitter=random.random(),  # noqa: S311  # spreads retries; not a secret
    )
    if delay is None:
        return True
    try:
        deps.send_queue.retry_later(record.receipt_handle, delay)
    except StoreUnavailable:
        logger.warning("message.backoff_not_set", delay=delay)  # it comes back after the queue's own timeout
    return False


def _each_record(event: SQSEvent, handle: Callable[[dict[str, Any], SQSRecord], bool]) -> dict[str, Any]:
    """Run ``handle`` per message; report the failures so SQS retries only those (partial batch response)."""
    failures = []
    for record in event:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(message_id=record.to_dict().get("messageId"))
        try:
            ok = handle(json.loads(record.body), record)
        except Exception:
            logger.exception("message.failed")
            ok = False
        if not ok:
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    limit = whole_number(raw, low=1, high=100)
    if limit is None:
        raise InvalidInput("limit is invalid", [FieldError("limit", "must be a whole number from 1 to 100")])
    return limit
