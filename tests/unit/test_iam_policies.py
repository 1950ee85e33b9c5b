"""What each function may do, from infra/make_policies.py: least privilege where it matters most.

The ack log is append-only evidence; the API faces the internet; topics carry what other functions
trust. These pin what the policies grant there (the files themselves are checked against the
generator in tests/integration/test_template.py).
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from infra.make_policies import NEEDS, STAGES, TABLES, policy

STAGE = "prod"


def allowed(document: dict[str, Any], action: str, resource: str) -> bool:
    """IAM's answer for one action on one resource: an explicit Deny wins over any Allow."""
    verdicts = set()
    for statement in document["Statement"]:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if action in statement["Action"] and any(fnmatch.fnmatchcase(resource, r) for r in resources):
            verdicts.add(statement["Effect"])
    return "Allow" in verdicts and "Deny" not in verdicts


def table(name: str) -> str:
    return f"arn:aws:dynamodb:us-east-1:123456789012:table/vigil-{STAGE}-{name}"


def table_actions(function: str, name: str) -> set[str]:
    document = policy(STAGE, function)
    candidates = {
        "dynamodb:" + a
        for a in (
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "Scan",
            "BatchGetItem",
            "BatchWriteItem",
            "ConditionCheckItem",
        )
    }
    return {a.removeprefix("dynamodb:") for a in candidates if allowed(document, a, table(name))}


@pytest.mark.parametrize("function", sorted(set(NEEDS) - {"on_digest_tick"}))
def test_the_ack_log_is_only_appended_to_and_read(function: str) -> None:
    assert table_actions(function, "ack-log") == {"PutItem", "Query"}


def test_the_digest_function_only_reads_the_heads_and_only_adds_digests() -> None:
    tables = {name: actions for name in TABLES if (actions := table_actions("on_digest_tick", name))}
    assert tables == {"notices": {"Scan"}, "ack-log": {"Query"}}
    document = policy(STAGE, "on_digest_tick")
    bucket = f"arn:aws:s3:::vigil-{STAGE}-log-digests-123456789012"
    assert allowed(document, "s3:PutObject", f"{bucket}/digests/2012-02-17.json")
    assert not allowed(document, "s3:PutObject", f"{bucket}/elsewhere/2012-02-17.json")
    forbidden = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutBucketPolicy")
    for action in forbidden:
        assert not allowed(document, action, f"{bucket}/digests/2012-02-17.json"), action
        assert not allowed(document, action, bucket), action


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_only_the_digest_function_may_put_a_digest(function: str) -> None:
    digest = f"arn:aws:s3:::vigil-{STAGE}-log-digests-123456789012/digests/2012-02-17.json"
    assert allowed(policy(STAGE, function), "s3:PutObject", digest) is (function == "on_digest_tick")


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_every_function_that_appends_to_a_notices_log_may_write_its_head_there(function: str) -> None:
    """The entry and the head on the notice are one transaction: PutItem here, UpdateItem there."""
    if "PutItem" in table_actions(function, "ack-log"):
        assert "UpdateItem" in table_actions(function, "notices")


def test_the_api_may_do_with_each_table_what_its_routes_do_and_no_more() -> None:
    granted = {name: table_actions("api_handler", name) for name in TABLES}

    assert granted == {
        "notices": {"GetItem", "PutItem", "UpdateItem", "Query"},
        "subscribers": {"GetItem", "BatchGetItem", "PutItem", "DeleteItem", "Scan"},
        "subscriptions": {"Query", "BatchWriteItem"},
        "deliveries": {"BatchGetItem", "PutItem", "Query"},
        "ack-log": {"PutItem", "Query"},
        "api-keys": {"GetItem", "PutItem", "UpdateItem", "Scan"},
        "policies": {"GetItem", "PutItem"},
        "ack-codes": {"PutItem"},
        "contacts": {"GetItem", "PutItem", "DeleteItem"},
        "rate-limits": {"GetItem", "UpdateItem"},
        "trusted-senders": {"GetItem", "BatchGetItem", "PutItem", "DeleteItem", "Scan"},
        "facilities": {"GetItem", "PutItem", "Scan"},
        "rotations": {"GetItem", "BatchGetItem", "PutItem", "DeleteItem", "Scan"},
    }


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_every_function_that_reads_places_reads_the_facilities_and_writes_none(function: str) -> None:
    """Naming, routing and re-indexing a subscriber need the admins' facilities in the place graph."""
    places = bool(table_actions(function, "subscriptions"))
    facilities = table_actions(function, "facilities")
    assert ("Scan" in facilities) is places
    if function != "api_handler":
        assert facilities <= {"Scan"}


@pytest.mark.parametrize("function", sorted(NEEDS))
@pytest.mark.parametrize("topic", ["sms-inbound", "ses-feedback", "inbound-mail", "alarms"])
def test_no_function_may_publish_to_the_stages_own_topics(function: str, topic: str) -> None:
    arn = f"arn:aws:sns:us-east-1:123456789012:vigil-{STAGE}-{topic}"

    assert not allowed(policy(STAGE, function), "sns:Publish", arn)


@pytest.mark.parametrize("function", [f for f, needs in sorted(NEEDS.items()) if needs.sns_publish])
def test_functions_that_text_may_still_publish_to_phone_numbers(function: str) -> None:
    assert allowed(policy(STAGE, function), "sns:Publish", "*")


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("function", sorted(NEEDS))
def test_every_function_reads_its_stages_link_signing_secret_and_no_other(stage: str, function: str) -> None:
    document = policy(stage, function)
    arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:vigil-{stage}-link-signing"

    assert allowed(document, "secretsmanager:GetSecretValue", f"{arn}-AbC123")
    assert not allowed(document, "secretsmanager:GetSecretValue", f"{arn}-other-AbC123")
    other = "dev" if stage != "dev" else "prod"
    assert not allowed(
        document, "secretsmanager:GetSecretValue", arn.replace(f"-{stage}-", f"-{other}-") + "-AbC123"
    )
    assert not [
        s for s in document["Statement"] if any(a.startswith("secretsmanager:Put") for a in s["Action"])
    ]


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_no_function_creates_its_own_log_group(function: str) -> None:
    """The template creates each group with the stage's retention; one Lambda made would keep logs forever."""
    actions = {a for s in policy(STAGE, function)["Statement"] for a in s["Action"]}

    assert "logs:CreateLogGroup" not in actions
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= actions


def test_functions_that_change_a_subscriber_may_keep_its_index_rows_in_line() -> None:
    """Saving a subscriber rewrites its rows in the subscriptions table (SubscriberStore.replace)."""
    for function in ("api_handler", "on_send_message", "on_sms_inbound", "on_ses_feedback"):
        assert "PutItem" in table_actions(function, "subscribers"), function
        assert "BatchWriteItem" in table_actions(function, "subscriptions"), function


def test_the_send_function_may_put_deferred_log_entries_back_on_its_queue() -> None:
    document = policy(STAGE, "on_send_message")

    assert allowed(document, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:123456789012:vigil-{STAGE}-send")


@pytest.mark.parametrize("function", ["on_sms_inbound", "on_ses_feedback", "on_inbound_email"])
def test_functions_that_tell_the_admins_may_send_email(function: str) -> None:
    assert allowed(policy(STAGE, function), "ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/x")
