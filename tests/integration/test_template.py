"""infra/template.yaml: what moto builds from it, and what only the template itself can show."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from chalicelib.domain.deliveries import attempts_allowed
from chalicelib.domain.subscribers import ChannelType
from tests.integration.conftest import REGION, STAGE, Aws
from vigil_local.stack import TEMPLATE_PATH, deploy_template, load_template, stack_name

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

pytestmark = pytest.mark.integration

KeySchema = list[tuple[str, str, str]]  # (attribute, type, HASH|RANGE)


@dataclass(frozen=True)
class TableSpec:
    keys: KeySchema
    indexes: dict[str, tuple[KeySchema, str]] = field(default_factory=dict)  # name: (keys, projection)


TABLES: dict[str, TableSpec] = {
    "notices": TableSpec(
        keys=[("notice_id", "S", "HASH")],
        indexes={
            "open-by-due": ([("open_shard", "S", "HASH"), ("next_step_at", "S", "RANGE")], "ALL"),
            "by-type-received": ([("type", "S", "HASH"), ("received_at", "S", "RANGE")], "ALL"),
            "personal-data-due": (
                [("retention_shard", "S", "HASH"), ("personal_data_due_at", "S", "RANGE")],
                "KEYS_ONLY",
            ),
        },
    ),
    "subscribers": TableSpec(keys=[("subscriber_id", "S", "HASH")]),
    "subscriptions": TableSpec(
        keys=[("jurisdiction_id", "S", "HASH"), ("entry_key", "S", "RANGE")],
        indexes={
            "by-subscriber": ([("subscriber_id", "S", "HASH"), ("entry_key", "S", "RANGE")], "KEYS_ONLY")
        },
    ),
    "deliveries": TableSpec(keys=[("notice_id", "S", "HASH"), ("delivery_id", "S", "RANGE")]),
    "ack-log": TableSpec(keys=[("notice_id", "S", "HASH"), ("seq", "N", "RANGE")]),
    "api-keys": TableSpec(keys=[("key_id", "S", "HASH")]),
    "policies": TableSpec(keys=[("event_type", "S", "HASH")]),
    "ack-codes": TableSpec(keys=[("phone", "S", "HASH"), ("code", "S", "RANGE")]),
    "contacts": TableSpec(keys=[("address", "S", "HASH")]),
    "rate-limits": TableSpec(keys=[("bucket", "S", "HASH")]),
    "trusted-senders": TableSpec(keys=[("sender", "S", "HASH")]),
    "facilities": TableSpec(keys=[("facility_id", "S", "HASH")]),
    "rotations": TableSpec(keys=[("rotation_id", "S", "HASH")]),
}
WORK_QUEUES = {"route": "route-dlq", "send": "send-dlq"}
# Receives before a work queue dead-letters a message: the route queue's own, and the send queue's
# (the webhook schedule's attempts and one to spare: each delivery's schedule ends before it).
MAX_RECEIVES = {"route": 5, "send": attempts_allowed(ChannelType.WEBHOOK) + 1}
FOURTEEN_DAYS = 14 * 24 * 60 * 60
TOPICS = {
    "SmsInboundTopicArn": "sms-inbound",
    "SesFeedbackTopicArn": "ses-feedback",
    "InboundMailTopicArn": "inbound-mail",
    "AlarmTopicArn": "alarms",
}
NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::SES::ConfigurationSet": "Name",
}


def _name(short: str, stage: str = STAGE) -> str:
    return f"vigil-{stage}-{short}"


def _resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def _queue_attributes(sqs: SQSClient, queue_name: str) -> dict[str, str]:
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {str(name): value for name, value in attributes.items()}


# ---------------------------------------------------------------- what moto builds


@pytest.mark.parametrize("short_name", sorted(TABLES))
def test_table_exists_with_its_keys_and_indexes(aws: Aws, stack: dict[str, str], short_name: str) -> None:
    dynamodb: DynamoDBClient = aws.client("dynamodb")
    spec = TABLES[short_name]

    table = dynamodb.describe_table(TableName=_name(short_name))["Table"]

    attribute_types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    keys = [
        (k["AttributeName"], attribute_types[k["AttributeName"]], k["KeyType"]) for k in table["KeySchema"]
    ]
    assert keys == spec.keys
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {
        index["IndexName"]: (
            [
                (k["AttributeName"], attribute_types[k["AttributeName"]], k["KeyType"])
                for k in index["KeySchema"]
            ],
            index["Projection"]["ProjectionType"],
        )
        for index in table.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == spec.indexes
    assert not table.get("LocalSecondaryIndexes")


def test_stack_creates_exactly_the_expected_tables(aws: Aws, stack: dict[str, str]) -> None:
    dynamodb: DynamoDBClient = aws.client("dynamodb")

    assert set(dynamodb.list_tables()["TableNames"]) == {_name(short) for short in TABLES}


@pytest.mark.parametrize(("queue", "dead_letter_queue"), sorted(WORK_QUEUES.items()))
def test_work_queue_redrives_to_its_own_dead_letter_queue(
    aws: Aws, stack: dict[str, str], queue: str, dead_letter_queue: str
) -> None:
    sqs: SQSClient = aws.client("sqs")
    dlq_arn = _queue_attributes(sqs, _name(dead_letter_queue))["QueueArn"]

    attributes = _queue_attributes(sqs, _name(queue))

    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == MAX_RECEIVES[queue]
    assert attributes["VisibilityTimeout"] == "360"
    assert attributes["SqsManagedSseEnabled"] == "true"


@pytest.mark.parametrize("dead_letter_queue", sorted(WORK_QUEUES.values()))
def test_dead_letter_queue_keeps_messages_fourteen_days(
    aws: Aws, stack: dict[str, str], dead_letter_queue: str
) -> None:
    sqs: SQSClient = aws.client("sqs")

    attributes = _queue_attributes(sqs, _name(dead_letter_queue))

    assert attributes["MessageRetentionPeriod"] == str(FOURTEEN_DAYS)
    assert "RedrivePolicy" not in attributes
    assert attributes["SqsManagedSseEnabled"] == "true"


def test_outputs_name_every_resource(aws: Aws, stack: dict[str, str]) -> None:
    sqs: SQSClient = aws.client("sqs")
    sns: SNSClient = aws.client("sns")
    s3: S3Client = aws.client("s3")
    camel = {short: "".join(part.title() for part in short.split("-")) for short in TABLES}
    queue_ids = {"route": "RouteQueue", "route-dlq": "RouteDeadLetterQueue", "send": "SendQueue"}
    queue_ids["send-dlq"] = "SendDeadLetterQueue"

    for short, prefix in camel.items():
        assert stack[f"{prefix}TableName"] == _name(short)
    for short, logical_id in queue_ids.items():
        assert stack[f"{logical_id}Name"] == _name(short)
        assert stack[f"{logical_id}Url"] == sqs.get_queue_url(QueueName=_name(short))["QueueUrl"]
        assert stack[f"{logical_id}Arn"] == _queue_attributes(sqs, _name(short))["QueueArn"]
    topic_arns = {topic["TopicArn"] for topic in sns.list_topics()["Topics"]}
    for output, short in TOPICS.items():
        assert stack[output].endswith(f":{_name(short)}")
        assert stack[output] in topic_arns
    bucket = stack["InboundMailBucketName"]
    assert bucket == f"{_name('inbound-mail')}-123456789012"
    s3.head_bucket(Bucket=bucket)
    digests = stack["LogDigestBucketName"]
    assert digests == f"{_name('log-digests')}-123456789012"
    s3.head_bucket(Bucket=digests)
    assert len(stack) == len(TABLES) + 3 * len(queue_ids) + len(TOPICS) + 2


def test_parameters_override_the_defaults(aws: Aws) -> None:
    sqs: SQSClient = aws.client("sqs")

    outputs = deploy_template(
        aws.client("cloudformation"),
        stage="other",
        parameters={
            "MaxReceiveCount": "2",
            "SendMaxReceiveCount": "3",
            "RouteVisibilityTimeout": "30",
            "SendVisibilityTimeout": "45",
        },
    )

    route = _queue_attributes(sqs, outputs["RouteQueueName"])
    send = _queue_attributes(sqs, outputs["SendQueueName"])
    assert outputs["RouteQueueName"] == "vigil-other-route"
    assert (route["VisibilityTimeout"], json.loads(route["RedrivePolicy"])["maxReceiveCount"]) == ("30", 2)
    assert (send["VisibilityTimeout"], json.loads(send["RedrivePolicy"])["maxReceiveCount"]) == ("45", 3)


def test_the_send_queues_receive_count_lets_every_webhook_attempt_happen() -> None:
    """The send queue's own parameter: SQS must not dead-letter a message before its webhook
    deliveries have had every attempt of their schedule (Vigil dead-letters them after the last)."""
    parameters = load_template()["Parameters"]
    assert int(parameters["SendMaxReceiveCount"]["Default"]) > attempts_allowed(ChannelType.WEBHOOK)
    assert int(parameters["MaxReceiveCount"]["Default"]) == MAX_RECEIVES["route"]


def test_deploy_template_creates_the_stack_named_after_the_stage(aws: Aws, stack: dict[str, str]) -> None:
    cloudformation: CloudFormationClient = aws.client("cloudformation")

    described = cloudformation.describe_stacks(StackName=stack_name(STAGE))["Stacks"][0]

    assert described["StackName"] == "vigil-test"
    assert described["StackStatus"] == "CREATE_COMPLETE"


def test_deploy_template_names_the_resource_that_failed(aws: Aws, tmp_path: Path) -> None:
    template = tmp_path / "broken.yaml"
    template.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Resources:\n"
        "  BrokenTable:\n"
        "    Type: AWS::DynamoDB::Table\n"
        "    Properties:\n"
        "      TableName: !Sub broken-${AWS::Region}\n"
        "      BillingMode: PAY_PER_REQUEST\n"
        "      AttributeDefinitions: [{AttributeName: a, AttributeType: S}]\n"
        "      KeySchema: [{AttributeName: not_defined, KeyType: HASH}]\n",
        encoding="utf-8",
    )

    with pytest.raises(RuntimeError, match="BrokenTable"):
        deploy_template(aws.client("cloudformation"), stage="broken", template_path=template)


def test_deploy_template_takes_the_stage_only_as_stage(aws: Aws) -> None:
    with pytest.raises(ValueError, match="stage="):
        deploy_template(aws.client("cloudformation"), stage="test", parameters={"Stage": "prod"})


def test_deploy_template_works_against_moto_in_server_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local stack's path: a real HTTP endpoint instead of the in-process mock."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        endpoint = f"http://127.0.0.1:{port}"
        outputs = deploy_template(session.client("cloudformation", endpoint_url=endpoint), stage="served")
        sqs: SQSClient = session.client("sqs", endpoint_url=endpoint)
        redrive = json.loads(_queue_attributes(sqs, "vigil-served-send")["RedrivePolicy"])
    finally:
        server.stop()

    assert outputs["NoticesTableName"] == "vigil-served-notices"
    assert redrive["deadLetterTargetArn"].endswith(":vigil-served-send-dlq")


# ---------------------------------------------------------------- what only the template shows


def test_template_passes_cfn_lint() -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed (requirements-dev.txt)"

    result = subprocess.run(  # noqa: S603 - fixed arguments
        [cfn_lint, str(TEMPLATE_PATH)], capture_output=True, text=True, check=False, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_table_has_encryption_and_point_in_time_recovery() -> None:
    tables = _resources_of_type(load_template(), "AWS::DynamoDB::Table")

    assert len(tables) == len(TABLES)
    for logical_id, table in tables.items():
        properties = table["Properties"]
        assert properties["SSESpecification"] == {"SSEEnabled": True}, logical_id
        point_in_time = properties["PointInTimeRecoverySpecification"]
        assert point_in_time == {"PointInTimeRecoveryEnabled": True}, logical_id
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert properties["DeletionProtectionEnabled"] is True, logical_id
        # Kept when the stack goes away or replaces the table; only a failed first create removes it.
        policies = (table["DeletionPolicy"], table["UpdateReplacePolicy"])
        assert policies == ("RetainExceptOnCreate", "Retain"), logical_id


def test_ack_codes_expire_through_time_to_live() -> None:
    """moto ignores TimeToLiveSpecification in CloudFormation, so the template is the evidence."""
    table = load_template()["Resources"]["AckCodesTable"]["Properties"]

    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_every_name_is_prefixed_with_the_stage() -> None:
    template = load_template()

    named = 0
    for logical_id, resource in template["Resources"].items():
        name_property = NAME_PROPERTIES.get(resource["Type"])
        if name_property is None:
            continue
        name = resource["Properties"][name_property]
        assert isinstance(name, dict), f"{logical_id}: {name_property} must be built with !Sub"
        assert name["Fn::Sub"].startswith("vigil-${Stage}-"), logical_id
        named += 1
    # Tables, queues and their dead-letter queues, topics, the two buckets, two alarms per work
    # queue, the unacknowledged-after-last-step alarm and the SES configuration set.
    assert named == len(TABLES) + 2 * len(WORK_QUEUES) + len(TOPICS) + 2 + 2 * len(WORK_QUEUES) + 1 + 1


def test_every_queue_has_its_alarm() -> None:
    template = load_template()
    alarms = {
        logical_id: alarm
        for logical_id, alarm in _resources_of_type(template, "AWS::CloudWatch::Alarm").items()
        if alarm["Properties"]["Namespace"] == "AWS/SQS"
    }
    watched = {
        (
            alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0],
            alarm["Properties"]["MetricName"],
            alarm["Properties"]["ComparisonOperator"],
            alarm["Properties"]["Threshold"],
        )
        for alarm in alarms.values()
    }

    assert watched == {
        ("RouteDeadLetterQueue", "ApproximateNumberOfMessagesVisible", "GreaterThanOrEqualToThreshold", 1),
        ("SendDeadLetterQueue", "ApproximateNumberOfMessagesVisible", "GreaterThanOrEqualToThreshold", 1),
        ("RouteQueue", "ApproximateAgeOfOldestMessage", "GreaterThanOrEqualToThreshold", 900),
        ("SendQueue", "ApproximateAgeOfOldestMessage", "GreaterThanOrEqualToThreshold", 900),
    }
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id


def test_inbound_mail_is_private_kept_and_only_ses_may_put_it() -> None:
    resources = load_template()["Resources"]
    bucket = resources["InboundMailBucket"]["Properties"]
    statements = resources["InboundMailBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]

    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert not [rule for rule in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in rule]
    assert not [rule for rule in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationDate" in rule]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "AllowSesPuts",
            "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": {"Fn::Sub": "${InboundMailBucket.Arn}/*"},
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]


def test_log_digests_are_locked_in_compliance_mode_and_never_replaced() -> None:
    template = load_template()
    bucket = template["Resources"]["LogDigestBucket"]
    properties = bucket["Properties"]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert properties["BucketName"] == {"Fn::Sub": "vigil-${Stage}-log-digests-${AWS::AccountId}"}
    assert properties["ObjectLockEnabled"] is True
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": {"Ref": "LogDigestRetentionDays"}}},
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert "LifecycleConfiguration" not in properties  # nothing expires a digest
    statements = {
        s["Sid"]: s
        for s in template["Resources"]["LogDigestBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    }
    unconditional = statements["DenyPutsThatMayReplace"]
    assert (unconditional["Effect"], unconditional["Action"]) == ("Deny", "s3:PutObject")
    assert unconditional["Condition"] == {"Null": {"s3:if-none-match": "true"}}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def test_moto_holds_the_digests_locked_as_the_template_says(aws: Aws, stack: dict[str, str]) -> None:
    s3: S3Client = aws.client("s3")
    bucket = stack["LogDigestBucketName"]
    assert bucket == f"vigil-{STAGE}-log-digests-123456789012"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1096, "Years": 0}},
    }
    version = s3.put_object(
        Bucket=bucket, Key="digests/2012-02-17.json", Body=b"{}", ChecksumAlgorithm="SHA256"
    )["VersionId"]
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key="digests/2012-02-17.json", VersionId=version)


def test_the_template_alone_needs_no_parameter() -> None:
    """The local stack and these tests deploy it with the stage alone; what a deployed stage must be
    given (SenderEmail, AdminEmails, AlarmEmail) is in infra/deployed.yaml."""
    parameters = load_template()["Parameters"]

    assert [name for name, parameter in parameters.items() if "Default" not in parameter] == []
    assert all(parameter["Description"] for parameter in parameters.values())


def test_the_link_signing_secret_is_generated_and_never_written_down() -> None:
    secret = load_template()["Resources"]["LinkSigningSecret"]["Properties"]

    assert secret["Name"] == {"Fn::Sub": "vigil-${Stage}-link-signing"}
    assert secret["GenerateSecretString"] == {"PasswordLength": 64, "ExcludePunctuation": True}
    assert "SecretString" not in secret
    assert "ACK_SECRET" not in TEMPLATE_PATH.read_text(encoding="utf-8").replace("ACK_SECRET_ARN", "")


def test_inbound_mail_is_received_only_for_a_domain_and_after_the_policies() -> None:
    template = load_template()
    resources = template["Resources"]
    rule_set, rule = resources["InboundMailRuleSet"], resources["InboundMailRule"]

    assert template["Conditions"]["ReceivesInboundMail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "InboundMailDomain"}, ""]}]
    }
    assert rule_set["Condition"] == rule["Condition"] == "ReceivesInboundMail"
    # SES writes a test object and checks the topic when the rule is made.
    assert set(rule["DependsOn"]) == {"InboundMailBucketPolicy", "InboundTopicsPolicy"}
    [recipient] = rule["Properties"]["Rule"]["Recipients"]
    assert recipient == {
        "Fn::If": [
            "HasInboundMailRecipient",
            {"Ref": "InboundMailRecipient"},
            {"Fn::Sub": "notices@${InboundMailDomain}"},
        ]
    }
    [action] = rule["Properties"]["Rule"]["Actions"]
    assert action["S3Action"] == {
        "BucketName": {"Ref": "InboundMailBucket"},
        "ObjectKeyPrefix": "ses/",
        "TopicArn": {"Ref": "InboundMailTopic"},
    }
    ses_publishes = [
        s
        for s in resources["InboundTopicsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Principal"] == {"Service": "ses.amazonaws.com"}
    ]
    assert [{"Ref": "InboundMailTopic"} in s["Resource"] for s in ses_publishes] == [True]


def test_a_stage_with_an_inbound_mail_domain_deploys_into_moto(aws: Aws) -> None:
    """moto skips the SES receipt types; the rest of the stack is unchanged by the domain."""
    outputs = deploy_template(
        aws.client("cloudformation"), stage="mail", parameters={"InboundMailDomain": "alerts.county.example"}
    )

    assert outputs["InboundMailTopicArn"].endswith(":vigil-mail-inbound-mail")


# ---------------------------------------------------------------- Chalice config and IAM policies

REPO_ROOT = TEMPLATE_PATH.parents[1]
CHALICE_DIR = REPO_ROOT / ".chalice"
FUNCTIONS = (
    "api_handler",
    "on_route_message",
    "on_send_message",
    "on_sweep_tick",
    "on_sms_inbound",
    "on_ses_feedback",
    "on_inbound_email",
    "on_digest_tick",
)
EVENT_SOURCE_MAPPING_NEEDS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}


def _policy(stage: str, function: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CHALICE_DIR / f"policy-{stage}-{function}.json").read_text())
    return loaded


def _granted(policy: dict[str, Any], resource_suffix: str) -> set[str]:
    granted: set[str] = set()
    for statement in policy["Statement"]:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if any(resource.endswith(resource_suffix) for resource in resources):
            granted.update(statement["Action"])
    return granted


def test_policy_files_are_what_make_policies_writes() -> None:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, str(REPO_ROOT / "infra" / "make_policies.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_chalice_config_gives_every_function_its_own_policy(stage: str) -> None:
    config = json.loads((CHALICE_DIR / "config.json").read_text())
    stage_config = config["stages"][stage]

    assert config["autogen_policy"] is False
    assert stage_config["environment_variables"]["VIGIL_STAGE"] == stage
    assert stage_config["api_gateway_stage"] == "api"
    assert set(stage_config["lambda_functions"]) == set(FUNCTIONS)
    for function, function_config in stage_config["lambda_functions"].items():
        assert function_config["iam_policy_file"] == f"policy-{stage}-{function}.json"
        assert (CHALICE_DIR / function_config["iam_policy_file"]).is_file()


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_policies_name_only_resources_of_their_stage_that_the_template_creates(stage: str) -> None:
    template = load_template()
    created = {
        resource["Properties"][NAME_PROPERTIES[resource["Type"]]]["Fn::Sub"].replace("${Stage}", stage)
        for resource in template["Resources"].values()
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::SQS::Queue")
    }

    for function in FUNCTIONS:
        for statement in _policy(stage, function)["Statement"]:
            assert not [action for action in statement["Action"] if action.endswith("*")], function
            if statement["Effect"] == "Deny":  # the one Deny: publishing to the stage's own topics
                assert statement["Action"] == ["sns:Publish"], function
                assert statement["Resource"] == f"arn:aws:sns:*:*:vigil-{stage}-*", function
                continue
            assert statement["Effect"] == "Allow"
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for resource in resources:
                if resource == "*":
                    assert statement["Action"] == ["sns:Publish"], f"{function}: only SMS needs Resource *"
                    continue
                if resource == "arn:aws:ses:*:*:identity/*":  # sender identities belong to no stage
                    continue
                assert f"vigil-{stage}" in resource, f"{function}: {resource}"
                if resource.startswith(("arn:aws:dynamodb:", "arn:aws:sqs:")):
                    name = resource.split("/")[1] if ":table/" in resource else resource.rsplit(":", 1)[1]
                    assert name in created, f"{function}: {resource} is not in infra/template.yaml"


@pytest.mark.parametrize(("function", "queue"), [("on_route_message", "route"), ("on_send_message", "send")])
def test_queue_handlers_may_consume_their_queue(function: str, queue: str) -> None:
    for stage in ("local", "dev", "prod"):
        granted = _granted(_policy(stage, function), f":vigil-{stage}-{queue}")

        assert granted >= EVENT_SOURCE_MAPPING_NEEDS
        assert "sqs:ChangeMessageVisibility" in granted


def test_a_notice_past_its_last_step_unacknowledged_raises_an_alarm() -> None:
    alarm = load_template()["Resources"]["UnacknowledgedAfterLastStepAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Vigil", "NoticesPastLastStep")
    assert alarm["Dimensions"] == [{"Name": "Stage", "Value": {"Ref": "Stage"}}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
