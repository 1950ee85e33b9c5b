"""`make admin-key STAGE=…`: the first admin key of a deployed stage, written straight to its table.

Every later key is made through the API (POST /keys) with this one. Uses the caller's own AWS
credentials and region (``AWS_PROFILE``, ``AWS_REGION``); prints the key once. Needs nothing of the
stage's configuration: only its api-keys table, which the stack creates.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import boto3
from botocore.exceptions import ClientError

from chalicelib.adapters.key_store import DynamoKeyStore
from chalicelib.config import resource_name
from chalicelib.domain.auth import ApiRole, new_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--name", default="first admin")
    args = parser.parse_args(argv)
    client = boto3.session.Session().client("dynamodb")
    table = resource_name(args.stage, "api-keys")
    try:
        client.describe_table(TableName=table)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        reason = "it does not exist: deploy the stage first" if code == "ResourceNotFoundException" else code
        print(f"cannot write to {table} in {client.meta.region_name}: {reason}", file=sys.stderr)
        return 1
    key, plaintext = new_key(name=args.name, role=ApiRole.ADMIN, now=datetime.now(UTC))
    DynamoKeyStore(table, client).add(key)
    print(f"admin key {key.id} for stage {args.stage} (shown once):\n{plaintext}")  # the command's output
    return 0


if __name__ == "__main__":
    sys.exit(main())
