"""Domain exceptions. The API turns them into JSON errors in one place."""

from __future__ import annotations

from typing import Any


class ConnectraError(Exception):
    """Base of every error the product reports to a caller."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailed(ConnectraError):
    status_code = 400
    code = "validation_error"


class NotFound(ConnectraError):
    status_code = 404
    code = "not_found"


class Conflict(ConnectraError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ConnectraError):
    status_code = 413
    code = "payload_too_large"


class Unauthorized(ConnectraError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ConnectraError):
    status_code = 403
    code = "forbidden"


class RateLimited(ConnectraError):
    status_code = 429
    code = "rate limit exceeded"  # the original's words, which its clients test for


class DependencyUnavailable(ConnectraError):
    status_code = 503
    code = "dependency_unavailable"
