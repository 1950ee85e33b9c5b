"""The pages people read: the acknowledgment page a recipient sees when they follow the link in an
email, the link pages' messages, and the dashboard with its assets."""

from __future__ import annotations

import functools
import hashlib
import html
import json
from importlib import resources

from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.language import DEFAULT_LANGUAGE, Language, words_for
from chalicelib.domain.messages import facts, notice_title, summary_for
from chalicelib.domain.notices import Notice

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}"
    "th{text-align:left;padding-right:1rem;vertical-align:top}button{font-size:1.1rem;padding:.6rem 1.2rem;"
    "background:#0b5394;color:#fff;border:0;border-radius:4px;cursor:pointer}"
    ".done{background:#e6f4ea;border-left:4px solid #137333;padding:.6rem 1rem}"
)


def _head(title: str, language: Language, *, no_referrer: bool = True) -> str:
    referrer = "<meta name='referrer' content='no-referrer'>" if no_referrer else ""
    return (
        f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"{referrer}<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
    )


def ack_page(
    notice: Notice, delivery: Delivery, *, message: str | None = None, language: Language = DEFAULT_LANGUAGE
) -> str:
    """GET shows this and changes nothing (mail scanners follow links); the button POSTs to the
    page's own address (a form without an action), so it works under any base path. In the
    recipient's language, with the particulars their role may see."""
    _ = words_for(language)
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in facts(notice, delivery.role, delivery.subscriber_id, language=language)
    )
    title = notice_title(notice, _)
    summary = html.escape(summary_for(notice, delivery.role, _))
    if message is None:
        button = html.escape(_("I have seen this notice"))
        body = f"<form method='post'><button type='submit'>{button}</button></form>"
    else:
        body = f"<p class='done' role='status'>{html.escape(message)}</p>"
    return (
        _head(_("Vigil: {title}", title=title), language)
        + f"<h1>{html.escape(title)}</h1><p>{summary}</p><table>{rows}</table>{body}</body></html>"
    )


def message_page(title: str, message: str, *, language: Language = DEFAULT_LANGUAGE) -> str:
    """A page that only says something (``title`` and ``message`` already in ``language``)."""
    return (
        _head(title, language, no_referrer=False)
        + f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )


def consent_page(title: str, message: str, *, button: str, language: Language = DEFAULT_LANGUAGE) -> str:
    """A page whose only effect is its button: GET changes nothing, the form POSTs to the page's own
    address. Its texts come already in ``language``."""
    return (
        _head(title, language) + f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
        f"<form method='post'><button type='submit'>{html.escape(button)}</button></form></body></html>"
    )


# The dashboard's own script and styles, and calls to the API on the same origin; nothing else.
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'"
)


# The files the dashboard loads besides itself (GET /dashboard/assets/{name}): its own scripts, shipped
# beside it in chalicelib/dashboard/, and what tools/vendor.py writes into chalicelib/dashboard/vendor/
# (the map's libraries, and its geometry one state a file), listed in that folder's MANIFEST.json.
# name → media type. Only these are served.
_OWN_ASSETS = ("charts.js", "map.js")
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".json": "application/json"}
VENDOR_FOLDER = "vendor"


def _vendored() -> tuple[str, ...]:
    """The vendored files the page may load: scripts and geometry (the licences are not served)."""
    manifest = resources.files("chalicelib.dashboard").joinpath(VENDOR_FOLDER, "MANIFEST.json")
    files: dict[str, object] = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    return tuple(sorted(name for name in files if name.endswith(tuple(_MEDIA_TYPES))))


_VENDORED = _vendored()
DASHBOARD_ASSETS = {name: _MEDIA_TYPES[name[name.rindex(".") :]] for name in (*_OWN_ASSETS, *_VENDORED)}


@functools.cache
def dashboard_asset(name: str) -> str:
    """An asset's text; KeyError for a name that is not one."""
    media = DASHBOARD_ASSETS[name]
    # Text only (scripts, styles, JSON data): a binary file would need API Gateway's binary types.
    assert media.startswith(("text/", "application/json"))
    folder = (VENDOR_FOLDER,) if name in _VENDORED else ()
    return resources.files("chalicelib.dashboard").joinpath(*folder, name).read_text(encoding="utf-8")


@functools.cache
def asset_version(name: str) -> str:
    """A fingerprint of the asset's content: the page names it in the asset's address (``?v=``), so a
    browser may keep each version for good and a new release is fetched at once."""
    return hashlib.sha256(dashboard_asset(name).encode()).hexdigest()[:16]


@functools.cache
def dashboard_page() -> str:
    """index.html, shipped in the package, with each ``{{version:<asset>}}`` replaced by the asset's
    fingerprint, and ``{{vendored-versions}}`` by every vendored file's, as JSON (name → fingerprint):
    the map's script loads those files when the map is first shown, under the same addresses."""
    page = resources.files("chalicelib.dashboard").joinpath("index.html").read_text(encoding="utf-8")
    for name in DASHBOARD_ASSETS:
        page = page.replace("{{version:" + name + "}}", asset_version(name))
    versions = json.dumps({name: asset_version(name) for name in _VENDORED}, separators=(",", ":"))
    return page.replace("{{vendored-versions}}", versions)
