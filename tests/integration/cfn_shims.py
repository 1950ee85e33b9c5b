"""Resource types moto's CloudFormation does not create, created in moto's own services.

The deploy rehearsal (test_deploy_rehearsal.py) creates the packaged template's stack in moto. moto
5.2.5 skips, with a warning, every type it has no CloudFormation model for: a reference to a skipped
resource resolves to nothing, so what depends on it (an event source on an alias, a function's
environment holding the secret's ARN) fails or says nothing. ``missing_types_created`` supplies,
for the duration of a ``with`` block, a model for each type below that moto lacks: each creates the
resource through moto's own service (``create_alias``, ``create_secret``, ``put_metric_alarm``,
``subscribe``, ``create_receipt_rule``), so the rehearsal reads it back through the ordinary API.

They take the properties the template uses and nothing more; they are no check of AWS's own
validation. A type moto gains a model for is left to moto; ``REPLACEMENTS`` stand in for moto's
own model where that lacks an attribute the template reads.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest
from moto.backends import get_backend

parsing: Any = importlib.import_module("moto.cloudformation.parsing")
secret_utils: Any = importlib.import_module("moto.secretsmanager.utils")


def _service(name: str, account_id: str, region_name: str) -> Any:
    return get_backend(name)[account_id][region_name]  # type: ignore[call-overload]  # moto's BackendDict by service name


class Shim:
    """What moto's stack needs of a resource: a physical id (what Ref returns) and attributes."""

    resource_type: ClassVar[str]

    def __init__(self, physical_resource_id: str, **attributes: str) -> None:
        self.physical_resource_id = physical_resource_id
        self._attributes = attributes

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.resource_type

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""  # the name is read from the properties by each shim

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute: str) -> str:
        return self._attributes[attribute]

    def is_created(self) -> bool:
        return True  # made in the create call itself

    def delete(self, account_id: str, region_name: str) -> None:
        """Deleting the rehearsal's stack is not rehearsed."""


class LambdaVersion(Shim):
    """Replaces moto's model, which publishes the version but answers no ``GetAtt …Version`` (what
    SAM's alias points at)."""

    resource_type = "AWS::Lambda::Version"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> LambdaVersion:
        function_name = cloudformation_json["Properties"]["FunctionName"]
        published = _service("lambda", account_id, region_name).publish_version(function_name)
        return cls(f"{published.function_arn}:{published.version}", Version=str(published.version))


class LambdaAlias(Shim):
    resource_type = "AWS::Lambda::Alias"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> LambdaAlias:
        properties = cloudformation_json["Properties"]
        alias = _service("lambda", account_id, region_name).create_alias(
            name=properties["Name"],
            function_name=properties["FunctionName"],
            function_version=str(properties["FunctionVersion"]),
            description=properties.get("Description", ""),
            routing_config=None,
        )
        return cls(alias.arn)


class Secret(Shim):
    resource_type = "AWS::SecretsManager::Secret"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> Secret:
        properties = cloudformation_json["Properties"]
        generate = properties["GenerateSecretString"]
        value = secret_utils.random_password(
            password_length=int(generate.get("PasswordLength", 32)),
            exclude_characters=generate.get("ExcludeCharacters", ""),
            exclude_numbers=False,
            exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
            exclude_uppercase=False,
            exclude_lowercase=False,
            include_space=False,
            require_each_included_type=True,
        )
        secrets = _service("secretsmanager", account_id, region_name)
        created = secrets.create_secret(
            name=properties["Name"],
            secret_string=value,
            secret_binary=None,
            description=properties.get("Description"),
            tags=None,
            kms_key_id=None,
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        arn = json.loads(created)["ARN"]  # moto's backend answers with the API's JSON
        return cls(arn, Id=arn)


class Alarm(Shim):
    resource_type = "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> Alarm:
        p = cloudformation_json["Properties"]
        alarm = _service("cloudwatch", account_id, region_name).put_metric_alarm(
            name=p["AlarmName"],
            namespace=p["Namespace"],
            metric_name=p["MetricName"],
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]),
            threshold=float(p["Threshold"]),
            statistic=p["Statistic"],
            description=p.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": str(d["Value"])} for d in p.get("Dimensions", [])],
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            datapoints_to_alarm=int(p["DatapointsToAlarm"]) if "DatapointsToAlarm" in p else None,
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(alarm.name, Arn=alarm.alarm_arn)


class Subscription(Shim):
    resource_type = "AWS::SNS::Subscription"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> Subscription:
        p = cloudformation_json["Properties"]
        subscription = _service("sns", account_id, region_name).subscribe(
            p["TopicArn"], p["Endpoint"], p["Protocol"]
        )
        return cls(subscription.arn)


