"""A deploy rehearsal: the runbook's deploy (docs/operations.md) against moto.

``make package STAGE=prod`` builds the template; the code goes to an S3 bucket as ``aws cloudformation
package`` puts it there; the SAM transform that CloudFormation runs on ``Transform:
AWS::Serverless-2016-10-31`` runs here through aws-sam-translator (moto 5.2.5 has no SAM transform);
the stack is created with every parameter the runbook gives. Then every function, table, queue,
topic, secret, alarm, subscription, log group and output is read back through the ordinary APIs.

moto's CloudFormation lacks some types; ``cfn_shims`` creates those in moto's own services (aliases,
the secret, alarms, subscriptions, SES receipt rules). What moto keeps of no resource (a function's
architecture and SnapStart, stage throttling, access logs, bucket and topic policies, the API Gateway
account role) is checked in the transformed template: what CloudFormation itself is given.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.adapters.key_store import DynamoKeyStore
from chalicelib.domain.auth import ApiRole
from chalicelib.services import access
from infra import admin_key
from infra.make_policies import NEEDS, function_name
from infra.package import package
from tests.integration.cfn_shims import missing_types_created
from vigil_local.stack import deploy_template

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"
STAGE = "prod"
ARTIFACT_BUCKET = "vigil-artifacts-123456789012"
# Every parameter the runbook's deploy command gives; the others keep their defaults.
PARAMETERS = {
    "SenderEmail": "alerts@alerts.county.example",
    "AdminEmails": "it-desk@county.example,duty-sergeant@county.example",
    "AlarmEmail": "on-call@county.example",
    "InboundMailDomain": "alerts.county.example",
    "LogRetentionDays": "30",
}
REQUIRED = ("SenderEmail", "AdminEmails", "AlarmEmail")
TABLES = (
    "notices",
    "subscribers",
    "subscriptions",
    "deliveries",
    "ack-log",
    "api-keys",
    "policies",
    "ack-codes",
    "contacts",
    "rate-limits",
    "trusted-senders",
    "facilities",
    "rotations",
)
ENVIRONMENT = {
    "VIGIL_STAGE",
    "VIGIL_LOG_LEVEL",
    "VIGIL_SES_CONFIGURATION_SET",
    "VIGIL_INBOUND_MAIL_BUCKET",
    "VIGIL_DIGEST_BUCKET",
    "VIGIL_RETENTION_DAYS",
    "VIGIL_ACK_SECRET_ARN",
    "VIGIL_SENDER_EMAIL",
    "VIGIL_ADMIN_EMAILS",
    "VIGIL_PUBLIC_URL",
}
# 32 or more characters of a key's alphabet (hex, base64) with no separator: what a generated secret
# looks like. Names and addresses break into shorter runs at their dashes, dots, @ and commas.
SECRET_LOOKING = re.compile(r"[A-Za-z0-9+/=_]{32,}")

samtranslator: Any = importlib.import_module("samtranslator.translator.transform")


class NoManagedPolicies:
    """The SAM transform looks up AWS managed policies only for a function's ``Policies``; Chalice's
    functions name their own roles instead."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """What CloudFormation makes of ``Transform: AWS::Serverless-2016-10-31``."""
    transformed: dict[str, Any] = samtranslator.transform(
        copy.deepcopy(template), {"Stage": STAGE, **parameters}, NoManagedPolicies()
    )
    return transformed


def code_in_s3(template: dict[str, Any], zip_path: Path, s3: Any) -> dict[str, Any]:
    """``aws cloudformation package``: the code to the artifact bucket, each CodeUri pointing at it."""
    key = "vigil/prod/deployment.zip"
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=zip_path.read_bytes())
    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource["Properties"]["CodeUri"] == "./deployment.zip"
            resource["Properties"]["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{key}"
    return packaged


@dataclass(frozen=True)
class Rehearsal:
    session: boto3.Session
    sam: dict[str, Any]  # the packaged template, code in S3
    transformed: dict[str, Any]  # what CloudFormation runs after the SAM transform
    outputs: dict[str, str]
    shimmed: list[str]

    def client(self, service: str) -> Any:
        session: Any = self.session
        return session.client(service, region_name=REGION)

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.transformed["Resources"].items() if r["Type"] == resource_type}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package(STAGE, tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def rehearsal(packaged: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
            env.delenv(name, raising=False)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
            env.setenv(name, "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        with mock_aws(), missing_types_created(env) as shimmed:
            session = boto3.Session(region_name=REGION)
            sam = code_in_s3(
                yaml.safe_load(packaged.read_text()),
                packaged.with_name("deployment.zip"),
                session.client("s3"),
            )
            transformed = sam_transform(sam, PARAMETERS)
            path = tmp_path_factory.mktemp("transformed") / "template.json"
            path.write_text(json.dumps(transformed), encoding="utf-8")
            outputs = deploy_template(
                session.client("cloudformation"), stage=STAGE, parameters=PARAMETERS, template_path=path
            )
            yield Rehearsal(session, sam, transformed, outputs, shimmed)


def _functions(rehearsal: Rehearsal) -> dict[str, dict[str, Any]]:
    lambdas = rehearsal.client("lambda")
    found = {}
    for function in lambdas.list_functions()["Functions"]:
        found[function["FunctionName"]] = function
    return found


EXPECTED_FUNCTIONS = {function_name(STAGE, handler): handler for handler in NEEDS}


# ---------------------------------------------------------------- the package itself


def test_the_local_stage_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"stage local runs on this machine only \(make run\)"):
        package("local", tmp_path)
    assert not list(tmp_path.iterdir())  # refused before anything is built


def test_the_packaged_template_deploys_only_its_own_stage(packaged: Path) -> None:
    stage = yaml.safe_load(packaged.read_text())["Parameters"]["Stage"]
    assert (stage["Default"], stage["AllowedValues"]) == (STAGE, [STAGE])


def test_the_required_parameters_have_no_default(packaged: Path) -> None:
    parameters = yaml.safe_load(packaged.read_text())["Parameters"]
    for name in REQUIRED:
        assert "Default" not in parameters[name], name
        assert parameters[name]["Description"], name
    assert all(p.get("Description") for p in parameters.values())


# ---------------------------------------------------------------- the stack in moto


def test_cloudformation_asks_for_every_required_parameter(rehearsal: Rehearsal) -> None:
    cloudformation = rehearsal.client("cloudformation")
    for missing in REQUIRED:
        given = [{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items() if k != missing]
        with pytest.raises(ClientError, match=f"Missing parameter {missing}"):
            cloudformation.create_stack(
                StackName=f"vigil-prod-without-{missing}",
                TemplateBody=json.dumps(rehearsal.transformed),
                Parameters=[{"ParameterKey": "Stage", "ParameterValue": STAGE}, *given],
            )


def test_the_stack_is_created_with_the_runbooks_parameters(rehearsal: Rehearsal) -> None:
    stack = rehearsal.client("cloudformation").describe_stacks(StackName="vigil-prod")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    given = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert {k: given[k] for k in PARAMETERS} == PARAMETERS
    assert given["Stage"] == STAGE
    # What cfn_shims made (moto has no model of these, or one lacking what the template uses); the rest
    # is moto's own. A type leaves this list when moto gains a model for it.
    assert rehearsal.shimmed == [
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Stage",
        "AWS::CloudWatch::Alarm",
        "AWS::Lambda::Alias",
        "AWS::Lambda::Version",
        "AWS::SES::ReceiptRule",
        "AWS::SES::ReceiptRuleSet",
        "AWS::SNS::Subscription",
        "AWS::SecretsManager::Secret",
    ]


def test_every_function_exists_on_python_3_13_with_its_settings(rehearsal: Rehearsal) -> None:
    functions = _functions(rehearsal)
    secret_arn = rehearsal.client("secretsmanager").describe_secret(SecretId="vigil-prod-link-signing")["ARN"]
    api_id = rehearsal.outputs["RestAPIId"]
    assert set(functions) == set(EXPECTED_FUNCTIONS)
    for name, function in functions.items():
        variables = function["Environment"]["Variables"]
        assert function["Runtime"] == "python3.13", name
        assert set(variables) == ENVIRONMENT, name
        assert variables["VIGIL_STAGE"] == STAGE
        assert variables["VIGIL_ACK_SECRET_ARN"] == secret_arn
        assert variables["VIGIL_SENDER_EMAIL"] == PARAMETERS["SenderEmail"]
        assert variables["VIGIL_ADMIN_EMAILS"] == PARAMETERS["AdminEmails"]
        assert variables["VIGIL_INBOUND_MAIL_BUCKET"] == f"vigil-prod-inbound-mail-{ACCOUNT}"
        assert variables["VIGIL_DIGEST_BUCKET"] == f"vigil-prod-log-digests-{ACCOUNT}"
        assert variables["VIGIL_RETENTION_DAYS"] == "90"
        if EXPECTED_FUNCTIONS[name] == "api_handler":
            assert variables["VIGIL_PUBLIC_URL"] == ""  # taken from each request's host and stage
        else:
            assert variables["VIGIL_PUBLIC_URL"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/api"


def test_no_function_environment_holds_a_secret(rehearsal: Rehearsal) -> None:
    for name, function in _functions(rehearsal).items():
        variables = function["Environment"]["Variables"]
        assert "VIGIL_ACK_SECRET" not in variables, name
        for variable, value in variables.items():
            if variable == "VIGIL_ACK_SECRET_ARN":
                assert value.startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"), value
                continue
            assert not SECRET_LOOKING.search(value), f"{name}: {variable}={value}"


def test_every_function_runs_on_arm64_with_snapstart_behind_its_alias(rehearsal: Rehearsal) -> None:
    """moto's Lambda keeps neither the architecture nor SnapStart: the transformed template shows them."""
    functions = rehearsal.resources("AWS::Lambda::Function")
    versions = rehearsal.resources("AWS::Lambda::Version")
    aliases = rehearsal.resources("AWS::Lambda::Alias")
    assert len(functions) == len(EXPECTED_FUNCTIONS)
    for logical_id, function in functions.items():
        properties = function["Properties"]
        assert properties["Architectures"] == ["arm64"], logical_id
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}, logical_id
        assert f"{logical_id}LogGroup" in function["DependsOn"], logical_id
        [version] = [v for v in versions.values() if v["Properties"]["FunctionName"] == {"Ref": logical_id}]
        alias = aliases[f"{logical_id}Aliaslive"]["Properties"]
        assert alias["Name"] == "live"
        assert alias["FunctionVersion"]["Fn::GetAtt"][0] in versions
        assert version["Properties"]["FunctionName"] == alias["FunctionName"]


