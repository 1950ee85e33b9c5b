"""Raw inbound messages in S3: the evidence a notice came from, kept as received."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.aws import Answers, store_errors
from chalicelib.domain.errors import NotFound

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_READ_BYTES = 10 * 1024 * 1024


class S3MailStore:
    def __init__(self, bucket: str, client: S3Client) -> None:
        self._bucket = bucket
        self._client = client

    def put(self, key: str, raw: bytes) -> str:
        with store_errors("PutObject", self._bucket):
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=raw,
                ContentType="message/rfc822",
                ServerSideEncryption="AES256",
            )
        return f"s3://{self._bucket}/{key}"

    def get(self, key: str) -> bytes:
        not_stored: Answers = dict.fromkeys(
            ("NoSuchKey", "404"), lambda _: NotFound(f"no stored message {key!r}")
        )
        # The body streams after the call returns: a connection lost while reading it fails the same way.
        with store_errors("GetObject", self._bucket, answers=not_stored):
            response = self._client.get_object(
                Bucket=self._bucket, Key=key, Range=f"bytes=0-{MAX_READ_BYTES}"
            )
            return response["Body"].read()