class ReceiptRuleSet(Shim):
    resource_type = "AWS::SES::ReceiptRuleSet"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> ReceiptRuleSet:
        name = cloudformation_json["Properties"]["RuleSetName"]
        _service("ses", account_id, region_name).create_receipt_rule_set(name)
        return cls(name)


class ReceiptRule(Shim):
    resource_type = "AWS::SES::ReceiptRule"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> ReceiptRule:
        p = cloudformation_json["Properties"]
        _service("ses", account_id, region_name).create_receipt_rule(
            p["RuleSetName"],
            p["Rule"],
            after=p.get("After"),  # CloudFormation's Rule is SES's, key for key
        )
        return cls(p["Rule"]["Name"])


class RestApi(Shim):
    """Replaces moto's model, which makes an empty API from its Name: moto imports OpenAPI 3 only, and
    Chalice's definition is Swagger 2.0, so each route is added as a resource and method with its
    integration (what the rehearsal needs: a deployment of an API without methods is refused)."""

    resource_type = "AWS::ApiGateway::RestApi"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> RestApi:
        p = cloudformation_json["Properties"]
        gateway = _service("apigateway", account_id, region_name)
        api = gateway.create_rest_api(
            name=p["Name"],
            description=p.get("Description", ""),
            endpoint_configuration=p.get("EndpointConfiguration"),
        )
        resources = {"": api.default.id}
        for path, methods in sorted(p["Body"]["paths"].items()):
            parent = ""
            for part in path.strip("/").split("/"):
                here = f"{parent}/{part}"
                if here not in resources:
                    resources[here] = gateway.create_resource(api.id, resources[parent], part).id
                parent = here
            for method, spec in methods.items():
                integration = spec["x-amazon-apigateway-integration"]
                gateway.put_method(api.id, resources[parent], method.upper(), "NONE")
                gateway.put_integration(
                    function_id=api.id,
                    resource_id=resources[parent],
                    method_type=method.upper(),
                    integration_type=integration["type"].upper(),
                    uri=integration["uri"],
                    integration_method=integration["httpMethod"],
                )
        return cls(api.id, RootResourceId=api.default.id)


class Stage(Shim):
    """A stage, with its method settings and access log setting applied as UpdateStage would."""

    resource_type = "AWS::ApiGateway::Stage"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> Stage:
        p = cloudformation_json["Properties"]
        gateway = _service("apigateway", account_id, region_name)
        name = p["StageName"]
        deployment = p["DeploymentId"]  # moto's Deployment has no physical id: Ref gives the model
        deployment_id = deployment if isinstance(deployment, str) else deployment.id
        gateway.create_stage(p["RestApiId"], name, deployment_id, variables=p.get("Variables"))
        operations = []
        for setting in p.get("MethodSettings", []):
            resource = "*" if setting["ResourcePath"] == "/*" else setting["ResourcePath"].replace("/", "~1")
            target = f"/{resource}/{setting['HttpMethod']}"
            for key, field in (("ThrottlingRateLimit", "rateLimit"), ("ThrottlingBurstLimit", "burstLimit")):
                if key in setting:
                    operations.append(
                        {"op": "replace", "path": f"{target}/throttling/{field}", "value": str(setting[key])}
                    )
        access_log = p.get("AccessLogSetting")
        if access_log:
            for key, field in (("DestinationArn", "destinationArn"), ("Format", "format")):
                operations.append(
                    {"op": "replace", "path": f"/accessLogSettings/{field}", "value": access_log[key]}
                )
        gateway.update_stage(p["RestApiId"], name, operations)
        return cls(name)


SHIMS: tuple[type[Shim], ...] = (
    LambdaAlias,
    Secret,
    Alarm,
    Subscription,
    ReceiptRuleSet,
    ReceiptRule,
    Stage,
)
# moto has a model of these, but one that lacks what the packaged template uses.
REPLACEMENTS: tuple[type[Shim], ...] = (LambdaVersion, RestApi)


@contextmanager
def missing_types_created(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Inside the block, moto's CloudFormation creates the types of ``SHIMS`` it has no model for,
    and those of ``REPLACEMENTS`` with the replacement; yields the types supplied."""
    native: Callable[[], dict[str, Any]] = parsing.get_model_map
    models = native()
    supplied = {shim.resource_type: shim for shim in SHIMS if shim.resource_type not in models}
    supplied |= {shim.resource_type: shim for shim in REPLACEMENTS}
    with monkeypatch.context() as patch:
        patch.setattr(parsing, "get_model_map", lambda: {**models, **supplied})
        yield sorted(supplied)
