"""What a deployed stage adds to the template Chalice writes (``make package``, after Chalice).

Chalice writes one ``AWS::Serverless::Function`` per handler and the REST API; this module gives
them what a deployed stage needs and Chalice cannot express:

- ``infra/deployed.yaml`` merged in: the deploy-time parameters, the alarm subscription, and what
  concerns the API (``merge_deployed``);
- the ``Stage`` parameter pinned to the packaged stage: Chalice wrote that stage's queue and topic
  names into the functions, so the template cannot deploy another (``pin_stage``);
- every function named ``vigil-<stage>[-<handler>]`` (the names the IAM policies and log groups
  use), on arm64, its own log group (created before it, with the stage's retention: a group Lambda
  creates keeps logs forever), an alarm on its errors and one on its throttles, its settings in its
  environment, and SnapStart on a version published at every deploy behind the alias ``live``, which
  every event source invokes (``wire_functions``, ``route_api_to_alias``);
- each queue and topic event source pointed at the template's queue or topic itself rather than an
  ARN string, so CloudFormation creates them first (``subscribe_to_resources``), and the API named
  after the stage (``name_api``);
- each role's grant on the link-signing secret narrowed from a name pattern to the secret's own ARN
  (``grant_exact_secret``).

Nothing secret reaches a function's environment: the link-signing secret stays in Secrets Manager
and functions get its ARN (``refuse_secrets``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from infra.make_policies import function_name

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOYED_PATH = REPO_ROOT / "infra" / "deployed.yaml"
# The stages that run on this machine only (chalicelib.config's local stages): the local stage has a
# fixed public link-signing secret and an unauthenticated SMS route.
LOCAL_STAGES = frozenset({"local", "test", "bench"})
ALIAS = "live"
API_HANDLER = "app.app"
GRANT_SID = "LinkSigningSecret"  # the statement infra/make_policies.py writes into every policy
# Environment variables that would hold a secret; functions get VIGIL_ACK_SECRET_ARN instead.
SECRET_VARIABLES = frozenset({"VIGIL_ACK_SECRET"})
_LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")


def is_function(resource: Mapping[str, Any]) -> bool:
    return resource.get("Type") == "AWS::Serverless::Function"


def functions(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, resource) of every function Chalice wrote."""
    for logical_id, resource in template.get("Resources", {}).items():
        if is_function(resource):
            yield logical_id, resource


def handler_name(resource: Mapping[str, Any]) -> str:
    """The Chalice handler a function runs, as infra/make_policies.py names it: ``app.on_send_message``
    is ``on_send_message``, the API (``app.app``) is ``api_handler``."""
    handler = str(resource["Properties"]["Handler"])
    return "api_handler" if handler == API_HANDLER else handler.removeprefix("app.")


def _deep_merge(base: dict[str, Any], change: Mapping[str, Any]) -> None:
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def merge_deployed(template: dict[str, Any], deployed: Mapping[str, Any]) -> None:
    """Merge ``infra/deployed.yaml`` into the packaged template.

    A resource with a Type is new; one without changes the existing resource of that logical id, key
    by key. Everything else must be new: a name in both is a mistake, not an override."""
    for section, entries in deployed.items():
        existing = template.setdefault(section, {})
        for name, entry in entries.items():
            if section == "Resources" and "Type" not in entry:
                if name not in existing:
                    raise SystemExit(f"infra/deployed.yaml changes {name}, which the template does not have")
                _deep_merge(existing[name], entry)
            elif name in existing:
                raise SystemExit(f"infra/deployed.yaml declares {section}.{name} again")
            else:
                existing[name] = entry


def pin_stage(template: dict[str, Any], stage: str) -> None:
    """The packaged template deploys the stage it was packaged for, and no other."""
    parameter = template["Parameters"]["Stage"]
    parameter["Default"] = stage
    parameter["AllowedValues"] = [stage]
    parameter["Description"] = (
        f"Deployment stage: this template was packaged for {stage} (make package STAGE={stage})."
    )


