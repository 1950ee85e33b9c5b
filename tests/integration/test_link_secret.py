"""The link-signing secret kept by Secrets Manager (moto): read once and kept, rotated without
breaking links already sent, refused when too short, an outage when it cannot be read."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chalicelib.adapters.secrets import CACHE_SECONDS, SecretsManagerSigningKeys
from chalicelib.domain.tokens import AckTarget, WeakSecret, make_ack_token, read_ack_token
from chalicelib.ports import StoreUnavailable
from tests.integration.conftest import Aws

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

pytestmark = pytest.mark.integration

FIRST, SECOND = "f" * 64, "s" * 64
TARGET = AckTarget("ntc_1", "000#sub_1#email-1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def secret(aws: Aws, value: str = FIRST) -> tuple[SecretsManagerClient, str]:
    client: SecretsManagerClient = aws.client("secretsmanager")
    arn = client.create_secret(Name="vigil-test-link-signing", SecretString=value)["ARN"]
    return client, arn


def test_links_are_signed_with_the_current_secret_and_nothing_older_before_a_rotation(aws: Aws) -> None:
    client, arn = secret(aws)
    keys = SecretsManagerSigningKeys(arn, client).keys()
    assert keys.current == FIRST.encode()
    assert keys.previous == ()


def test_the_secret_is_read_once_and_kept_until_the_cache_runs_out(aws: Aws) -> None:
    client, arn = secret(aws)
    clock = Clock()
    source = SecretsManagerSigningKeys(arn, client, clock=clock)
    source.keys()
    client.put_secret_value(SecretId=arn, SecretString=SECOND)
    assert source.keys().current == FIRST.encode()  # kept: no call per link
    clock.now += CACHE_SECONDS
    assert source.keys().current == SECOND.encode()


def test_after_a_rotation_links_signed_before_it_still_acknowledge(aws: Aws) -> None:
    client, arn = secret(aws)
    sent_before = make_ack_token(FIRST.encode(), TARGET)
    client.put_secret_value(SecretId=arn, SecretString=SECOND)
    keys = SecretsManagerSigningKeys(arn, client).keys()
    assert keys.current == SECOND.encode()
    assert keys.previous == (FIRST.encode(),)
    assert read_ack_token(keys.accepted, sent_before) == TARGET


def test_a_secret_under_32_bytes_is_refused(aws: Aws) -> None:
    client, arn = secret(aws, "too short")
    with pytest.raises(WeakSecret):
        SecretsManagerSigningKeys(arn, client).keys()


def test_a_secret_that_cannot_be_read_is_an_outage_not_a_crash(aws: Aws) -> None:
    client, _ = secret(aws)
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vigil-test-nothing-AbCdEf"
    with pytest.raises(StoreUnavailable):
        SecretsManagerSigningKeys(missing, client).keys()
