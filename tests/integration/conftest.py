"""Fixtures for tests against moto: an isolated fake AWS per test, and the stack from infra/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from vigil_local.stack import deploy_template

REGION = "us-east-1"
STAGE = "test"


@dataclass(frozen=True)
class Aws:
    """The fake AWS of one test: a session whose clients all talk to moto's in-process mock."""

    session: boto3.Session
    region: str = REGION

    def client(self, service_name: str) -> Any:
        """A client for the service, in the test region (annotate it with its mypy_boto3 type)."""
        session: Any = self.session  # boto3-stubs types client() per literal service name only
        return session.client(service_name, region_name=self.region)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto's ``mock_aws`` with fake credentials, so nothing can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    with mock_aws():
        yield Aws(session=boto3.Session(region_name=REGION))


@pytest.fixture
def stack(aws: Aws) -> dict[str, str]:
    """The resources of infra/template.yaml for stage ``test``, deployed into moto; its Outputs."""
    return deploy_template(aws.client("cloudformation"), stage=STAGE, s3=aws.client("s3"))
