"""The local stack's own routes (``/dev/...``): what carriers and mail systems would deliver, and
what the stack "sent". Not part of the Lambda bundle: the local stack adds them to the app
(``serve_on``), and so do the unit tests that stand in for it; a deployed stage has no such routes."""

from __future__ import annotations

import hashlib
import json

from chalice.app import Chalice, Response, SNSEvent

from chalicelib import bootstrap
from chalicelib.domain.errors import FieldError, InvalidInput, NotFound
from chalicelib.entrypoints.contract import Incoming, Routes
from chalicelib.entrypoints.http import json_response
from chalicelib.entrypoints.pipeline import E164, MAX_TEXT
from chalicelib.usecases import UseCases

routes = Routes("dev", local_only=True)


def serve_on(app: Chalice) -> Chalice:
    """``app`` with the /dev routes (added once, however often this is called)."""
    if not any(path.startswith("/dev/") for path in app.routes):
        app.register_blueprint(routes.blueprint)
    return app


def _local_only(vigil: UseCases) -> None:
    if not vigil.is_local:
        raise NotFound("no such route")


@routes.get("/dev/outbox", static=True, refuses=(404,))
def dev_outbox(req: Incoming, vigil: UseCases) -> Response:
    from vigil_local.outbox import read_outbox

    _local_only(vigil)
    return json_response(read_outbox(bootstrap.deps().settings, to=req.query("to")))


@routes.post("/dev/sms/inbound", body=True, refuses=(404,))
def dev_sms_inbound(req: Incoming, vigil: UseCases) -> Response:
    """What a carrier would deliver to the inbound topic, for the local stack."""
    _local_only(vigil)
    body = req.json(max_bytes=4096)
    if not isinstance(body, dict):
        raise InvalidInput("an inbound text is an object", [FieldError("body", "expected {from, body}")])
    problems = []
    unknown = sorted(set(body) - {"from", "body"})
    problems += [FieldError(name, "is not a field of an inbound text") for name in unknown]
    if not isinstance(body.get("from"), str) or not E164.fullmatch(body["from"]):
        problems.append(FieldError("from", "must be the sender's number in E.164 form, e.g. +18605550100"))
    if not isinstance(body.get("body"), str) or len(body["body"]) > MAX_TEXT:
        problems.append(FieldError("body", f"must be the text, at most {MAX_TEXT} characters"))
    if problems:
        raise InvalidInput("an inbound text needs from and body", problems)
    handled = vigil.reply_to_text(body["from"], body["body"])
    return json_response({"outcome": str(handled.reply), "answer": handled.answer})


# Base64 makes a message a third longer: room for the 10 MiB SES and the mail reader take.
MAIL_BODY_BYTES = 14 * 1024 * 1024


@routes.post("/dev/mail/inbound", status=202, body=True, refuses=(404,))
def dev_mail_inbound(req: Incoming, vigil: UseCases) -> Response:
    """What SES would do with a message received for Vigil: store it in the inbound-mail bucket and
    publish its notification, with the verdicts given, to the same handler (``on_inbound_email``'s
    work, ``pipeline.mail_received``). Answers what became of it, as ``POST /inbound/email`` does."""
    from chalicelib.entrypoints import pipeline
    from chalicelib.schemas.inbound import parse_dev_mail
    from vigil_local.ses import received_notification, sns_event

    _local_only(vigil)
    mail = parse_dev_mail(req.json(max_bytes=MAIL_BODY_BYTES), max_bytes=10 * 1024 * 1024)
    deps = bootstrap.deps()
    stage = deps.settings.stage
    key = f"inbound/{hashlib.sha256(mail.raw).hexdigest()}"
    uri = deps.mail.put(key, mail.raw)
    bucket = uri.removeprefix("s3://").split("/", 1)[0]
    notification = received_notification(
        mail.raw, bucket=bucket, key=key, verdicts=mail.verdicts, stage=stage
    )
    result = pipeline.mail_received(SNSEvent(sns_event(json.dumps(notification), stage=stage), None), vigil)
    if result is None:
        reason = "not readable email (it stays in the inbound-mail bucket, as SES would leave it)"
        raise InvalidInput(f"the message is {reason}", [FieldError("raw", f"is {reason}")])
    return json_response(result.as_json(), 202)
