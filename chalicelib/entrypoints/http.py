"""The HTTP edge: one mapping from Vigil's errors to responses, and request-body reading."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

import structlog
from chalice.app import Request, Response

from chalicelib.domain.acklog import LogConflict
from chalicelib.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    VigilError,
)
from chalicelib.ports import StoreRefusedInput, StoreUnavailable

logger = structlog.get_logger()
P = ParamSpec("P")

STATUS: dict[type[VigilError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    TooManyRequests: 429,
}
MAX_PATH_PARAMETER = 512


@dataclass(frozen=True, slots=True)
class GatewayRefusal:
    """What API Gateway answers itself, before any function runs, in the API's one error shape."""

    status: int | None  # None: the gateway's own status
    code: str
    # Fixed text, never the gateway's own message: that one can quote the request's Authorization
    # header back (an unknown path called with a key).
    message: str

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


# infra/package.py writes these into the deployed API; the local stack's server answers the same.
GATEWAY_REFUSALS: dict[str, GatewayRefusal] = {
    # An unknown path or method: a 404, not the gateway's 403 "Missing Authentication Token".
    "MISSING_AUTHENTICATION_TOKEN": GatewayRefusal(404, "not_found", "no such route"),
    "REQUEST_TOO_LARGE": GatewayRefusal(413, "too_large", "the body is over API Gateway's 10 MB limit"),
    "THROTTLED": GatewayRefusal(429, "rate_limited", "too many requests; retry in a moment"),
    "DEFAULT_4XX": GatewayRefusal(None, "refused", "the request was refused before it reached the service"),
    # A function that failed or timed out: worth retrying.
    "DEFAULT_5XX": GatewayRefusal(
        503, "unavailable", "the service could not answer; retry with the same idempotency key"
    ),
}
JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def error_body(code: str, message: str, details: list[FieldError] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": [d.as_json() for d in details or []]}


def error_response(error: VigilError) -> Response:
    status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
    headers = {"WWW-Authenticate": 'Bearer realm="vigil"'} if status == 401 else None
    if isinstance(error, TooManyRequests):
        headers = {"Retry-After": str(error.retry_after)}
    return json_response(error_body(error.code, error.message, error.details), status, headers)


def api_errors[**P](view: Callable[P, Response]) -> Callable[P, Response]:
    """Every route's refusals come out in the one JSON error shape; a store outage is a 503."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except VigilError as exc:
            logger.info(
                "request.refused", error=exc.code, status=STATUS.get(type(exc), 400), reason=exc.message
            )
            return error_response(exc)
        except StoreRefusedInput as exc:
            # The store refused a value of the request (DynamoDB's ValidationException): the
            # caller's to mend, not a reason to retry.
            logger.info("request.refused_by_store", reason=str(exc))
            return error_response(
                InvalidInput(
                    "a value of the request cannot be stored or looked up",
                    [FieldError("body", "holds a value the store refuses (too long, empty or malformed)")],
                )
            )
        except (StoreUnavailable, LogConflict) as exc:
            logger.error("request.store_unavailable", reason=str(exc))
            return json_response(
                error_body(
                    "unavailable", "a backing service is unavailable; retry with the same idempotency key"
                ),
                503,
                {"Retry-After": "5"},
            )

    return wrapper


class RepeatedName(ValueError):
    """A JSON object gives one name twice: which value counts is a guess, so none does."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_repeated_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for name, item in pairs:
        if name in value:
            raise RepeatedName(name)
        value[name] = item
    return value


def read_json(request: Request, *, max_bytes: int) -> Any:
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > max_bytes:
        raise TooLarge(
            f"request body is {len(raw)} bytes; the limit is {max_bytes}",
            [FieldError("body", f"must be at most {max_bytes} bytes")],
        )
    if not raw.strip():
        raise InvalidInput("request body is empty", [FieldError("body", "expected a JSON object")])
    try:
        value = json.loads(raw, object_pairs_hook=_refuse_repeated_names)
    except RepeatedName as exc:
        raise InvalidInput(
            f"request body names {exc.name!r} twice",
            [FieldError(exc.name, "is given twice in one object; give it once")],
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "request body is not valid JSON",
            [FieldError("body", f"is not JSON at line {exc.lineno}, column {exc.colno}")],
        ) from None
    except (ValueError, RecursionError):
        raise InvalidInput(
            "request body is not valid JSON", [FieldError("body", "is not JSON, or nests too deeply")]
        ) from None
    try:
        # JSON may escape lone surrogates ("\ud800"), which no store or message can hold.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            "request body holds text that is not valid Unicode",
            [FieldError("body", "contains a lone surrogate (an escaped \\ud800-\\udfff on its own)")],
        ) from None
    return value


def _snake(code: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", code.removesuffix("Error")).lower()


def reshape_chalice_error(response: Response) -> Response:
    """Chalice answers 404/405/415 itself in its own shape; give them ours."""
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        return json_response(
            error_body(_snake(str(body["Code"])), str(body["Message"])),
            response.status_code,
            {k: str(v) for k, v in response.headers.items()},
        )
    return response


# Link pages show a notice to its recipient only: never framed, no scripts, no referrer.
LINK_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"


# A year: the longest lifetime browsers honour. Only an asset asked for under its current version is
# kept that long; any other address of it is checked again on every use.
IMMUTABLE = "public, max-age=31536000, immutable"


def asset_response(body: str, media_type: str, *, current: bool) -> Response:
    """A static file of the dashboard; ``current``: asked for under the version the page names."""
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": media_type,
            "Cache-Control": IMMUTABLE if current else "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


def html_response(body: str, status: int = 200, *, csp: str = LINK_PAGE_CSP) -> Response:
    return Response(
        body=body,
        status_code=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "Content-Security-Policy": csp,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )
