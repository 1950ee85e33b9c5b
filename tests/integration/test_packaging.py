"""The packaged template: what Lambda's event sources need that Chalice does not write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.package import PARTIAL_BATCH, package

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package("prod", tmp_path_factory.mktemp("package"))


def sqs_sources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{name}.{event_name}": event["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event_name, event in resource["Properties"].get("Events", {}).items()
        if event["Type"] == "SQS"
    }


def test_every_sqs_trigger_reports_partial_batch_failures(packaged: Path) -> None:
    sources = sqs_sources(yaml.safe_load(packaged.read_text()))
    assert set(sources) == {
        "OnRouteMessage.OnRouteMessageSqsEventSource",
        "OnSendMessage.OnSendMessageSqsEventSource",
    }
    assert all(props["FunctionResponseTypes"] == [PARTIAL_BATCH] for props in sources.values())


def test_triggers_point_at_the_stage_queues_of_the_template(packaged: Path) -> None:
    template = yaml.safe_load(packaged.read_text())
    queues = {props["Queue"]["Fn::Sub"].rsplit(":", 1)[1] for props in sqs_sources(template).values()}
    assert queues == {"vigil-prod-route", "vigil-prod-send"}
    assert {"RouteQueue", "SendQueue", "NoticesTable"} <= set(template["Resources"])


def test_packaged_template_passes_cfn_lint(packaged: Path) -> None:
    # E2533: cfn-lint marks python3.11 as deprecated; DESIGN fixes python3.11 (see docs/operations.md).
    result = subprocess.run(  # noqa: S603  # our own virtualenv's cfn-lint on our own file
        [str(Path(sys.executable).with_name("cfn-lint")), "--ignore-checks", "E2533", "--", str(packaged)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_is_told_the_inbound_mail_bucket(packaged: Path) -> None:
    template = yaml.safe_load(packaged.read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert functions
    for function in functions:
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["VIGIL_INBOUND_MAIL_BUCKET"] == {"Ref": "InboundMailBucket"}
        assert function["Properties"]["Architectures"] == ["arm64"]
