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
from chalicelib.domain.language import DEFAULT_LANGUAGE, N_, preferred_language, words_for
from chalicelib.domain.link_lifetimes import LinkExpired
from chalicelib.domain.tokens import LinkRefused
from chalicelib.entrypoints.contract import FORM_OR_JSON, HTML, JSON, Incoming, Routes
from chalicelib.entrypoints.http import error_body, html_response, json_response
from chalicelib.entrypoints.pages import ack_page, consent_page, message_page
from chalicelib.usecases import UseCases

routes = Routes("links")

# The pages' texts, in English; each page speaks its reader's language (``_words``).
ACK_MESSAGES = {
    AckOutcome.ACKNOWLEDGED: N_("Thank you: your acknowledgment is recorded."),
    AckOutcome.ALREADY: N_("You had already acknowledged this notice. Nothing more is needed."),
    AckOutcome.LATE: N_("Recorded. The notice was already closed; your acknowledgment is kept as late."),
}
NOT_VALID = {
    "ack": N_("This acknowledgment link is not valid."),
    "verify": N_("This confirmation link is not valid."),
    "unsubscribe": N_("This unsubscribe link is not valid."),
}
LINK = {"refuses": (410, 429), "answers": (HTML,)}
LINK_POST = {**LINK, "content_types": FORM_OR_JSON}


def _page(req: Incoming, kind: str, render: Callable[[], str]) -> Response:
    """The page ``render`` makes, or the page that says the link is not valid, or has expired and
    what to do instead: in the language of the link's owner, or, when nobody is known behind it, the
    one the browser prefers (``Accept-Language``)."""
    try:
        return html_response(render())
    except LinkRefused:
        language = preferred_language(req.header("accept-language"))
        _ = words_for(language)
        return html_response(message_page(_("Link not valid"), _(NOT_VALID[kind]), language=language), 404)
    except LinkExpired as expired:
        language = expired.language or preferred_language(req.header("accept-language"))
        _ = words_for(language)
        return html_response(
            message_page(_("Link expired"), expired.advice(language), language=language), 410
        )


@routes.get("/ack/{token}", **LINK)
def show_ack(req: Incoming, vigil: UseCases, token: str) -> Response:
    def render() -> str:
        notice, delivery, language = vigil.open_ack(token, source=req.source_ip)
        return ack_page(notice, delivery, language=language)

    return _page(req, "ack", render)


@routes.post("/ack/{token}", refuses=(410, 429), answers=(JSON, HTML), content_types=FORM_OR_JSON)
def post_ack(req: Incoming, vigil: UseCases, token: str) -> Response:
    """From the page's button (HTML answer), a webhook subscriber's system posting the payload's
    ack_url (``?via=webhook``), or a script posting the link (JSON answers, in English like every
    answer of the API)."""
    if req.wants_html:
        via = AckVia.LINK
    else:
        via = AckVia.WEBHOOK if req.query("via") == "webhook" else AckVia.LINK_JSON
    if req.wants_html:

        def render() -> str:
            result = vigil.acknowledge(token, via=via, source=req.source_ip)
            said = words_for(result.language)(ACK_MESSAGES[result.outcome])
            return ack_page(result.notice, result.delivery, message=said, language=result.language)

        return _page(req, "ack", render)
    try:
        return json_response(vigil.acknowledge(token, via=via, source=req.source_ip).as_json())
    except LinkRefused:
        return json_response(error_body("not_found", "this acknowledgment link is not valid"), 404)
    except LinkExpired as expired:
        return json_response(error_body("gone", expired.advice(DEFAULT_LANGUAGE)), 410)


@routes.get("/verify/{token}", **LINK)
def show_verify(req: Incoming, vigil: UseCases, token: str) -> Response:
    def render() -> str:
        subscriber = vigil.open_verify(token, source=req.source_ip)
        _ = words_for(subscriber.language)
        return consent_page(
            _("Confirm alerts for {name}", name=subscriber.name),
            _("Confirm that this address is yours and that you want Vigil's alerts at it."),
            button=_("Confirm this address"),
            language=subscriber.language,
        )

    return _page(req, "verify", render)


@routes.post("/verify/{token}", **LINK_POST)
def post_verify(req: Incoming, vigil: UseCases, token: str) -> Response:
    def render() -> str:
        language = vigil.confirm_address(token, source=req.source_ip)
        _ = words_for(language)
        return message_page(
            _("Confirmed"), _("Thank you: this address will receive Vigil's alerts."), language=language
        )

    return _page(req, "verify", render)


@routes.get("/unsubscribe/{token}", **LINK)
def show_unsubscribe(req: Incoming, vigil: UseCases, token: str) -> Response:
    def render() -> str:
        language = vigil.open_unsubscribe(token, source=req.source_ip)
        _ = words_for(language)
        return consent_page(
            _("Stop Vigil alerts to this address"),
            _(
                "You will no longer receive Vigil's alerts by email at this address. If your office "
                "requires you to acknowledge notices, its administrators will be told so they can reach "
                "you another way."
            ),
            button=_("Unsubscribe"),
            language=language,
        )

    return _page(req, "unsubscribe", render)


@routes.post("/unsubscribe/{token}", **LINK_POST)
def post_unsubscribe(req: Incoming, vigil: UseCases, token: str) -> Response:
    """RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" here, without a visit."""

    def render() -> str:
        language = vigil.unsubscribe(token, source=req.source_ip)
        _ = words_for(language)
        return message_page(
            _("Unsubscribed"), _("This address will receive no more alerts from Vigil."), language=language
        )

    return _page(req, "unsubscribe", render)
