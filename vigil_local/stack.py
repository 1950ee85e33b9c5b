"""Deploy ``infra/template.yaml`` into whatever CloudFormation endpoint a client points at.

Integration tests (moto's in-process ``mock_aws``) and the local stack (moto in server mode) both
create their resources through here, so the code and the deployable template cannot drift apart.

moto creates tables (with indexes), queues (with redrive), topics and buckets; it skips resource
types it does not know (alarms, topic and bucket policies) with a warning, which is expected and
silenced here. It also ignores some table and bucket properties (time to live, point-in-time
recovery, public access block, versioning, lifecycle): those are checked against the template
itself, not against moto. Object Lock is the exception: given an S3 client, ``deploy_template``
switches on versioning and Object Lock (with its default retention) in moto itself for every bucket
the template locks, so the local stack and the tests hold digests moto refuses to change or delete.
"""

from __future__ import annotations

import time
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import ParameterTypeDef
    from mypy_boto3_s3 import S3Client

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"

_DONE = "CREATE_COMPLETE"
_FAILED = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED",
        "ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
    }
)
# moto warns once per resource of a type its CloudFormation does not implement.
_MOTO_SKIPS_TYPE = r"Tried to parse AWS::\S+ but it's not supported by moto's CloudFormation implementation"


def stack_name(stage: str) -> str:
    """The name of the stack that holds a stage's resources."""
    return f"vigil-{stage}"


def deploy_template(
    cloudformation_client: CloudFormationClient,
    *,
    stage: str,
    parameters: Mapping[str, str] | None = None,
    template_path: Path | None = None,
    timeout_seconds: float = 300.0,
    s3: S3Client | None = None,
) -> dict[str, str]:
    """Create the stack ``vigil-{stage}`` from the template and return its Outputs by key.

    ``parameters`` overrides the template's other parameters (``MaxReceiveCount``, ...); the
    stage is always ``stage``. ``s3``, a client of the same moto, locks the template's Object Lock
    buckets there (moto's CloudFormation leaves them unlocked). Raises ``RuntimeError`` naming the
    failed resource when the stack cannot be created, and when it is not complete within
    ``timeout_seconds``.
    """
    extra = dict(parameters or {})
    if "Stage" in extra:
        raise ValueError("pass the stage as stage=, not in parameters")
    path = template_path or TEMPLATE_PATH
    name = stack_name(stage)
    stack_parameters: list[ParameterTypeDef] = [{"ParameterKey": "Stage", "ParameterValue": stage}]
    stack_parameters.extend(
        {"ParameterKey": key, "ParameterValue": value} for key, value in sorted(extra.items())
    )

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_MOTO_SKIPS_TYPE, category=UserWarning)
            cloudformation_client.create_stack(
                StackName=name,
                TemplateBody=path.read_text(encoding="utf-8"),
                Parameters=stack_parameters,
                OnFailure="DO_NOTHING",
            )
    except Exception as exc:
        # moto creates the resources inside the CreateStack call, so a resource it cannot create
        # surfaces here: in-process as moto's own exception (the traceback names the resource),
        # in server mode as a 500 whose body botocore cannot parse.
        # An error the endpoint answered properly (a ClientError: bad template, stack exists)
        # names no resource and says what is wrong by itself.
        resource = _failed_resource_from_traceback(exc)
        what = f"resource {resource} failed" if resource else "CreateStack failed"
        raise RuntimeError(
            f"stack {name} from {path} could not be created: {what}: {type(exc).__name__}: {exc}"
        ) from exc

    outputs = _wait_for_outputs(cloudformation_client, name, timeout_seconds)
    if s3 is not None:
        _lock_buckets(cloudformation_client, s3, name, load_template(path), extra)
    return outputs


def _lock_buckets(
    cloudformation_client: CloudFormationClient,
    s3: S3Client,
    name: str,
    template: Mapping[str, Any],
    parameters: Mapping[str, str],
) -> None:
    """Versioning and Object Lock, with the template's default retention, on each bucket the
    template creates with ``ObjectLockEnabled`` (the bucket is new and empty: moto allows it then)."""
    resources = template.get("Resources", {})
    for summary in cloudformation_client.describe_stack_resources(StackName=name)["StackResources"]:
        properties = resources.get(summary.get("LogicalResourceId", ""), {}).get("Properties", {})
        if summary.get("ResourceType") != "AWS::S3::Bucket" or not properties.get("ObjectLockEnabled"):
            continue
        bucket = summary.get("PhysicalResourceId", "")
        retention = properties["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
        days = retention["Days"]
        if isinstance(days, Mapping):  # !Ref of a parameter
            parameter = days["Ref"]
            days = parameters.get(parameter, template["Parameters"][parameter].get("Default"))
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": retention["Mode"], "Days": int(days)}},
            },
        )


def load_template(template_path: Path | None = None) -> dict[str, Any]:
    """The template as plain data; short-form intrinsics become ``{"Fn::Name": value}``."""
    text = (template_path or TEMPLATE_PATH).read_text(encoding="utf-8")
    loaded = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(loaded, dict):
        raise ValueError(f"{template_path or TEMPLATE_PATH} is not a CloudFormation template")
    return loaded


def missing_outputs(outputs: Mapping[str, str], template_path: Path | None = None) -> list[str]:
    """The outputs the template always declares that a deployed stack lacks: a stack made from an
    older template (a state kept from before a table existed) has no such resource."""
    declared = load_template(template_path).get("Outputs") or {}
    return sorted(k for k, v in declared.items() if "Condition" not in v and k not in outputs)


def _wait_for_outputs(client: CloudFormationClient, name: str, timeout_seconds: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout_seconds
    delay = 0.05
    while True:
        stack = client.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == _DONE:
            return {
                output["OutputKey"]: output["OutputValue"]
                for output in stack.get("Outputs", [])
                if "OutputKey" in output and "OutputValue" in output
            }
        if status in _FAILED:
            raise RuntimeError(f"stack {name} failed to create ({status}): {_failed_events(client, name)}")
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"stack {name} was still {status} after {timeout_seconds:g}s: {_failed_events(client, name)}"
            )
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _failed_events(client: CloudFormationClient, name: str) -> str:
    """The resources CloudFormation reported as failed, oldest first, with their reasons."""
    events = client.describe_stack_events(StackName=name)["StackEvents"]
    failed = [
        f"{event.get('LogicalResourceId')} ({event.get('ResourceType')}): "
        f"{event.get('ResourceStatusReason', 'no reason given')}"
        for event in reversed(events)
        if event.get("ResourceStatus", "").endswith("_FAILED") and event.get("LogicalResourceId") != name
    ]
    return "; ".join(failed) or "no resource reported a failure"


def _failed_resource_from_traceback(exc: BaseException) -> str | None:
    """The logical id moto was creating when it raised (in-process moto only)."""
    found = None
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        logical_id = frame.f_locals.get("logical_id")
        if isinstance(logical_id, str):
            found = logical_id  # keep the innermost
    return found


class _CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that reads CloudFormation's short-form tags (``!Sub``, ``!GetAtt``, ...)."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)  # type: ignore[no-untyped-call]
