"""Segments of a text: GSM-7 or UCS-2, and how many parts, with exact figures (3GPP TS 23.038)."""

from __future__ import annotations

import pytest

from chalicelib.domain.sms import Encoding, SmsSize, fit_text, fits, size


@pytest.mark.parametrize("letter", ["é", "É", "ñ", "Ñ", "ü", "¿", "¡"])
def test_spanish_letters_of_the_default_alphabet_keep_a_text_gsm7(letter: str) -> None:
    assert size(f"Se{letter}al") == SmsSize(Encoding.GSM7, 5, 1)


@pytest.mark.parametrize("letter", ["á", "í", "ó", "ú", "Á", "Í", "Ó", "Ú"])
def test_one_acute_a_i_o_or_u_makes_the_whole_text_ucs2(letter: str) -> None:
    assert size("x" * 60 + letter) == SmsSize(Encoding.UCS2, 61, 1)


def test_gsm7_holds_160_characters_in_one_segment_and_153_in_each_of_several() -> None:
    assert size("a" * 160) == SmsSize(Encoding.GSM7, 160, 1)
    assert size("a" * 161) == SmsSize(Encoding.GSM7, 161, 2)
    assert size("a" * 306) == SmsSize(Encoding.GSM7, 306, 2)
    assert size("a" * 307) == SmsSize(Encoding.GSM7, 307, 3)


def test_ucs2_holds_70_characters_in_one_segment_and_67_in_each_of_several() -> None:
    assert size("ó" * 70) == SmsSize(Encoding.UCS2, 70, 1)
    assert size("ó" * 71) == SmsSize(Encoding.UCS2, 71, 2)
    assert size("ó" * 134) == SmsSize(Encoding.UCS2, 134, 2)
    assert size("ó" * 135) == SmsSize(Encoding.UCS2, 135, 3)


def test_extension_characters_take_two_septets_never_split_between_segments() -> None:
    assert size("€" * 80) == SmsSize(Encoding.GSM7, 160, 1)
    assert size("€" * 81) == SmsSize(Encoding.GSM7, 162, 2)
    # 152 septets, then a euro that would straddle the 153rd: it starts the second segment.
    assert size("a" * 152 + "€" + "a" * 152) == SmsSize(Encoding.GSM7, 306, 3)
    assert size("a" * 151 + "€" + "a" * 153) == SmsSize(Encoding.GSM7, 306, 2)


def test_a_character_beyond_the_basic_plane_takes_two_units_never_split() -> None:
    assert size("🚨") == SmsSize(Encoding.UCS2, 2, 1)
    assert size("ó" * 66 + "🚨" + "ó" * 66) == SmsSize(Encoding.UCS2, 134, 3)
    assert size("ó" * 65 + "🚨" + "ó" * 67) == SmsSize(Encoding.UCS2, 134, 2)


def test_no_text_is_no_segment() -> None:
    assert size("") == SmsSize(Encoding.GSM7, 0, 0)


def test_fitting_shortens_only_the_middle_and_marks_the_cut() -> None:
    fitted = fit_text("HEAD ", "t" * 400, " TAIL")
    assert fitted == "HEAD " + "t" * (306 - 5 - 5 - 3) + "..." + " TAIL"
    assert size(fitted) == SmsSize(Encoding.GSM7, 306, 2)


def test_fitting_counts_the_encoding_the_middle_brings() -> None:
    fitted = fit_text("HEAD ", "ó" * 400, " TAIL")
    assert fitted == "HEAD " + "ó" * (134 - 5 - 5 - 3) + "..." + " TAIL"
    assert size(fitted) == SmsSize(Encoding.UCS2, 134, 2)


def test_fitting_leaves_a_text_that_fits_as_it_is() -> None:
    assert fit_text("a", "b" * 100, "c") == "a" + "b" * 100 + "c"


def test_a_head_too_long_for_the_tail_loses_the_middle_and_its_end_never_the_tail() -> None:
    fitted = fit_text("h" * 300, "middle", " Reply 123456 to acknowledge.")
    assert fitted == "h" * 277 + " Reply 123456 to acknowledge."
    assert size(fitted) == SmsSize(Encoding.GSM7, 306, 2)


def test_a_tail_too_long_by_itself_is_cut_at_its_end() -> None:
    fitted = fit_text("head", "middle", "t" * 400)
    assert fitted == "t" * 306
    assert fits(fitted)
