"""The project's own error types; app.py maps each to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One reason a field of the input was refused."""

    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""

    code = "error"

    def __init__(self, message: str, details: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[FieldError] = list(details or [])


class InvalidInput(VigilError):
    """The client sent something we refuse; ``details`` names every bad field."""

    code = "invalid_input"


class Unauthorized(VigilError):
    code = "unauthorized"


class Forbidden(VigilError):
    code = "forbidden"


class NotFound(VigilError):
    code = "not_found"


class Conflict(VigilError):
    code = "conflict"


class ChangedMeanwhile(Conflict):
    """A write based on a record that another writer changed since it was read: refused, so neither
    change is lost; the writer reads the record again and reapplies its change."""


class TooLarge(VigilError):
    code = "too_large"


class UnsupportedMediaType(VigilError):
    code = "unsupported_media_type"


class TooManyRequests(VigilError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
