"""Plain text out of what a message holds, and small tools for reading spans of it.

HTML becomes plain text (``html_to_text``); control and invisible characters go, line ends are
unified (``clean``); a span is quoted with its context (``snippet``) or blanked out so a later
pattern cannot match inside it (``blank_spans``). Separate because the MIME reader, the forwards
and every finder read text through these, and none of them is about email.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


class _HtmlText(HTMLParser):
    _HIDDEN = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "math"})
    _HIDDEN |= frozenset({"object", "iframe", "select", "option", "textarea"})
    _PARAGRAPH = frozenset({"p", "table", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre"})
    _PARAGRAPH |= frozenset({"ul", "ol", "dl", "address", "center", "form", "section", "article"})
    _LINE = frozenset({"div", "tr", "dt", "dd", "header", "footer", "caption", "fieldset"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._hidden = 0  # an unclosed <head> must not hide the whole message
        elif tag in self._HIDDEN:
            self._hidden += 1
        else:
            self._open(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self._HIDDEN:
            self._open(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.out.append(data if self._pre else _WHITESPACE.sub(" ", data))

    def _open(self, tag: str) -> None:
        if tag == "pre":
            self._pre += 1
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        else:
            self._break(tag)

    def _break(self, tag: str) -> None:
        if tag in self._PARAGRAPH:
            self.out.append("\n\n")
        elif tag in self._LINE:
            self.out.append("\n")


def html_to_text(markup: str) -> str:
    """Readable plain text: tags dropped, scripts and styles with them, entities decoded."""
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.out)
    except Exception:  # HTMLParser on hostile markup; fall back to a blunt strip
        stripped = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", markup, flags=re.IGNORECASE | re.DOTALL)
        text = html.unescape(re.sub(r"<[^>]*>", " ", stripped))
    lines = [line.strip() for line in clean(text).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean(text: str) -> str:
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = (
        text.replace("\r\r\n", "\n")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n")
    )
    return _CONTROL.sub("", text.translate(_INVISIBLE).replace("\xa0", " "))


def one_line(text: str) -> str:
    return " ".join(clean(text).split())


def snippet(text: str, start: int, end: int, width: int = 50) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    if left:
        left = text.find(" ", left, start) + 1 or left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space > 0 else right
    return ("…" if left else "") + text[left:right].strip() + ("…" if right < len(text) else "")


def blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span replaced by spaces, so a later pattern cannot match inside it."""
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], " " * (end - start)]
        last = end
    return "".join([*pieces, text[last:]])
