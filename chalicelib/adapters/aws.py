"""Where a failed AWS call becomes one of Vigil's exceptions, for every adapter that calls AWS.

botocore reports a failed call in one of two ways, each after the client's own retries: an error
AWS answered with (a ``ClientError`` carrying an error code), or no answer at all (a connection
refused, reset or timed out). A sender's call turns both into ``SendFailed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore import exceptions as botocore_errors

from chalicelib.ports import SendFailed


def error_code(exc: botocore_errors.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def transient(exc: botocore_errors.ClientError, codes: frozenset[str]) -> bool:
    """Whether trying again may help: the service's throttling codes, or any 5xx or 429 answer."""
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return error_code(exc) in codes or status >= 500 or status == 429


@contextmanager
def send_errors(provider: str, retryable: frozenset[str]) -> Iterator[None]:
    """One call to a message provider, its failures as SendFailed: retryable when the provider's
    answer says trying again may help, and always when it did not answer (the message may go
    through on a later attempt)."""
    try:
        yield
    except botocore_errors.ClientError as exc:
        raise SendFailed(f"{provider}: {error_code(exc)}", retryable=transient(exc, retryable)) from exc
    except botocore_errors.BotoCoreError as exc:
        raise SendFailed(f"{provider}: {type(exc).__name__}", retryable=True) from exc
