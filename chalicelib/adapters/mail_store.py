"""Raw inbound messages in S3: the evidence a notice came from, kept as received."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import error_code
from chalicelib.domain.errors import NotFound
from chalicelib.ports import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_READ_BYTES = 10 * 1024 * 1024


class S3MailStore:
    def __init__(self, bucket: str, client: S3Client) -> None:
        self._bucket = bucket
        self._client = client

    def put(self, key: str, raw: bytes) -> str:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=raw,
                ContentType="message/rfc822",
                ServerSideEncryption="AES256",
            )
        except ClientError as exc:
            raise StoreUnavailable(f"store raw message: {error_code(exc)}") from exc
        return f"s3://{self._bucket}/{key}"

    def get(self, key: str) -> bytes:
        try:
            response = self._client.get_object(
                Bucket=self._bucket, Key=key, Range=f"bytes=0-{MAX_READ_BYTES}"
            )
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                raise NotFound(f"no stored message {key!r}") from exc
            raise StoreUnavailable(f"read raw message: {error_code(exc)}") from exc
        return response["Body"].read()
