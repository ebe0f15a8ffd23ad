"""Every error leaves the API as JSON `{error, message, details}`, decided here only."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from connectra.errors import ConnectraError, RateLimited
from connectra.observability import logger


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "where", "must", 0, "filter_key")` → `where.must[0].filter_key`."""
    parts: list[str] = []
    for item in loc:
        if item in ("body",) and not parts:
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "body"


# The original's messages for the errors it documented (constants/errors_message.go).
ORIGINAL_MESSAGES = {("limit", "less_than_equal"): "page size exceeds maximum limit"}


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        path = _location(error.get("loc", ()))
        kind = error.get("type", "value_error")
        message = ORIGINAL_MESSAGES.get((path, kind), error.get("msg", "invalid"))
        details.append({"path": path, "message": message, "type": kind})
    return details


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConnectraError)
    async def _domain_error(_request: Request, exc: ConnectraError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(exc, RateLimited) and isinstance(exc.details, dict):
            headers = {key: str(value) for key, value in exc.details.get("headers", {}).items()}
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(list(exc.errors()))
        first = details[0] if details else {"path": "body", "message": "invalid request"}
        return JSONResponse(
            error_body("validation_error", f"{first['path']}: {first['message']}", details), 400
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse(error_body("internal_error", "an unexpected error occurred"), 500)
