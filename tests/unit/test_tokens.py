"""Acknowledgment tokens: bound to one delivery, unforgeable without the stack's secret."""

from __future__ import annotations

import pytest

from chalicelib.domain.tokens import AckTarget, InvalidToken, make_ack_token, read_ack_token

SECRET = b"stack-secret"
TARGET = AckTarget(notice_id="ntc_abc", delivery_id="000#sub_1#email-0123456789")


def test_token_reads_back_as_its_delivery() -> None:
    assert read_ack_token(SECRET, make_ack_token(SECRET, TARGET)) == TARGET


def test_token_from_another_secret_is_refused() -> None:
    with pytest.raises(InvalidToken, match="not signed"):
        read_ack_token(SECRET, make_ack_token(b"another-stack", TARGET))


def test_token_moved_to_another_delivery_is_refused() -> None:
    token = make_ack_token(SECRET, TARGET)
    other = make_ack_token(SECRET, AckTarget("ntc_abc", "000#sub_2#email-0123456789"))
    forged = f"{other.split('.')[0]}.{token.split('.')[1]}"
    with pytest.raises(InvalidToken):
        read_ack_token(SECRET, forged)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "!!!.???", "bm90aGluZw.AAAA"])
def test_malformed_tokens_are_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        read_ack_token(SECRET, garbage)


def test_tokens_are_url_safe() -> None:
    token = make_ack_token(SECRET, TARGET)
    assert all(c.isalnum() or c in "-_." for c in token)
