"""The scrubbing processor: personal data never reaches a log line."""

from __future__ import annotations

import json

import pytest
import structlog

from chalicelib.logs import REDACTED, configure, metric, scrub_personal_data


def scrub(**fields: object) -> dict[str, object]:
    return dict(scrub_personal_data(None, "info", dict(fields)))


def test_personal_keys_are_masked_whole() -> None:
    out = scrub(
        subject={"name": "Test Person"}, date_of_birth="1990-01-01", a_number="A012345678", phone="+1860"
    )
    assert out == {"subject": REDACTED, "date_of_birth": REDACTED, "a_number": REDACTED, "phone": REDACTED}


def test_values_that_look_like_contacts_or_a_numbers_are_masked_anywhere() -> None:
    out = scrub(reason="bounce for adviser@example.gov from +18605550100 about A-012-345-678")
    assert out["reason"] == f"bounce for {REDACTED} from {REDACTED} about {REDACTED}"


def test_nested_personal_data_is_masked() -> None:
    out = scrub(event={"type": "detainer", "subject": {"name": "X"}, "notes": ["call +18605550100"]})
    assert out["event"] == {"type": "detainer", "subject": REDACTED, "notes": [f"call {REDACTED}"]}


def test_ordinary_fields_pass_through() -> None:
    out = scrub(notice_id="ntc_1", recipients=3, jurisdiction_id="us-ct/town/new-haven")
    assert out == {"notice_id": "ntc_1", "recipients": 3, "jurisdiction_id": "us-ct/town/new-haven"}


def test_configured_logger_writes_json_lines_without_personal_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(json=True)
    structlog.get_logger().info(
        "delivery.failed", notice_id="ntc_1", to="mayor@example.gov", a_number="A012345678"
    )
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "delivery.failed"
    assert line["notice_id"] == "ntc_1"
    assert "mayor@example.gov" not in json.dumps(line)
    assert "A012345678" not in json.dumps(line)


def test_metrics_are_log_lines_in_the_embedded_metric_format(capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=True)
    metric("NoticesPastLastStep", 2, stage="prod", at_ms=1_700_000_000_000)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["NoticesPastLastStep"] == 2
    assert line["Stage"] == "prod"
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive == {
        "Namespace": "Vigil",
        "Dimensions": [["Stage"]],
        "Metrics": [{"Name": "NoticesPastLastStep", "Unit": "Count"}],
    }
