"""The digest store's contract, against the in-memory fake and the S3 adapter (moto, the bucket from
infra/ with its Object Lock switched on in moto)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.digest_store import S3DigestStore
from chalicelib.ports import DigestStore, StoredDigest, StoreUnavailable
from tests.fakes import InMemoryDigestStore
from tests.integration.conftest import Aws

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture(params=["fake", pytest.param("s3", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> DigestStore:
    if request.param == "fake":
        return InMemoryDigestStore()
    stack: dict[str, str] = request.getfixturevalue("stack")
    aws: Aws = request.getfixturevalue("aws")
    return S3DigestStore(stack["LogDigestBucketName"], aws.client("s3"))


def test_no_digest_before_the_first(store: DigestStore) -> None:
    assert store.newest() is None


def test_the_newest_is_the_latest_date_whatever_the_order_written(store: DigestStore) -> None:
    for day in ("2012-02-17", "2012-03-01", "2012-02-29"):
        assert store.put_new(f"digests/{day}.json", day.encode())
    assert store.newest() == StoredDigest("digests/2012-03-01.json", b"2012-03-01")


def test_a_key_is_written_once(store: DigestStore) -> None:
    assert store.put_new("digests/2012-02-17.json", b"first")
    assert not store.put_new("digests/2012-02-17.json", b"second")
    assert store.newest() == StoredDigest("digests/2012-02-17.json", b"first")


def test_keys_that_name_no_date_are_not_digests(store: DigestStore) -> None:
    assert store.put_new("digests/2012-02-17.json", b"a digest")
    assert store.put_new("digests/notes.json", b"no digest")
    assert store.newest() == StoredDigest("digests/2012-02-17.json", b"a digest")


# S3 only: what the bucket itself holds, and its errors in Vigil's terms.


@pytest.mark.integration
def test_a_digest_is_stored_locked_and_cannot_be_deleted(aws: Aws, stack: dict[str, str]) -> None:
    s3: S3Client = aws.client("s3")
    bucket = stack["LogDigestBucketName"]
    S3DigestStore(bucket, s3).put_new("digests/2012-02-17.json", b"{}")
    [version] = s3.list_object_versions(Bucket=bucket, Prefix="digests/")["Versions"]
    stored = s3.head_object(Bucket=bucket, Key="digests/2012-02-17.json")
    assert stored.get("ObjectLockMode") == "COMPLIANCE"
    assert "ObjectLockRetainUntilDate" in stored
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key="digests/2012-02-17.json", VersionId=version.get("VersionId", ""))


@pytest.mark.integration
def test_many_digests_are_listed_page_by_page(aws: Aws, stack: dict[str, str]) -> None:
    s3: S3Client = aws.client("s3")
    bucket = stack["LogDigestBucketName"]
    for n in range(1003):  # more than one page of ListObjectsV2
        s3.put_object(Bucket=bucket, Key=f"digests/{2000 + n // 365}-01-01.json.{n}", Body=b"")
    store = S3DigestStore(bucket, s3)
    assert store.put_new("digests/2012-02-17.json", b"newest")
    assert store.newest() == StoredDigest("digests/2012-02-17.json", b"newest")


@pytest.mark.integration
def test_s3_errors_become_store_unavailable(aws: Aws) -> None:
    store = S3DigestStore("vigil-test-no-such-bucket", aws.client("s3"))
    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        store.newest()
    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        store.put_new("digests/2012-02-17.json", b"{}")
