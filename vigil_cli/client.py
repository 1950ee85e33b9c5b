"""A small HTTP client for Vigil's API: JSON in, JSON out, standard library only."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from vigil_cli import __version__

Json = Any
"""A decoded JSON value: dict, list, str, int, float, bool or None."""

USER_AGENT = f"vigil-cli/{__version__}"


class ClientError(Exception):
    """Base of everything :class:`VigilClient` raises."""


class ApiError(ClientError):
    """The API answered with a refusal (4xx/5xx; also an unexpected 3xx, which the API never sends).

    ``body`` is the API's JSON error (``{"error", "message", "details"}``); an answer that is not JSON
    (a proxy's HTML page, say) is put into that same shape.
    """

    def __init__(self, status: int, body: Json) -> None:
        self.status = status
        self.body = body
        error = body.get("error") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status} {error or ''}: {message or ''}".strip())


class ConnectionFailed(ClientError):
    """The API could not be reached, or did not answer in time."""


class UnexpectedResponse(ClientError):
    """A success status whose body is not JSON: the URL is probably not a Vigil API."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The API never redirects; following one could carry the key to another host."""

    def redirect_request(  # noqa: PLR0917  # urllib's signature
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def path_segment(value: str) -> str:
    """``value`` quoted as one path segment: an id can never add a ``/`` or ``..`` to the path."""
    return quote(value, safe="")


class VigilClient:
    def __init__(
        self,
        base_url: str,
        key: str | None,
        *,
        timeout: float = 30,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.key = key or None
        self.timeout = timeout
        self._opener = opener or urllib.request.build_opener(_NoRedirects())

    def request(
        self,
        method: str,
        path: str,
        body: Json = None,
        *,
        query: Mapping[str, str | int | None] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Json]:
        """Send one request; answer ``(status, decoded JSON or None for an empty body)``.

        Raises :class:`ApiError` for a refusal, :class:`ConnectionFailed` when the API cannot be
        reached or does not answer within ``timeout`` seconds, and :class:`UnexpectedResponse` for
        a success that is not JSON.
        """
        url = self.base_url + path
        params = {name: str(value) for name, value in (query or {}).items() if value is not None}
        if params:
            url += "?" + urlencode(params, quote_via=quote)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)  # noqa: S310  # scheme checked in __init__
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", USER_AGENT)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if self.key is not None:
            req.add_unredirected_header("Authorization", f"Bearer {self.key}")
        try:
            with self._opener.open(req, timeout=self.timeout) as response:
                status, raw = int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                raise ApiError(exc.code, _error_body(exc.code, exc.reason, exc.read())) from None
        except urllib.error.URLError as exc:
            raise ConnectionFailed(f"cannot reach {self.base_url}: {_reason(exc.reason)}") from None
        except TimeoutError:
            raise ConnectionFailed(
                f"no answer from {self.base_url} within {self.timeout:g}s "
                "(the request may or may not have been applied)"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectionFailed(f"connection to {self.base_url} failed: {_reason(exc)}") from None
        if not raw.strip():
            return status, None
        try:
            return status, json.loads(raw)
        except ValueError:
            raise UnexpectedResponse(
                f"{method} {url} answered {status} with a body that is not JSON: is this a Vigil API?"
            ) from None


def _error_body(status: int, reason: object, raw: bytes) -> Json:
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    if decoded is not None:
        return decoded
    text = raw.decode("utf-8", "replace").strip()
    message = f"HTTP {status} {reason}".strip() + (f": {text[:200]}" if text else "")
    return {"error": "http_error", "message": message, "details": []}


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__
