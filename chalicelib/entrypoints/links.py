"""The signed links in messages: acknowledge a notice, confirm an address, unsubscribe.

No key: the token in the path is the credential. Opening a link (GET) shows a page and changes
nothing, because mail security scanners follow every link in a message; the page's button POSTs.
A link that is not valid answers a page saying so (404); too many invalid links from one source
answer 429 for a while (``services.guessing``).
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Response

from chalicelib.domain.acknowledgments import AckOutcome, AckVia
from chalicelib.domain.link_lifetimes import LinkExpired
from chalicelib.domain.tokens import LinkRefused
from chalicelib.entrypoints.contract import FORM_OR_JSON, HTML, JSON, Incoming, Routes
from chalicelib.entrypoints.http import error_body, html_response, json_response
from chalicelib.entrypoints.pages import ack_page, consent_page, message_page
from chalicelib.usecases import UseCases

routes = Routes("links")

ACK_MESSAGES = {
    AckOutcome.ACKNOWLEDGED: "Thank you: your acknowledgment is recorded.",
    AckOutcome.ALREADY: "You had already acknowledged this notice. Nothing more is needed.",
    AckOutcome.LATE: "Recorded. The notice was already closed; your acknowledgment is kept as late.",
}
NOT_VALID = {
    "ack": "This acknowledgment link is not valid.",
    "verify": "This confirmation link is not valid.",
    "unsubscribe": "This unsubscribe link is not valid.",
}
LINK = {"refuses": (410, 429), "answers": (HTML,)}
LINK_POST = {**LINK, "content_types": FORM_OR_JSON}


def _page(kind: str, render: Callable[[], str]) -> Response:
    """The page ``render`` makes, or the page that says the link is not valid, or has expired and
    what to do instead."""
    try:
        return html_response(render())
    except LinkRefused:
        return html_response(message_page("Link not valid", NOT_VALID[kind]), 404)
    except LinkExpired as expired:
        return html_response(message_page("Link expired", expired.advice), 410)


@routes.get("/ack/{token}", **LINK)
def show_ack(req: Incoming, vigil: UseCases, token: str) -> Response:
    def render() -> str:
        notice, delivery = vigil.open_ack(token, source=req.source_ip)
        return ack_page(notice, delivery)

    return _page("ack", render)


@routes.post("/ack/{token}", refuses=(410, 429), answers=(JSON, HTML), content_types=FORM_OR_JSON)
def post_ack(req: Incoming, vigil: UseCases, token: str) -> Response:
    """From the page's button (HTML answer), a webhook subscriber's system posting the payload's
    ack_url (``?via=webhook``), or a script posting the link (JSON answers)."""
    if req.wants_html:
        via = AckVia.LINK
    else:
        via = AckVia.WEBHOOK if req.query("via") == "webhook" else AckVia.LINK_JSON
    if req.wants_html:

        def render() -> str:
            result = vigil.acknowledge(token, via=via, source=req.source_ip)
            return ack_page(result.notice, result.delivery, message=ACK_MESSAGES[result.outcome])

        return _page("ack", render)
    try:
        return json_response(vigil.acknowledge(token, via=via, source=req.source_ip).as_json())
    except LinkRefused:
        return json_response(error_body("not_found", "this acknowledgment link is not valid"), 404)
    except LinkExpired as expired:
        return json_response(error_body("gone", expired.advice), 410)


@routes.get("/verify/{token}", **LINK)
def show_verify(req: Incoming, vigil: UseCases, token: str) -> Response:
    def render() -> str:
        subscriber = vigil.open_verify(token, source=req.source_ip)
        return consent_page(
            f"Confirm alerts for {subscriber.name}",
            "Confirm that this address is yours and that you want Vigil's alerts at it.",
            button="Confirm this address",
        )

    return _page("verify", render)


@routes.post("/verify/{token}", **LINK_POST)
def post_verify(req: Incoming, vigil: UseCases, token: str) -> Response:
    def render() -> str:
        vigil.confirm_address(token, source=req.source_ip)
        return message_page("Confirmed", "Thank you: this address will receive Vigil's alerts.")

    return _page("verify", render)


@routes.get("/unsubscribe/{token}", **LINK)
def show_unsubscribe(req: Incoming, vigil: UseCases, token: str) -> Response:
    def render() -> str:
        vigil.open_unsubscribe(token, source=req.source_ip)
        return consent_page(
            "Stop Vigil alerts to this address",
            "You will no longer receive Vigil's alerts by email at this address. If your office requires "
            "you to acknowledge notices, its administrators will be told so they can reach you another way.",
            button="Unsubscribe",
        )

    return _page("unsubscribe", render)


@routes.post("/unsubscribe/{token}", **LINK_POST)
def post_unsubscribe(req: Incoming, vigil: UseCases, token: str) -> Response:
    """RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" here, without a visit."""

    def render() -> str:
        vigil.unsubscribe(token, source=req.source_ip)
        return message_page("Unsubscribed", "This address will receive no more alerts from Vigil.")

    return _page("unsubscribe", render)