def test_every_event_source_invokes_the_published_alias(rehearsal: Rehearsal) -> None:
    lambdas = rehearsal.client("lambda")
    mappings = lambdas.list_event_source_mappings()["EventSourceMappings"]
    assert {m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings} == {
        "vigil-prod-route",
        "vigil-prod-send",
    }
    # moto records a mapping's function without its qualifier: the template shows the alias.
    templated = rehearsal.resources("AWS::Lambda::EventSourceMapping").values()
    assert {m["Properties"]["FunctionName"]["Ref"] for m in templated} == {
        "OnRouteMessageAliaslive",
        "OnSendMessageAliaslive",
    }
    sns = rehearsal.client("sns")
    lambda_subscriptions = [s for s in sns.list_subscriptions()["Subscriptions"] if s["Protocol"] == "lambda"]
    assert {s["TopicArn"].rsplit(":", 1)[1] for s in lambda_subscriptions} == {
        "vigil-prod-sms-inbound",
        "vigil-prod-ses-feedback",
        "vigil-prod-inbound-mail",
    }
    assert all(s["Endpoint"].endswith(":live") for s in lambda_subscriptions)
    rules = {
        rule["Properties"]["ScheduleExpression"]: [t["Arn"] for t in rule["Properties"]["Targets"]]
        for rule in rehearsal.resources("AWS::Events::Rule").values()
    }
    assert rules == {
        "rate(1 minute)": [{"Ref": "OnSweepTickAliaslive"}],
        "rate(1 hour)": [{"Ref": "OnDigestTickAliaslive"}],
    }
    permissions = rehearsal.resources("AWS::Lambda::Permission").values()
    assert all(p["Properties"]["FunctionName"]["Ref"].endswith("Aliaslive") for p in permissions)
    body = rehearsal.resources("AWS::ApiGateway::RestApi")["RestAPI"]["Properties"]["Body"]
    uris = {
        method["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for methods in body["paths"].values()
        for method in methods.values()
    }
    assert uris == {
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${APIHandlerAliaslive}/invocations"
    }


def test_the_send_and_sweep_concurrency_come_from_the_parameters(rehearsal: Rehearsal) -> None:
    functions = rehearsal.resources("AWS::Lambda::Function")
    assert functions["OnSweepTick"]["Properties"]["ReservedConcurrentExecutions"] == {
        "Ref": "SweepReservedConcurrency"
    }
    [send] = [
        m
        for m in rehearsal.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": "OnSendMessageAliaslive"}
    ]
    assert send["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "SendConcurrency"}}
    assert send["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    parameters = rehearsal.transformed["Parameters"]
    assert (parameters["SendConcurrency"]["Default"], parameters["SendConcurrency"]["MinValue"]) == (5, 2)
    assert parameters["SweepReservedConcurrency"]["Default"] == 1


def test_the_api_stage_is_throttled_and_logs_no_token(rehearsal: Rehearsal) -> None:
    [stage] = rehearsal.resources("AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "api"
    assert properties["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ApiThrottleRate"},
            "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurst"},
        }
    ]
    assert properties["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    log_format = properties["AccessLogSetting"]["Format"]
    fields = json.loads(log_format)
    assert fields["route"] == "$context.resourcePath"  # /ack/{token}, never the token itself
    variables = set(re.findall(r"\$context\.[A-Za-z.]+", log_format))
    assert not {"$context.path", "$context.error.message", "$context.authorizer.principalId"} & variables
    assert not [v for v in variables if "header" in v.lower() or "querystring" in v.lower()]
    parameters = rehearsal.transformed["Parameters"]
    assert (parameters["ApiThrottleRate"]["Default"], parameters["ApiThrottleBurst"]["Default"]) == (50, 100)
    api = rehearsal.resources("AWS::ApiGateway::RestApi")["RestAPI"]
    assert api["DependsOn"] == "ApiGatewayAccount"  # logging needs the account's CloudWatch role first
    assert api["Properties"]["Name"] == {"Fn::Sub": "vigil-${Stage}"}
    gateway = rehearsal.client("apigateway")
    assert [a["name"] for a in gateway.get_rest_apis()["items"]] == ["vigil-prod"]
    api_id = rehearsal.outputs["RestAPIId"]
    # One stage: SAM adds a "Stage" stage (unthrottled, unlogged) unless OpenApiVersion is set.
    [deployed] = gateway.get_stages(restApiId=api_id)["item"]
    assert deployed["stageName"] == "api"
    throttling = deployed["methodSettings"]["*/*"]
    assert (throttling["throttlingRateLimit"], throttling["throttlingBurstLimit"]) == (50.0, 100)
    assert deployed["accessLogSettings"]["destinationArn"].endswith(
        ":log-group:/aws/apigateway/vigil-prod-access"
    )


def test_the_tables_are_protected_and_kept(rehearsal: Rehearsal) -> None:
    dynamodb = rehearsal.client("dynamodb")
    assert set(dynamodb.list_tables()["TableNames"]) == {f"vigil-prod-{t}" for t in TABLES}
    for table in TABLES:
        described = dynamodb.describe_table(TableName=f"vigil-prod-{table}")["Table"]
        assert described["DeletionProtectionEnabled"] is True, table
    for logical_id, resource in rehearsal.resources("AWS::DynamoDB::Table").items():
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate", logical_id
        properties = resource["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True}


def test_the_queues_and_topics_exist(rehearsal: Rehearsal) -> None:
    sqs = rehearsal.client("sqs")
    queues = {url.rsplit("/", 1)[1] for url in sqs.list_queues()["QueueUrls"]}
    assert queues == {"vigil-prod-route", "vigil-prod-route-dlq", "vigil-prod-send", "vigil-prod-send-dlq"}
    topics = {t["TopicArn"].rsplit(":", 1)[1] for t in rehearsal.client("sns").list_topics()["Topics"]}
    assert topics == {
        "vigil-prod-sms-inbound",
        "vigil-prod-ses-feedback",
        "vigil-prod-inbound-mail",
        "vigil-prod-alarms",
    }


def test_the_link_signing_secret_is_generated_and_rotates(rehearsal: Rehearsal) -> None:
    """The runbook's rotation: put-secret-value makes the new value AWSCURRENT and the old AWSPREVIOUS."""
    secrets = rehearsal.client("secretsmanager")
    first = secrets.get_secret_value(SecretId="vigil-prod-link-signing")
    assert re.fullmatch(r"[A-Za-z0-9]{64}", first["SecretString"])
    assert first["ARN"] == rehearsal.outputs["LinkSigningSecretArn"]

    password = secrets.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
    secrets.put_secret_value(SecretId="vigil-prod-link-signing", SecretString=password)

    current = secrets.get_secret_value(SecretId="vigil-prod-link-signing", VersionStage="AWSCURRENT")
    previous = secrets.get_secret_value(SecretId="vigil-prod-link-signing", VersionStage="AWSPREVIOUS")
    assert (current["SecretString"], previous["SecretString"]) == (password, first["SecretString"])


def _alarms(rehearsal: Rehearsal) -> dict[str, dict[str, Any]]:
    cloudwatch = rehearsal.client("cloudwatch")
    return {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}


def test_every_alarm_exists_and_notifies_the_alarm_topic(rehearsal: Rehearsal) -> None:
    alarms = _alarms(rehearsal)
    expected = {
        "vigil-prod-route-dlq-not-empty",
        "vigil-prod-send-dlq-not-empty",
        "vigil-prod-route-oldest-message-age",
        "vigil-prod-send-oldest-message-age",
        "vigil-prod-unacknowledged-after-last-step",
        "vigil-prod-sweep-not-running",
        "vigil-prod-digest-not-running",
        "vigil-prod-api-5xx",
    }
    expected |= {f"vigil-prod-{handler}-{metric}" for handler in NEEDS for metric in ("errors", "throttles")}
    assert set(alarms) == expected
    topic = rehearsal.outputs["AlarmTopicArn"]
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [topic], name


def test_every_function_has_an_errors_and_a_throttles_alarm(rehearsal: Rehearsal) -> None:
    alarms = _alarms(rehearsal)
    for name, handler in EXPECTED_FUNCTIONS.items():
        for metric in ("Errors", "Throttles"):
            alarm = alarms[f"vigil-prod-{handler}-{metric.lower()}"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": name}]
            assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1.0)


def test_the_sweep_not_running_for_three_minutes_raises_an_alarm(rehearsal: Rehearsal) -> None:
    alarm = _alarms(rehearsal)["vigil-prod-sweep-not-running"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/Lambda",
        "Invocations",
        "Sum",
    )
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "vigil-prod-on_sweep_tick"}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1.0)
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 3, 3)
    assert alarm["TreatMissingData"] == "breaching"


