"""What a stage may run with: a deployed function refuses the local stack's defaults, naming what
to set; a link-signing secret is long enough or refused; links point where the public URL says."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.config import LOCAL_PUBLIC_URL, Settings, SettingsError
from chalicelib.domain.tokens import AckTarget, SigningKeys, WeakSecret, make_ack_token, read_ack_token
from chalicelib.entrypoints.contract import request_public_url
from tests.fakes import FakeWorld

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vigil-prod-link-signing-AbCdEf"
DEPLOYED: Mapping[str, str] = {
    "AWS_LAMBDA_FUNCTION_NAME": "vigil-prod-api_handler",
    "VIGIL_STAGE": "prod",
    "VIGIL_ACK_SECRET_ARN": ARN,
    "VIGIL_SENDER_EMAIL": "alerts@vigil.ct.gov",
    "VIGIL_ADMIN_EMAILS": "vigil-admins@ct.gov",
}


def refusal(env: Mapping[str, str]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    return str(raised.value)


def test_a_deployed_function_with_its_parameters_set_starts() -> None:
    settings = Settings.from_env(DEPLOYED)
    assert settings.ack_secret is None
    assert settings.ack_secret_arn == ARN
    assert settings.public_base_url is None  # the API takes it from each request


def test_a_deployed_function_refuses_the_local_sender_naming_the_parameter() -> None:
    assert "SenderEmail" in refusal({**DEPLOYED, "VIGIL_SENDER_EMAIL": "alerts@vigil.example.gov"})
    without = {k: v for k, v in DEPLOYED.items() if k != "VIGIL_SENDER_EMAIL"}
    assert "SenderEmail" in refusal(without)


def test_a_deployed_function_refuses_to_run_with_no_admin_to_tell() -> None:
    assert "AdminEmails" in refusal({**DEPLOYED, "VIGIL_ADMIN_EMAILS": " , "})


def test_a_deployed_function_refuses_a_secret_in_its_environment() -> None:
    message = refusal({**DEPLOYED, "VIGIL_ACK_SECRET": "a" * 64})
    assert "VIGIL_ACK_SECRET must not be set" in message


def test_a_deployed_function_needs_the_secret_kept_by_aws() -> None:
    without = {k: v for k, v in DEPLOYED.items() if k != "VIGIL_ACK_SECRET_ARN"}
    assert "VIGIL_ACK_SECRET_ARN" in refusal(without)


def test_a_deployed_function_refuses_links_to_the_machine_it_runs_on() -> None:
    assert "PublicUrl" in refusal({**DEPLOYED, "VIGIL_PUBLIC_URL": "http://127.0.0.1:8000"})


def test_a_local_stage_cannot_run_in_lambda() -> None:
    assert "this machine only" in refusal({**DEPLOYED, "VIGIL_STAGE": "local"})


def test_a_secret_under_32_bytes_is_refused() -> None:
    assert "at least 32 bytes" in refusal({"VIGIL_STAGE": "test", "VIGIL_ACK_SECRET": "x" * 31})
    assert Settings.from_env({"VIGIL_STAGE": "test", "VIGIL_ACK_SECRET": "x" * 32}).ack_secret == b"x" * 32
    with pytest.raises(WeakSecret):
        SigningKeys.of(b"x" * 32, (b"short",))


def test_outside_aws_a_deployed_stage_name_still_needs_a_secret() -> None:
    assert "VIGIL_ACK_SECRET_ARN" in refusal({"VIGIL_STAGE": "dev"})


def test_the_local_stage_has_working_defaults() -> None:
    settings = Settings.from_env({"VIGIL_STAGE": "local"})
    assert settings.public_base_url == LOCAL_PUBLIC_URL
    assert settings.ack_secret is not None
    assert len(settings.ack_secret) >= 32


def test_a_link_signed_with_the_previous_secret_is_still_accepted_after_a_rotation() -> None:
    old, new = b"o" * 32, b"n" * 32
    target = AckTarget("ntc_1", "000#sub_1#email-1")
    token = make_ack_token(old, target)
    assert read_ack_token(SigningKeys.of(new, (old,)).accepted, token) == target


def api_gateway_request(context: dict[str, str]) -> Request:
    return Request(
        {
            "requestContext": {"httpMethod": "GET", "resourcePath": "/health", **context},
            "headers": {},
            "pathParameters": {},
            "multiValueQueryStringParameters": None,
            "stageVariables": {},
            "body": None,
        }
    )


def test_a_request_to_api_gateway_gives_the_address_links_point_to() -> None:
    context = {"domainName": "abc123.execute-api.us-east-1.amazonaws.com", "stage": "api"}
    assert (
        request_public_url(api_gateway_request(context))
        == "https://abc123.execute-api.us-east-1.amazonaws.com/api"
    )
    assert request_public_url(api_gateway_request({})) is None  # the local server: the configured URL
    custom = {"domainName": "alerts.example.gov", "stage": "api"}
    assert request_public_url(api_gateway_request(custom)) == "https://alerts.example.gov"


def test_links_point_at_the_request_when_the_stage_has_no_public_url(world: FakeWorld) -> None:
    deps = world.deps(
        Settings.from_env({**DEPLOYED, "AWS_LAMBDA_FUNCTION_NAME": "x"} | {"VIGIL_ACK_SECRET_ARN": ARN})
    )
    deps.signing = _Fixed()
    token = bootstrap.REQUEST_PUBLIC_URL.set("https://abc123.execute-api.us-east-1.amazonaws.com/api")
    try:
        link = deps.ack(AckTarget("ntc_1", "000#sub_1#email-1"))
    finally:
        bootstrap.REQUEST_PUBLIC_URL.reset(token)
    assert link.startswith("https://abc123.execute-api.us-east-1.amazonaws.com/api/ack/")
    with pytest.raises(SettingsError, match="PublicUrl"):
        deps.ack(AckTarget("ntc_1", "000#sub_1#email-1"))


class _Fixed:
    def keys(self) -> SigningKeys:
        return SigningKeys.of(b"k" * 32)
