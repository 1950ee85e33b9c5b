"""The daily digests in S3: a bucket under Object Lock (compliance mode), written once per key.

Every put is conditional (``If-None-Match: *``): a key that holds a digest is never given a second
version, by this adapter or, as the bucket's policy refuses unconditional puts, by anyone. The
newest digest is found by listing the ``digests/`` prefix (one request per 1,000 days of digests);
digests are immutable, so the adapter keeps the one it last read and reads it again only when a
newer key appears.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.aws import Answers, store_errors
from chalicelib.domain.digests import PREFIX, day_of
from chalicelib.ports import StoredDigest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# A digest of every notice's head: about 110 bytes a notice.
MAX_READ_BYTES = 64 * 1024 * 1024


class S3DigestStore:
    def __init__(self, bucket: str, client: S3Client) -> None:
        self._bucket = bucket
        self._client = client
        self._kept: StoredDigest | None = None

    def newest(self) -> StoredDigest | None:
        key = self._newest_key()
        if key is None:
            return None
        if self._kept is None or self._kept.key != key:
            # The body streams after the call returns: a connection lost while reading it fails the same way.
            with store_errors("GetObject", self._bucket):
                response = self._client.get_object(
                    Bucket=self._bucket, Key=key, Range=f"bytes=0-{MAX_READ_BYTES}"
                )
                self._kept = StoredDigest(key, response["Body"].read())
        return self._kept

    def _newest_key(self) -> str | None:
        newest: tuple[str, str] | None = None  # (date, key)
        request = {"Bucket": self._bucket, "Prefix": PREFIX}
        while True:
            with store_errors("ListObjectsV2", self._bucket):
                page = self._client.list_objects_v2(**request)  # type: ignore[arg-type]  # a plain dict of the call's parameters
            for listed in page.get("Contents", []):
                key = listed.get("Key", "")
                day = day_of(key)
                if day is not None and (newest is None or day.isoformat() > newest[0]):
                    newest = (day.isoformat(), key)
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return newest[1] if newest else None
            request["ContinuationToken"] = token

    def put_new(self, key: str, body: bytes) -> bool:
        # 412: an object is there; 409: another put of the same key was under way at that moment.
        answers: Answers = dict.fromkeys(
            ("PreconditionFailed", "ConditionalRequestConflict"), lambda _: _Taken()
        )
        try:
            with store_errors("PutObject", self._bucket, answers=answers):
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                    IfNoneMatch="*",
                    # Object Lock requires a checksum of every object put under a retention period.
                    ChecksumAlgorithm="SHA256",
                    ServerSideEncryption="AES256",
                )
        except _Taken:
            return False
        return True


class _Taken(Exception):
    """The key already holds a digest."""
