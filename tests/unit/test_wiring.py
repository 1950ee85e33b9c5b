"""infra/wiring.py on small templates: how deployed.yaml is merged, and what the packaging refuses.

The packaged template itself is checked in tests/integration/test_packaging.py and
test_deploy_rehearsal.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.wiring import (
    grant_exact_secret,
    merge_deployed,
    refuse_local_stage,
    refuse_secrets,
    subscribe_to_resources,
)


def function(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.on_x", **properties}}


def test_a_resource_without_a_type_changes_the_one_chalice_wrote() -> None:
    template = {
        "Resources": {"RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "api"}}}
    }

    merge_deployed(template, {"Resources": {"RestAPI": {"DependsOn": "A", "Properties": {"Name": "n"}}}})

    assert template["Resources"]["RestAPI"] == {
        "Type": "AWS::Serverless::Api",
        "DependsOn": "A",
        "Properties": {"StageName": "api", "Name": "n"},
    }


def test_a_change_to_a_resource_the_template_lacks_is_refused() -> None:
    with pytest.raises(SystemExit, match="changes RestAPI"):
        merge_deployed({"Resources": {}}, {"Resources": {"RestAPI": {"Properties": {}}}})


@pytest.mark.parametrize("section", ["Parameters", "Resources", "Outputs", "Conditions"])
def test_a_name_declared_twice_is_refused(section: str) -> None:
    template: dict[str, Any] = {section: {"Stage": {"Type": "String"}}}

    with pytest.raises(SystemExit, match=f"declares {section}.Stage again"):
        merge_deployed(template, {section: {"Stage": {"Type": "String"}}})


def test_a_secret_in_a_functions_environment_is_refused() -> None:
    template = {"Resources": {"F": function(Environment={"Variables": {"VIGIL_ACK_SECRET": "x" * 40}})}}

    with pytest.raises(
        SystemExit, match="VIGIL_ACK_SECRET: the link-signing secret is kept by Secrets Manager"
    ):
        refuse_secrets(template)


@pytest.mark.parametrize("stage", ["local", "test", "bench"])
def test_stages_of_this_machine_are_never_packaged(stage: str) -> None:
    with pytest.raises(SystemExit, match=rf"stage {stage} runs on this machine only \(make run\)"):
        refuse_local_stage(stage)


def test_event_sources_reference_the_templates_queue_and_topic() -> None:
    template = {
        "Resources": {
            "RouteQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": {"Fn::Sub": "vigil-${Stage}-route"}},
            },
            "Texts": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": {"Fn::Sub": "vigil-${Stage}-texts"}},
            },
            "F": function(
                Events={
                    "Q": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:r:a:vigil-prod-route"}
                        },
                    },
                    "T": {
                        "Type": "SNS",
                        "Properties": {
                            "Topic": {"Fn::Sub": "arn:${AWS::Partition}:sns:r:a:vigil-prod-texts"}
                        },
                    },
                    "S": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}},
                }
            ),
        }
    }

    assert subscribe_to_resources(template, "prod") == 2

    events = template["Resources"]["F"]["Properties"]["Events"]
    assert events["Q"]["Properties"]["Queue"] == {"Fn::GetAtt": ["RouteQueue", "Arn"]}
    assert events["T"]["Properties"]["Topic"] == {"Ref": "Texts"}


def test_an_event_source_on_a_queue_the_template_lacks_is_refused() -> None:
    template = {
        "Resources": {
            "F": function(
                Events={
                    "Q": {
                        "Type": "SQS",
                        "Properties": {"Queue": {"Fn::Sub": "arn:x:sqs:r:a:vigil-prod-gone"}},
                    }
                }
            )
        }
    }

    with pytest.raises(SystemExit, match="is not a queue or topic of the template"):
        subscribe_to_resources(template, "prod")


def test_the_secret_grant_names_the_secret_itself() -> None:
    statement: dict[str, Any] = {"Sid": "LinkSigningSecret", "Action": ["secretsmanager:GetSecretValue"]}
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {"Policies": [{"PolicyDocument": {"Statement": [statement]}}]},
    }
    template = {"Resources": {"FRole": role, "Other": {"Type": "AWS::IAM::Role", "Properties": {}}}}

    assert grant_exact_secret(template) == ["FRole"]
    assert statement["Resource"] == {"Ref": "LinkSigningSecret"}