def environment(*, api: bool, api_stage: str) -> dict[str, Any]:
    """The settings every function reads (chalicelib.config.Settings.from_env) that only the
    deployed stack knows. The API function's public URL is the parameter alone: the API's own
    address would make the function depend on the API, which depends on the function."""
    own_address = {
        "Fn::Sub": f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api_stage}"
    }
    return {
        "VIGIL_INBOUND_MAIL_BUCKET": {"Ref": "InboundMailBucket"},
        "VIGIL_DIGEST_BUCKET": {"Ref": "LogDigestBucket"},
        # Text, as every variable is (a Number parameter's Ref is not text everywhere).
        "VIGIL_RETENTION_DAYS": {"Fn::Sub": "${PersonalDataRetentionDays}"},
        "VIGIL_ACK_SECRET_ARN": {"Ref": "LinkSigningSecret"},
        "VIGIL_SENDER_EMAIL": {"Ref": "SenderEmail"},
        "VIGIL_ADMIN_EMAILS": {"Ref": "AdminEmails"},
        "VIGIL_PUBLIC_URL": (
            {"Ref": "PublicUrl"} if api else {"Fn::If": ["HasPublicUrl", {"Ref": "PublicUrl"}, own_address]}
        ),
    }


def _alarm(logical_id: str, handler: str, metric: str, what: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": f"vigil-${{Stage}}-{handler}-{metric.lower()}"},
            "AlarmDescription": f"{handler}: {what} in the last 5 minutes.",
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": logical_id}}],
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def api_stage_name(template: Mapping[str, Any]) -> str:
    """The REST API's stage (Chalice's ``api_gateway_stage``): part of its URL and of its metrics."""
    [stage] = [
        r["Properties"]["StageName"]
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::Serverless::Api"
    ]
    return str(stage)


def wire_functions(template: dict[str, Any]) -> list[str]:
    """Give every function its name, log group, alarms, environment, SnapStart and alias (see the
    module docstring); returns the logical ids of the functions."""
    resources = template["Resources"]
    api_stage = api_stage_name(template)
    wired = []
    added: dict[str, dict[str, Any]] = {}
    for logical_id, resource in functions(template):
        if not _LOGICAL_ID.fullmatch(logical_id):
            raise SystemExit(f"unexpected function logical id {logical_id!r}")
        handler = handler_name(resource)
        name = function_name("${Stage}", handler)
        properties = resource["Properties"]
        properties["FunctionName"] = {"Fn::Sub": name}
        properties["Architectures"] = ["arm64"]  # no native code in the bundle, and arm64 costs less
        properties["AutoPublishAlias"] = ALIAS
        properties["SnapStart"] = {"ApplyOn": "PublishedVersions"}
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        variables.update(environment(api=handler == "api_handler", api_stage=api_stage))
        log_group = f"{logical_id}LogGroup"
        added[log_group] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/{name}"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }
        depends_on = resource.get("DependsOn", [])
        resource["DependsOn"] = [*([depends_on] if isinstance(depends_on, str) else depends_on), log_group]
        added[f"{logical_id}ErrorsAlarm"] = _alarm(logical_id, handler, "Errors", "the function failed")
        added[f"{logical_id}ThrottlesAlarm"] = _alarm(
            logical_id, handler, "Throttles", "invocations were throttled (concurrency exhausted)"
        )
        wired.append(logical_id)
    clashes = sorted(set(added) & set(resources))
    if clashes:
        raise SystemExit(f"the template already has {', '.join(clashes)}")
    resources.update(added)
    return wired


def route_api_to_alias(template: dict[str, Any]) -> str:
    """API Gateway invokes the API function's alias (its SnapStart version), not ``$LATEST``.

    SAM points every event source of a function with ``AutoPublishAlias`` at the alias, but the
    API's integrations and their permission are Chalice's own; returns the API function's id."""
    [api] = [logical_id for logical_id, r in functions(template) if handler_name(r) == "api_handler"]
    unversioned, aliased = f"${{{api}.Arn}}", f"${{{api}.Alias}}"
    integrations = 0
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Api":
            continue
        for methods in resource["Properties"]["DefinitionBody"]["paths"].values():
            for method in methods.values():
                uri = method.get("x-amazon-apigateway-integration", {}).get("uri", {})
                if isinstance(uri, dict) and unversioned in uri.get("Fn::Sub", ""):
                    uri["Fn::Sub"] = uri["Fn::Sub"].replace(unversioned, aliased)
                    integrations += 1
    permissions = [
        r
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::Lambda::Permission" and r["Properties"].get("FunctionName") == {"Ref": api}
    ]
    if not integrations or len(permissions) != 1:
        raise SystemExit(f"expected the API's integrations and one invoke permission of {api}")
    permissions[0]["Properties"]["FunctionName"] = {"Ref": f"{api}.Alias"}
    return api


def _named(template: Mapping[str, Any], resource_type: str, name_property: str, stage: str) -> dict[str, str]:
    """Each resource of a type by its physical name in ``stage``: ``vigil-prod-route`` → RouteQueue."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        name = (
            resource.get("Properties", {}).get(name_property)
            if resource.get("Type") == resource_type
            else None
        )
        if isinstance(name, Mapping) and isinstance(name.get("Fn::Sub"), str):
            found[name["Fn::Sub"].replace("${Stage}", stage)] = logical_id
    return found


def subscribe_to_resources(template: dict[str, Any], stage: str) -> int:
    """Chalice names each event source's queue or topic by an ARN string, which CloudFormation does
    not see as a dependency: a first deploy could subscribe a function to a topic, or map it to a
    queue, before the template has created either ("Topic does not exist"). The template's own queue
    and topic are referenced instead; returns the event sources changed."""
    queues = _named(template, "AWS::SQS::Queue", "QueueName", stage)
    topics = _named(template, "AWS::SNS::Topic", "TopicName", stage)
    changed = 0
    for logical_id, resource in functions(template):
        for event_id, event in resource["Properties"].get("Events", {}).items():
            kind, properties = event["Type"], event["Properties"]
            if kind not in ("SQS", "SNS"):
                continue
            field, known = ("Queue", queues) if kind == "SQS" else ("Topic", topics)
            arn = properties[field]
            name = arn["Fn::Sub"].rsplit(":", 1)[1] if isinstance(arn, Mapping) else None
            if name not in known:
                raise SystemExit(f"{logical_id}.{event_id}: {arn} is not a queue or topic of the template")
            target = known[name]
            properties[field] = {"Fn::GetAtt": [target, "Arn"]} if kind == "SQS" else {"Ref": target}
            changed += 1
    return changed


def name_api(template: dict[str, Any]) -> None:
    """The API's definition carries the stage's name too (deployed.yaml names the resource), so the
    name API Gateway keeps, and its metrics' ApiName, is ``vigil-<stage>`` whichever it reads."""
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Api":
            resource["Properties"]["DefinitionBody"]["info"]["title"] = {"Fn::Sub": "vigil-${Stage}"}


def grant_exact_secret(template: dict[str, Any]) -> list[str]:
    """Every function role's grant on the link-signing secret, narrowed to the secret's own ARN;
    returns the roles changed."""
    changed = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == GRANT_SID:
                    statement["Resource"] = {"Ref": "LinkSigningSecret"}
                    changed.append(logical_id)
    return changed


def refuse_secrets(template: Mapping[str, Any]) -> None:
    """No function's environment may carry a secret (``.chalice/config.json`` is committed)."""
    for logical_id, resource in functions(template):
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        found = sorted(SECRET_VARIABLES & set(variables))
        if found:
            raise SystemExit(
                f"{logical_id}'s environment sets {', '.join(found)}: the link-signing secret is kept by "
                "Secrets Manager (the template's LinkSigningSecret); remove it from .chalice/config.json"
            )


def refuse_local_stage(stage: str) -> None:
    if stage in LOCAL_STAGES:
        raise SystemExit(
            f"stage {stage} runs on this machine only (make run): it signs links with a fixed, public "
            "secret and accepts texts on an unauthenticated route. Package dev, prod or another stage."
        )


def wire(template: dict[str, Any], deployed: Mapping[str, Any], stage: str) -> None:
    """Everything above, in order."""
    refuse_secrets(template)
    merge_deployed(template, deployed)
    pin_stage(template, stage)
    roles = {resource["Properties"]["Role"]["Fn::GetAtt"][0] for _, resource in functions(template)}
    wire_functions(template)
    route_api_to_alias(template)
    subscribe_to_resources(template, stage)
    name_api(template)
    granted = set(grant_exact_secret(template))
    if granted != roles:
        raise SystemExit(f"roles without the link-signing secret's grant: {sorted(roles - granted)}")
