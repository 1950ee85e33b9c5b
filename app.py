"""Vigil's Lambda functions: the HTTP API (one blueprint per area) and the queue, topic and schedule
handlers of the pipeline. Each entry point parses its input, calls one bound use case, and answers;
the routes' contract is in chalicelib/entrypoints/contract.py, the work in chalicelib/services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from chalice.app import Chalice, Request, Response, SNSEvent, SQSEvent

from chalicelib import bootstrap, logs
from chalicelib.config import resource_name, stage_name
from chalicelib.entrypoints import (
    admin,
    dashboard,
    detainers,
    facilities,
    inbound,
    links,
    notices,
    pipeline,
    rotations,
    snapstart,
    subscribers,
)
from chalicelib.entrypoints.http import reshape_chalice_error

logs.configure()
snapstart.register()

app = Chalice(app_name="vigil")
# A forwarded message is posted as it is: bytes, not JSON.
app.api.binary_types.append("message/rfc822")
for area in (notices, inbound, links, subscribers, detainers, facilities, dashboard, admin, rotations):
    app.register_blueprint(area.routes.blueprint)

STAGE = stage_name()


@app.middleware("http")
def http_context(event: Request, get_response: Callable[[Request], Response]) -> Response:
    structlog.contextvars.clear_contextvars()
    context = event.context or {}
    structlog.contextvars.bind_contextvars(
        request_id=context.get("requestId"), path=context.get("resourcePath")
    )
    return reshape_chalice_error(get_response(event))


@app.on_sqs_message(queue=resource_name(STAGE, "route"), batch_size=10)
def on_route_message(event: SQSEvent) -> dict[str, Any]:
    """Fan a notice out to everyone whose subscription covers its place."""
    return pipeline.route_batch(event, bootstrap.usecases())


@app.on_sqs_message(queue=resource_name(STAGE, "send"), batch_size=10)
def on_send_message(event: SQSEvent) -> dict[str, Any]:
    """Send each message's deliveries, exactly once per recipient and channel."""
    return pipeline.send_batch(event, bootstrap.usecases())


@app.schedule("rate(1 minute)")
def on_sweep_tick(event: Any) -> dict[str, Any]:
    """Escalate every notice whose next step is due; remove personal data whose time has come."""
    return pipeline.sweep_tick(bootstrap.usecases(), stage=STAGE)


@app.schedule("rate(1 hour)")
def on_digest_tick(event: Any) -> dict[str, Any]:
    """Write the day's digest of every log's head, once a day (the first run of each UTC day)."""
    return pipeline.digest_tick(bootstrap.usecases())


@app.on_sns_message(topic=resource_name(STAGE, "sms-inbound"))
def on_sms_inbound(event: SNSEvent) -> None:
    """Two-way SMS: replies with codes, STOP, START and HELP."""
    pipeline.sms_received(event, bootstrap.usecases())


@app.on_sns_message(topic=resource_name(STAGE, "ses-feedback"))
def on_ses_feedback(event: SNSEvent) -> None:
    """SES bounces and complaints."""
    pipeline.ses_feedback(event, bootstrap.usecases())


@app.on_sns_message(topic=resource_name(STAGE, "inbound-mail"))
def on_inbound_email(event: SNSEvent) -> None:
    """Mail SES received for Vigil's address: a forwarded notice."""
    pipeline.mail_received(event, bootstrap.usecases())
