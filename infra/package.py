"""`make package STAGE=…`: one deployable CloudFormation template for functions and resources.

Runs `chalice package --merge-template infra/template.yaml`, then sets what Chalice cannot
express: every SQS event source reports partial batch failures (``ReportBatchItemFailures``),
without which one failed message makes Lambda retry, and so re-send, its whole batch.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PARTIAL_BATCH = "ReportBatchItemFailures"


def enable_partial_batch_responses(template: dict[str, Any]) -> list[str]:
    """Switch partial batch responses on for every SQS event source; returns the functions changed."""
    changed = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "SQS":
                event.setdefault("Properties", {})["FunctionResponseTypes"] = [PARTIAL_BATCH]
                changed.append(name)
    return changed


def pass_resource_names(template: dict[str, Any]) -> None:
    """Names only CloudFormation knows (they hold the account id) reach every function as settings;
    every function runs on arm64 (DESIGN §2: the bundle has no native code, and arm64 costs less)."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            properties = resource.setdefault("Properties", {})
            properties["Architectures"] = ["arm64"]
            variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
            variables["VIGIL_INBOUND_MAIL_BUCKET"] = {"Ref": "InboundMailBucket"}


def package(stage: str, out_dir: Path) -> Path:
    env = {
        **os.environ,
        "VIGIL_STAGE": stage,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(  # noqa: S603  # fixed arguments, our own virtualenv's chalice
        [str(chalice), "package", "--stage", stage, "--merge-template", "infra/template.yaml", str(out_dir)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
    )
    path = out_dir / "sam.yaml"
    template = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not enable_partial_batch_responses(template):
        raise SystemExit("no SQS event sources found in the packaged template")
    pass_resource_names(template)
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or REPO_ROOT / "build" / args.stage
    print(package(args.stage, out))  # the path is the command's output


if __name__ == "__main__":
    main()
