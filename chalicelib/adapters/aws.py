"""Where a failed AWS call becomes one of Vigil's exceptions, for every adapter that calls AWS.

botocore reports a failed call in one of two ways, each after the client's own retries: an error
AWS answered with (a ``ClientError`` carrying an error code), or no answer at all (a connection
refused, reset or timed out). A store's call turns both into ``StoreUnavailable`` (the API answers
503), except for the error codes its caller names as expected answers (a failed condition, a missing
key); a sender's call turns both into ``SendFailed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import structlog
from botocore import exceptions as botocore_errors

from chalicelib.ports import SendFailed, StoreRefusedInput, StoreUnavailable

logger = structlog.get_logger()

# Every way botocore says AWS did not answer: EndpointConnectionError, ConnectTimeoutError and
# ProxyConnectionError are ConnectionErrors; ReadTimeoutError and ConnectionClosedError are
# HTTPClientErrors.
NO_ANSWER: tuple[type[Exception], ...] = (botocore_errors.ConnectionError, botocore_errors.HTTPClientError)

# Error codes that are answers the caller expects, each to the exception that says so in Vigil's
# terms; None where the error turns out to be a failure after all.
Answers = Mapping[str, Callable[[botocore_errors.ClientError], Exception | None]]


def error_code(exc: botocore_errors.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def transient(exc: botocore_errors.ClientError, codes: frozenset[str]) -> bool:
    """Whether trying again may help: the service's throttling codes, or any 5xx or 429 answer."""
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return error_code(exc) in codes or status >= 500 or status == 429


def store_failure(
    operation: str,
    resource: str,
    error: str,
    *,
    detail: str = "",
    kind: type[StoreUnavailable] = StoreUnavailable,
) -> StoreUnavailable:
    """Log a store's failed call once (``store.call_failed``) and return the exception to raise.

    ``error`` is AWS's error code, or botocore's exception name when AWS did not answer. Neither the
    log nor the message holds anything of the request: its items can hold personal data.
    """
    logger.warning("store.call_failed", operation=operation, resource=resource, error=error)
    message = f"{operation} on {resource}: {error}" + (f" ({detail})" if detail else "")
    if error == "ValidationException":
        return StoreRefusedInput(message)
    return kind(message)


@contextmanager
def store_errors(
    operation: str,
    resource: str,
    *,
    answers: Answers | None = None,
    kind: type[StoreUnavailable] = StoreUnavailable,
) -> Iterator[None]:
    """One call to a store (a table, bucket or queue), its failures in Vigil's terms.

    An error code in ``answers`` raises what it maps to; ValidationException raises
    StoreRefusedInput; every other error, and no answer at all, raises ``kind``. Each failure is
    logged once; an expected answer is not a failure and is not logged.
    """
    try:
        yield
    except botocore_errors.ClientError as exc:
        code = error_code(exc)
        expected = answers.get(code) if answers else None
        answer = expected(exc) if expected else None
        if answer is not None:
            raise answer from exc
        raise store_failure(operation, resource, code, kind=kind) from exc
    except NO_ANSWER as exc:
        raise store_failure(operation, resource, type(exc).__name__, kind=kind) from exc


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
