"""The check every unit test's answers go through (tests/contract.py) refuses what the document does
not say: it must be able to fail for the fixture built on it to mean anything."""

from __future__ import annotations

import json

from tests.contract import ResponseContract

JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
ERROR = json.dumps({"error": "not_found", "message": "no such notice", "details": []}).encode()


def check(method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> list[str]:
    return ResponseContract.from_spec().check(method, path, status, headers, body)


def test_a_documented_answer_with_a_conforming_body_passes() -> None:
    assert check("GET", "/health", 200, JSON, b'{"status": "ok"}') == []
    assert check("GET", "/notices/ntc_1", 404, JSON, ERROR) == []


def test_a_status_the_operation_does_not_document_is_refused() -> None:
    [problem] = check("GET", "/health", 404, JSON, ERROR)
    assert "status 404 is not documented" in problem


def test_a_body_that_breaks_the_documented_schema_is_refused_naming_the_field() -> None:
    [problem] = check("GET", "/health", 200, JSON, b'{"status": "tired"}')
    assert "status" in problem
    assert "'ok' was expected" in problem or "tired" in problem


def test_an_error_answer_without_the_error_shape_is_refused() -> None:
    problems = check("GET", "/notices/ntc_1", 404, JSON, b'{"message": "gone"}')
    assert any("'error' is a required property" in p for p in problems)


def test_a_media_type_the_answer_is_not_documented_in_is_refused() -> None:
    [problem] = check("GET", "/health", 200, HTML, b"<p>ok</p>")
    assert "answered text/html" in problem


def test_a_body_where_the_document_promises_none_is_refused() -> None:
    [problem] = check("DELETE", "/keys/k1", 204, JSON, b"{}")
    assert "documented without a body" in problem


def test_the_most_specific_path_template_is_the_one_checked() -> None:
    contract = ResponseContract.from_spec()
    assert contract.template("/notices/ntc_1/log") == "/notices/{notice_id}/log"
    assert contract.template("/notices/ntc_1") == "/notices/{notice_id}"
    assert contract.template("/notices?type=rollout") == "/notices"
    assert contract.template("/no/such/route") is None


def test_an_unknown_route_must_still_answer_in_the_error_shape() -> None:
    assert check("GET", "/no/such/route", 404, JSON, ERROR) == []
    assert check("GET", "/no/such/route", 404, JSON, b'{"Code": "NotFound"}') != []
