"""Chat channels: which Slack and Microsoft Teams URLs Vigil posts to, and what it posts there.

A notice is a Slack Block Kit message or a Teams Adaptive Card, carrying what the recipient's role
may see (``messages.facts``, the same redaction as email) in the subscriber's language, with an
"Acknowledge" button that opens the notice's acknowledgment page. Slack's limits
(api.slack.com/reference/block-kit/blocks) are kept here, where the message is made, not left to
Slack to refuse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.language import DEFAULT_LANGUAGE, Language, Words, words_for
from chalicelib.domain.messages import facts, kind_label, notice_title, summary_for
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import ChannelType, Role

# The hosts of each service's posting URLs (https, port 443). Slack: incoming webhooks on
# hooks.slack.com, and on hooks.slack-gov.com for GovSlack workspaces; only their /services/ path
# takes Block Kit (Slack's workflow triggers take variables, not messages). Teams: Workflows' "when a
# Teams webhook request is received" URLs (Power Automate on *.logic.azure.com, and the newer
# *.api.powerplatform.com) and the Office 365 connectors' *.webhook.office.com, all of which take an
# Adaptive Card in a message envelope.
SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
SLACK_PATH = "/services/"
TEAMS_HOST_SUFFIXES = (".logic.azure.com", ".api.powerplatform.com", ".webhook.office.com")

# Block Kit's limits (characters).
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 3000
SLACK_FIELDS_MAX = 10
SLACK_FIELD_MAX = 2000
SLACK_BUTTON_MAX = 75
SLACK_URL_MAX = 3000
SLACK_BLOCKS_MAX = 50

# Every Teams client shows 1.4, and it has every element Vigil uses.
ADAPTIVE_CARD_VERSION = "1.4"
ADAPTIVE_CARD_TYPE = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True, slots=True)
class OutgoingChat:
    """A message to a chat channel: POSTed as JSON to ``url`` (a credential: never logged)."""

    kind: ChannelType
    url: str
    payload: dict[str, Any]


def chat_url_problem(kind: ChannelType, url: str, *, any_host: bool) -> str | None:
    """Why ``url`` cannot be a ``kind`` channel's address, or None. ``any_host`` (the local and test
    stages, whose receivers are on this machine) leaves the host to the private-network guard."""
    if any(ord(ch) <= 0x20 for ch in url):
        return "must not hold spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        return "must not carry credentials"
    if any_host:
        plain = parts.scheme in {"http", "https"} and host
        return None if plain else "must be an absolute http or https URL"
    if parts.scheme != "https" or port not in (None, 443):
        return "must be an https URL on the standard port"
    return _host_problem(kind, host, parts.path)


def _host_problem(kind: ChannelType, host: str, path: str) -> str | None:
    if kind is ChannelType.SLACK:
        known = host in SLACK_HOSTS and path.startswith(SLACK_PATH)
        return None if known else "must be a Slack incoming-webhook URL (https://hooks.slack.com/services/…)"
    if host.endswith(TEAMS_HOST_SUFFIXES):
        return None
    return (
        "must be a Teams Workflows URL (*.logic.azure.com, *.api.powerplatform.com) "
        "or an incoming-webhook URL (*.webhook.office.com)"
    )


def chat_endpoint(url: str) -> str:
    """What names a chat channel where its URL must not be shown: the host, and a fingerprint of the
    whole URL that tells two channels on one host apart."""
    host = (urlsplit(url).hostname or "").lower()
    return f"{host}#{hashlib.sha256(url.encode()).hexdigest()[:12]}"


def render_chat(
    notice: Notice,
    kind: ChannelType,
    *,
    url: str,
    role: Role,
    ack_url: str,
    unsubscribe_url: str | None = None,
    subscriber_id: str | None = None,
    language: Language = DEFAULT_LANGUAGE,
) -> OutgoingChat:
    """The notice as a ``kind`` chat message, redacted for ``role`` exactly as its email is; with
    ``unsubscribe_url``, a link that stops the alerts to this channel (as an email's unsubscribe)."""
    _ = words_for(language)
    shown = facts(notice, role, subscriber_id, language=language)
    title = notice_title(notice, _)
    summary = summary_for(notice, role, _)
    heading = kind_label(notice, _)
    links = _Links(ack_url, _("Acknowledge"), unsubscribe_url, _("Stop these alerts in this channel"))
    if kind is ChannelType.SLACK:
        payload = _slack(heading, title, summary, shown, links=links, _=_)
    else:
        payload = _teams(heading, title, summary, shown, links=links, _=_)
    return OutgoingChat(kind=kind, url=url, payload=payload)


@dataclass(frozen=True, slots=True)
class _Links:
    ack_url: str
    ack_label: str
    unsubscribe_url: str | None
    unsubscribe_label: str


def chat_note(
    kind: ChannelType,
    *,
    url: str,
    text: str,
    language: Language = DEFAULT_LANGUAGE,
    button: str | None = None,
    link: str | None = None,
) -> OutgoingChat:
    """A short message of Vigil's own (a confirmation, a test), with a button to ``link`` if given."""
    if kind is ChannelType.SLACK:
        blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(text, SLACK_TEXT_MAX)}]
        if button and link:
            blocks.append(_slack_button(button, link))
        payload: dict[str, Any] = {"text": _escaped(text, SLACK_TEXT_MAX), "blocks": blocks}
    else:
        body = [_text_block(text)]
        actions = [_open_url(button, link)] if button and link else []
        payload = _card(body, actions, fallback=text, language=language)
    return OutgoingChat(kind=kind, url=url, payload=payload)