def test_api_server_errors_raise_an_alarm(rehearsal: Rehearsal) -> None:
    alarm = _alarms(rehearsal)["vigil-prod-api-5xx"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert alarm["Dimensions"] == [
        {"Name": "ApiName", "Value": "vigil-prod"},
        {"Name": "Stage", "Value": "api"},
    ]


def test_the_alarm_email_is_subscribed_to_the_alarm_topic(rehearsal: Rehearsal) -> None:
    sns = rehearsal.client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=rehearsal.outputs["AlarmTopicArn"])[
        "Subscriptions"
    ]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", PARAMETERS["AlarmEmail"])]


def test_every_log_group_keeps_the_stages_retention(rehearsal: Rehearsal) -> None:
    logs = rehearsal.client("logs")
    groups = {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups()["logGroups"]}
    expected = {f"/aws/lambda/{name}" for name in EXPECTED_FUNCTIONS} | {"/aws/apigateway/vigil-prod-access"}
    assert set(groups) == expected
    assert set(groups.values()) == {int(PARAMETERS["LogRetentionDays"])}


def test_inbound_mail_is_received_into_the_bucket_and_announced(rehearsal: Rehearsal) -> None:
    """The runbook's activation step runs too: set-active-receipt-rule-set."""
    ses = rehearsal.client("ses")
    rule = ses.describe_receipt_rule(
        RuleSetName="vigil-prod-inbound", RuleName="vigil-prod-store-forwarded-notices"
    )
    assert rule["Rule"]["Recipients"] == ["notices@alerts.county.example"]
    [action] = rule["Rule"]["Actions"]
    assert action["S3Action"] == {
        "BucketName": f"vigil-prod-inbound-mail-{ACCOUNT}",
        "ObjectKeyPrefix": "ses/",
        "TopicArn": rehearsal.outputs["InboundMailTopicArn"],
    }
    ses.set_active_receipt_rule_set(RuleSetName="vigil-prod-inbound")
    assert ses.describe_active_receipt_rule_set()["Metadata"]["Name"] == "vigil-prod-inbound"
    ses.set_active_receipt_rule_set()  # tearing down: no name, none active (SES keeps the active one)
    assert "Metadata" not in ses.describe_active_receipt_rule_set()
    rule_resource = rehearsal.resources("AWS::SES::ReceiptRule")["InboundMailRule"]
    assert set(rule_resource["DependsOn"]) == {"InboundMailBucketPolicy", "InboundTopicsPolicy"}


