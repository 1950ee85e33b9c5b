"""`make admin-key STAGE=…`: the first admin key of a deployed stage, written straight to its table.

Every later key is made through the API (POST /keys) with this one. Uses the caller's own AWS
credentials; prints the key once.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import boto3

from chalicelib.adapters.key_store import DynamoKeyStore
from chalicelib.config import resource_name
from chalicelib.domain.auth import ApiRole, new_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--name", default="first admin")
    args = parser.parse_args()
    client = boto3.session.Session().client("dynamodb")
    key, plaintext = new_key(name=args.name, role=ApiRole.ADMIN, now=datetime.now(UTC))
    DynamoKeyStore(resource_name(args.stage, "api-keys"), client).add(key)
    print(f"admin key {key.id} for stage {args.stage} (shown once):\n{plaintext}")  # the command's output


if __name__ == "__main__":
    main()
