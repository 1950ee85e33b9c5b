"""The link-signing secret, read from AWS Secrets Manager and kept for a while per container.

The template generates the secret (``vigil-<stage>-link-signing``): no function's configuration,
environment or template holds its value. Links are signed with the ``AWSCURRENT`` version and
accepted with ``AWSCURRENT`` or ``AWSPREVIOUS``, so links already sent stay valid after a rotation,
until the rotation after it. A container reads the secret on first use and again once what it read
is older than ``CACHE_SECONDS``, so a rotation reaches every container within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.adapters.aws import store_errors
from chalicelib.domain.tokens import SigningKeys, WeakSecret

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CACHE_SECONDS = 15 * 60


class _NoSuchVersion(Exception):
    """The secret has no version with that label (AWSPREVIOUS before the first rotation)."""


def _no_such_version(_: Exception) -> Exception:
    return _NoSuchVersion()


class SecretsManagerSigningKeys:
    def __init__(
        self,
        secret_id: str,
        client: SecretsManagerClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._secret_id = secret_id
        self._client = client
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._read: tuple[float, SigningKeys] | None = None

    def keys(self) -> SigningKeys:
        with self._lock:
            if self._read is None or self._clock() - self._read[0] >= self._cache_seconds:
                self._read = (self._clock(), self._fetch())
            return self._read[1]

    def _fetch(self) -> SigningKeys:
        current = self._value("AWSCURRENT")
        if current is None:
            raise WeakSecret(f"the link-signing secret {self._secret_id} has no current value")
        previous = self._value("AWSPREVIOUS")
        return SigningKeys.of(current, () if previous is None else (previous,))

    def _value(self, label: str) -> bytes | None:
        # Only AWSPREVIOUS may be missing (before the first rotation); a missing secret is an outage.
        answers = {"ResourceNotFoundException": _no_such_version} if label == "AWSPREVIOUS" else None
        try:
            with store_errors("GetSecretValue", self._secret_id, answers=answers):
                answer = self._client.get_secret_value(SecretId=self._secret_id, VersionStage=label)
        except _NoSuchVersion:
            return None
        text = answer.get("SecretString")
        return text.encode() if text is not None else answer.get("SecretBinary")
