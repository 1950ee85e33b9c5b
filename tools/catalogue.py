"""The message catalogue: every text Vigil shows a person, extracted from the code, and its translations.

    .venv/bin/python -m tools.catalogue           # extract, merge into each language's .po, compile .mo
    .venv/bin/python -m tools.catalogue --check   # exit 1, listing what is missing or stale

Babel reads the English texts from ``chalicelib`` (the calls ``_(…)``, ``_.ctx(context, …)`` and the
marker ``N_(…)``, with any ``# Translators:`` comment above them) and merges them into
``chalicelib/locale/<language>/LC_MESSAGES/vigil.po``: a new text arrives untranslated, a changed one
is marked fuzzy (its old translation kept as a suggestion), a removed one becomes obsolete. The
translator writes the ``.po``; this compiles it into the ``.mo`` the Lambda bundle ships and
``chalicelib.domain.language`` reads (standard library ``gettext``: Babel is a development tool, not a
runtime dependency).

``--check`` (and ``tests/unit/test_catalogue.py``) fails while any language has a text the code no
longer uses or lacks one it does, a text untranslated or fuzzy, a translation naming a ``{value}`` its
English does not have, or a ``.mo`` that is not the compiled ``.po``.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from chalicelib.domain.language import DOMAIN, LOCALE_DIR, Language

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = REPO_ROOT / "chalicelib"
# The names that mark a text for the catalogue (chalicelib/domain/language.py): ``_`` a ``Words``,
# ``ctx`` its method taking a context first, ``N_`` the marker for a text translated where it is used.
KEYWORDS: dict[str, object] = {"_": None, "N_": None, "ctx": ((1, "c"), 2)}
COMMENT_TAGS = ("Translators:",)
_VALUE = re.compile(r"\{(\w+)\}")
HEADER = """\
# {language} words of Vigil's messages and pages (chalicelib/domain/language.py).
# Written here by a translator; the texts are extracted from the code and this file compiled by
# `python -m tools.catalogue`. The legal terms follow docs/glossary.md.
#"""
_LANGUAGES = tuple(lang for lang in Language if lang is not Language.ENGLISH)


def po_path(language: Language) -> Path:
    return LOCALE_DIR / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: Language) -> Path:
    return po_path(language).with_suffix(".mo")


def extract() -> Catalog:
    """The English texts the code uses, each with where it is and its translator comments."""
    template = Catalog(project="Vigil", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(SOURCES),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,  # type: ignore[arg-type]  # Babel's spec type is wider than its annotation
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        template.add(
            message,
            locations=[(f"chalicelib/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def _read(path: Path, language: Language) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language.value, domain=DOMAIN)


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    # No line numbers: a text's place in the file changes with every edit around it, its file rarely.
    write_po(out, catalog, width=100, include_previous=True, include_lineno=False)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def merged(language: Language, template: Catalog) -> Catalog:
    """The language's catalogue with the code's texts merged in (new, changed, obsolete)."""
    path = po_path(language)
    if path.exists():
        catalog = _read(path, language)
    else:
        catalog = Catalog(
            locale=language.value,
            domain=DOMAIN,
            header_comment=HEADER.format(language=language.name.title()),
            project="Vigil",
            version="1",
            copyright_holder="Vigil",
            fuzzy=False,
        )
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False, update_creation_date=False)
    catalog.obsolete.clear()  # removed texts go: version control keeps what they said
    return catalog


def write() -> list[Path]:
    template = extract()
    written = []
    for language in _LANGUAGES:
        catalog = merged(language, template)
        po_path(language).parent.mkdir(parents=True, exist_ok=True)
        po_path(language).write_bytes(_po_bytes(catalog))
        mo_path(language).write_bytes(_mo_bytes(_read(po_path(language), language)))
        written += [po_path(language), mo_path(language)]
    return written


@dataclass(frozen=True, slots=True)
class Problem:
    language: Language
    message: str

    def __str__(self) -> str:
        return f"{self.language}: {self.message}"


def _key(message: Message) -> tuple[str, str | None]:
    return str(message.id), message.context


def _named(message: Message) -> str:
    return f"{message.id!r}" + (f" (context {message.context!r})" if message.context else "")


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def problems() -> Iterator[Problem]:
    """What makes a language's catalogue incomplete or stale (none when it is complete)."""
    template = extract()
    wanted = {_key(m): m for m in template if m.id}
    for language in _LANGUAGES:
        path = po_path(language)
        if not path.exists():
            yield Problem(language, f"no catalogue at {_shown(path)}")
            continue
        catalog = _read(path, language)
        have = {_key(m): m for m in catalog if m.id}
        for key, message in wanted.items():
            if key not in have:
                yield Problem(language, f"missing {_named(message)}: run python -m tools.catalogue")
        for key, message in have.items():
            if key not in wanted:
                yield Problem(language, f"no longer used by the code: {_named(message)}")
                continue
            if not message.string:
                yield Problem(language, f"not translated: {_named(message)}")
            elif message.fuzzy:
                yield Problem(language, f"stale (fuzzy: its English changed): {_named(message)}")
            elif extra := set(_VALUE.findall(str(message.string))) - set(_VALUE.findall(str(message.id))):
                yield Problem(language, f"{_named(message)} names values its English lacks: {sorted(extra)}")
        for message in catalog.obsolete.values():
            yield Problem(language, f"obsolete entry kept: {_named(message)}")
        mo = mo_path(language)
        if not mo.exists() or mo.read_bytes() != _mo_bytes(catalog):
            yield Problem(
                language,
                f"{_shown(mo)} is not the compiled .po: run python -m tools.catalogue",
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="report what is missing or stale; change nothing"
    )
    args = parser.parse_args(argv)
    if args.check:
        found = [str(p) for p in problems()]
        for line in found:
            print(line, file=sys.stderr)  # a command-line tool's report
        return 1 if found else 0
    for path in write():
        print(f"wrote {_shown(path)}")  # a command-line tool's report
    return 0


if __name__ == "__main__":
    sys.exit(main())
