"""Mail: forwarded notices posted to the API, the triage queue of held messages, and the trusted
senders whose mail may alarm anyone."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.entrypoints.contract import ADMINS, MAIL, SOURCES, Incoming, Routes
from chalicelib.entrypoints.http import json_response
from chalicelib.entrypoints.views import held_json
from chalicelib.usecases import UseCases

routes = Routes("inbound")


@routes.post(
    "/inbound/email",
    roles=SOURCES,
    status=202,
    refuses=(400, 413),
    content_types=MAIL,
    api_only="a forwarded message is posted by a mail system or a script, as raw bytes",
)
def post_inbound_email(req: Incoming, vigil: UseCases) -> Response:
    """A raw RFC 822 message (a forwarded notice), trusted as the key's holder: routed once per
    original, added as a further report, or held for triage."""
    return json_response(vigil.receive_mail(req.raw_body, caller=req.who).as_json(), 202)


@routes.get("/inbound/triage", roles=ADMINS, refuses=(400,), cli="triage list")
def get_triage(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.queries import parse_limit

    page = vigil.triage_queue(limit=parse_limit(req.query("limit")), cursor=req.query("cursor"))
    return json_response({"items": [held_json(n) for n in page.items], "cursor": page.cursor})


@routes.post("/inbound/triage/{notice_id}", roles=ADMINS, status=202, body=True, cli="triage complete")
def post_triage(req: Incoming, vigil: UseCases, notice_id: str) -> Response:
    accepted = vigil.complete_triage(notice_id, req.json(), caller=req.who)
    return json_response({"notices": [a.as_json() for a in accepted]}, 202)


@routes.post("/inbound/triage/{notice_id}/dismiss", roles=ADMINS, body=True, cli="triage dismiss")
def post_triage_dismissal(req: Incoming, vigil: UseCases, notice_id: str) -> Response:
    from chalicelib.schemas.inbound import parse_dismissal

    notice = vigil.dismiss_triage(notice_id, parse_dismissal(req.json(max_bytes=4096)), caller=req.who)
    return json_response(
        {"notice_id": notice.id, "status": str(notice.status), "dismissed": notice.extra.get("dismissed")}
    )


@routes.get("/inbound/senders", roles=ADMINS, cli="senders list")
def get_trusted_senders(req: Incoming, vigil: UseCases) -> Response:
    return json_response({"items": [entry.as_json() for entry in vigil.trusted_senders()]})


@routes.post("/inbound/senders", roles=ADMINS, status=201, body=True, refuses=(409,), cli="senders add")
def post_trusted_sender(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.inbound import parse_trusted_sender

    added = vigil.trust_sender(parse_trusted_sender(req.json(max_bytes=4096)), caller=req.who)
    return json_response(added.as_json(), 201)


@routes.delete(
    "/inbound/senders/{sender}", roles=ADMINS, status=204, answers=(), refuses=(400,), cli="senders remove"
)
def delete_trusted_sender(req: Incoming, vigil: UseCases, sender: str) -> Response:
    from urllib.parse import unquote

    from chalicelib.schemas.inbound import parse_sender_path

    vigil.distrust_sender(parse_sender_path(unquote(sender)), caller=req.who)
    return Response(body="", status_code=204)
