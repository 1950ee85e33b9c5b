"""Commands of docs/operations.md that moto can run, outside the deploy rehearsal
(test_deploy_rehearsal.py): restoring a table, and removing what a deleted stack keeps.

Restoring is a point-in-time restore into vigil-<stage>-<table>-restored, then infra.copy_items
puts its items back into the live table. Against moto, resources from infra/template.yaml.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import copy_items
from tests.integration.conftest import Aws

pytestmark = pytest.mark.integration

LIVE = "vigil-test-deliveries"  # a partition and a sort key: the harder case
RESTORED = f"{LIVE}-restored"


def _item(notice: str, delivery: str, status: str) -> dict[str, Any]:
    return {"notice_id": {"S": notice}, "delivery_id": {"S": delivery}, "status": {"S": status}}


def _statuses(dynamodb: Any, table: str) -> dict[tuple[str, str], str]:
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return {(i["notice_id"]["S"], i["delivery_id"]["S"]): i["status"]["S"] for i in items}


@pytest.fixture
def restored(aws: Aws, stack: dict[str, str]) -> Any:
    """Three deliveries, restored (the runbook's restore-table-to-point-in-time); then one is deleted
    from the live table and one changed, as a mistake and a later write would."""
    dynamodb = aws.client("dynamodb")
    for delivery, status in (("d1", "sent"), ("d2", "sent"), ("d3", "pending")):
        dynamodb.put_item(TableName=LIVE, Item=_item("n1", delivery, status))
    dynamodb.restore_table_to_point_in_time(
        SourceTableName=LIVE, TargetTableName=RESTORED, UseLatestRestorableTime=True
    )
    dynamodb.delete_item(TableName=LIVE, Key={"notice_id": {"S": "n1"}, "delivery_id": {"S": "d1"}})
    dynamodb.put_item(TableName=LIVE, Item=_item("n1", "d3", "sent"))
    return dynamodb


def test_missing_items_come_back_and_newer_ones_are_kept(restored: Any) -> None:
    done = copy_items.copy_items(restored, RESTORED, LIVE)

    assert (done.copied, done.kept) == (1, 2)
    assert _statuses(restored, LIVE) == {("n1", "d1"): "sent", ("n1", "d2"): "sent", ("n1", "d3"): "sent"}


def test_overwrite_puts_every_restored_item_back(restored: Any) -> None:
    done = copy_items.copy_items(restored, RESTORED, LIVE, overwrite=True)

    assert (done.copied, done.kept) == (3, 0)
    assert _statuses(restored, LIVE)[("n1", "d3")] == "pending"


def test_the_command_says_what_it_did(restored: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert copy_items.main(["--source", RESTORED, "--target", LIVE]) == 0

    assert capsys.readouterr().out == f"1 items copied from {RESTORED} to {LIVE}; 2 already there, kept\n"


def test_tables_with_other_keys_are_refused(restored: Any) -> None:
    with pytest.raises(SystemExit, match="different keys"):
        copy_items.copy_items(restored, RESTORED, "vigil-test-notices")


def test_a_kept_table_is_deleted_once_its_protection_is_off(aws: Aws, stack: dict[str, str]) -> None:
    """Tearing down: the tables outlive the stack, protected; the runbook turns protection off first."""
    dynamodb = aws.client("dynamodb")
    with pytest.raises(ClientError, match="DeletionProtectionEnabled is set to True"):
        dynamodb.delete_table(TableName="vigil-test-notices")

    dynamodb.update_table(TableName="vigil-test-notices", DeletionProtectionEnabled=False)
    dynamodb.delete_table(TableName="vigil-test-notices")

    assert "vigil-test-notices" not in dynamodb.list_tables()["TableNames"]


def test_the_kept_mail_bucket_is_emptied_of_every_version_and_removed(
    aws: Aws, stack: dict[str, str]
) -> None:
    """The runbook's one line of boto3 (the bucket is versioned: `aws s3 rm` leaves old versions)."""
    bucket = stack["InboundMailBucketName"]
    s3 = aws.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second"):
        s3.put_object(Bucket=bucket, Key="ses/message", Body=body)

    boto3.resource("s3", region_name=aws.region).Bucket(bucket).object_versions.delete()
    s3.delete_bucket(Bucket=bucket)

    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