# --- Slack ---------------------------------------------------------------------------------------


def _slack(
    heading: str,
    title: str,
    summary: str,
    shown: list[tuple[str, str]],
    *,
    links: _Links,
    _: Words,
) -> dict[str, Any]:
    """Header (the title), the summary, the facts as fields (ten to a section), a context line (what
    the message is; the link that stops the alerts), the button; ``text`` is what notifications and
    old clients show."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, SLACK_HEADER_MAX)}}
    ]
    if summary:
        blocks.append({"type": "section", "text": _mrkdwn(summary, SLACK_TEXT_MAX)})
    fields = [_field(label, value) for label, value in shown]
    room = SLACK_BLOCKS_MAX - len(blocks) - 2  # the context and the actions follow
    for start in range(0, len(fields), SLACK_FIELDS_MAX)[:room]:
        blocks.append({"type": "section", "fields": fields[start : start + SLACK_FIELDS_MAX]})
    context = [_mrkdwn(heading, SLACK_TEXT_MAX)]
    if links.unsubscribe_url:
        label = _escaped(links.unsubscribe_label, SLACK_BUTTON_MAX)
        context.append({"type": "mrkdwn", "text": f"<{_link_target(links.unsubscribe_url)}|{label}>"})
    blocks.append({"type": "context", "elements": context})
    blocks.append(_slack_button(links.ack_label, links.ack_url))
    fallback = _("[Vigil] {prefix}: {title}", prefix=heading, title=title)
    return {"text": _escaped(fallback, SLACK_TEXT_MAX), "blocks": blocks}


def _slack_button(label: str, url: str) -> dict[str, Any]:
    if len(url) > SLACK_URL_MAX:  # a link Vigil made is far shorter: a longer one is a bug, not a cut
        raise ValueError(f"a button's URL is at most {SLACK_URL_MAX} characters")
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "vigil-open",
                "text": {"type": "plain_text", "text": _cut(label, SLACK_BUTTON_MAX)},
                "url": url,
                "style": "primary",
            }
        ],
    }


def _link_target(url: str) -> str:
    """A URL as the target of a mrkdwn link, which ends at ``|`` or ``>``: Vigil's links hold neither."""
    if any(ch in url for ch in "|<> ") or len(url) > SLACK_URL_MAX:
        raise ValueError("a link Vigil made cannot hold |, <, > or spaces, nor pass 3,000 characters")
    return url


def _escape(text: str) -> str:
    """Slack's three control characters in mrkdwn: ``<`` would start a link or a mention
    (``<!channel>``), ``&`` an entity."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escaped(text: str, limit: int) -> str:
    """``text`` escaped, cut to ``limit`` characters (its ellipsis included) without splitting an
    entity: escaping lengthens a text, so the cut is made on the escaped pieces."""
    pieces = [_escape(ch) for ch in text]
    if sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > limit - 1:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + "…"


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _escaped(text, limit)}


def _field(label: str, value: str) -> dict[str, Any]:
    """A fact as a field: its label in bold (Vigil's own words), then the value, cut to fit."""
    head = f"*{_escape(label)}*\n"
    return {"type": "mrkdwn", "text": head + _escaped(value, SLACK_FIELD_MAX - len(head))}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Microsoft Teams -----------------------------------------------------------------------------


def _teams(
    heading: str,
    title: str,
    summary: str,
    shown: list[tuple[str, str]],
    *,
    links: _Links,
    _: Words,
) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        _text_block(heading, isSubtle=True),
        _text_block(title, size="Large", weight="Bolder"),
    ]
    if summary:
        body.append(_text_block(summary))
    body.append({"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in shown]})
    fallback = _("[Vigil] {prefix}: {title}", prefix=heading, title=title)
    actions = [_open_url(links.ack_label, links.ack_url)]
    if links.unsubscribe_url:
        actions.append(_open_url(links.unsubscribe_label, links.unsubscribe_url))
    return _card(body, actions, fallback=fallback, language=_.language)


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _open_url(title: str, url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def _card(
    body: list[dict[str, Any]], actions: list[dict[str, Any]], *, fallback: str, language: Language
) -> dict[str, Any]:
    """The message envelope Workflows and incoming webhooks both take, holding one Adaptive Card."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "lang": str(language),
        "fallbackText": fallback,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD_TYPE, "contentUrl": None, "content": card}],
    }
