"""The message catalogue is complete: every text the code shows a person has a current Spanish
translation, and the shipped .mo is the compiled .po (tools/catalogue.py). The check itself fails on
each kind of gap."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from chalicelib.domain.language import Language, words_for
from tools import catalogue

SPANISH = Language.SPANISH


def test_every_text_of_the_code_has_a_current_spanish_translation() -> None:
    assert [str(p) for p in catalogue.problems()] == []


def test_the_catalogue_holds_the_texts_of_every_part_that_speaks_to_people() -> None:
    files = {location for message in catalogue.extract() for location, _ in message.locations}
    assert {
        "chalicelib/domain/messages.py",
        "chalicelib/domain/deadlines.py",
        "chalicelib/domain/link_lifetimes.py",
        "chalicelib/entrypoints/links.py",
        "chalicelib/entrypoints/pages.py",
        "chalicelib/services/sms_replies.py",
        "chalicelib/services/subscribers.py",
    } <= files


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the Spanish catalogue that the check reads instead of the real one."""
    po = tmp_path / "vigil.po"
    shutil.copy(catalogue.po_path(SPANISH), po)
    shutil.copy(catalogue.mo_path(SPANISH), tmp_path / "vigil.mo")
    monkeypatch.setattr(catalogue, "po_path", lambda language: po)
    monkeypatch.setattr(catalogue, "mo_path", lambda language: tmp_path / "vigil.mo")
    return po


def edit(po: Path, msgid: str, *, string: str | None = None, fuzzy: bool = False, drop: bool = False) -> None:
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    if drop:
        catalog.delete(msgid)
    else:
        message = catalog[msgid]
        assert message is not None
        if string is not None:
            message.string = string
        if fuzzy:
            message.flags.add("fuzzy")
    with po.open("wb") as handle:
        write_po(handle, catalog, include_lineno=False)
    (po.parent / "vigil.mo").write_bytes(catalogue._mo_bytes(catalogue._read(po, SPANISH)))


def problems() -> list[str]:
    return [str(p) for p in catalogue.problems()]


def test_a_text_without_its_translation_fails_the_check(copy: Path) -> None:
    edit(copy, "I have seen this notice", string="")
    assert problems() == ["es: not translated: 'I have seen this notice'"]


def test_a_translation_whose_english_changed_fails_the_check(copy: Path) -> None:
    edit(copy, "I have seen this notice", fuzzy=True)
    assert problems() == ["es: stale (fuzzy: its English changed): 'I have seen this notice'"]


def test_a_text_the_catalogue_lacks_fails_the_check(copy: Path) -> None:
    edit(copy, "I have seen this notice", drop=True)
    assert problems() == ["es: missing 'I have seen this notice': run python -m tools.catalogue"]


def test_a_translation_naming_a_value_its_english_lacks_fails_the_check(copy: Path) -> None:
    edit(copy, "Vigil: {title}", string="Vigil: {titulo}")
    assert problems() == ["es: 'Vigil: {title}' names values its English lacks: ['titulo']"]


def test_a_compiled_catalogue_older_than_its_po_fails_the_check(copy: Path) -> None:
    (copy.parent / "vigil.mo").write_bytes(b"")
    assert problems() == [
        "es: " + str(copy.parent / "vigil.mo") + " is not the compiled .po: run python -m tools.catalogue"
    ]


def test_a_missing_translation_falls_back_to_the_english_text() -> None:
    assert words_for(SPANISH)("A text no catalogue has") == "A text no catalogue has"


def test_a_language_vigil_does_not_speak_reads_english() -> None:
    assert words_for("fr")("I have seen this notice") == "I have seen this notice"
    assert words_for(None)("I have seen this notice") == "I have seen this notice"