def test_every_output_has_a_value(rehearsal: Rehearsal) -> None:
    declared = set(rehearsal.transformed["Outputs"])
    assert set(rehearsal.outputs) == declared
    assert rehearsal.outputs["PublicUrl"] == (
        f"https://{rehearsal.outputs['RestAPIId']}.execute-api.{REGION}.amazonaws.com/api"
    )
    assert rehearsal.outputs["NoticesTableName"] == "vigil-prod-notices"


def test_make_admin_key_writes_the_first_admin_key(
    rehearsal: Rehearsal, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runbook's `make admin-key STAGE=prod`, with the operator's credentials."""
    assert admin_key.main(["--stage", STAGE]) == 0

    plaintext = capsys.readouterr().out.strip().splitlines()[-1]
    keys = DynamoKeyStore("vigil-prod-api-keys", rehearsal.client("dynamodb"))
    assert access.authenticate(f"Bearer {plaintext}", keys=keys).role is ApiRole.ADMIN


def test_make_admin_key_says_when_the_stage_is_not_deployed(
    rehearsal: Rehearsal, capsys: pytest.CaptureFixture[str]
) -> None:
    assert admin_key.main(["--stage", "staging"]) == 1

    assert capsys.readouterr().err == (
        "cannot write to vigil-staging-api-keys in us-east-1: it does not exist: deploy the stage first\n"
    )


def test_the_custom_domain_maps_to_the_api_stage(rehearsal: Rehearsal) -> None:
    """The runbook's custom domain: a certificate, the domain name, the stage at its root."""
    certificate = rehearsal.client("acm").request_certificate(
        DomainName="vigil.county.example", ValidationMethod="DNS"
    )["CertificateArn"]
    gateway = rehearsal.client("apigateway")
    gateway.create_domain_name(
        domainName="vigil.county.example",
        certificateArn=certificate,
        endpointConfiguration={"types": ["EDGE"]},
        securityPolicy="TLS_1_2",
    )

    gateway.create_base_path_mapping(
        domainName="vigil.county.example", restApiId=rehearsal.outputs["RestAPIId"], stage="api"
    )

    [mapping] = gateway.get_base_path_mappings(domainName="vigil.county.example")["items"]
    assert (mapping["restApiId"], mapping["stage"]) == (rehearsal.outputs["RestAPIId"], "api")
