"""Request guards that run before routing (a pure ASGI middleware).

* Body size (issue 11 D11): a body over `API_MAX_BODY_BYTES` is a 413, whether it says so
  in Content-Length or streams more than it announced. The default, 6 MiB, is what a
  Lambda behind API Gateway accepts anyway.
* Requests in flight (issue 11 item 3): past `API_MAX_IN_FLIGHT` requests being served
  by this process, a request is refused at once with a 503 and `Retry-After` instead of
  queueing for a worker thread behind the others (the pool's 1 s wait bounds only the
  wait for a database connection). `/health` is exempt. A Lambda container serves one
  request at a time, so this only matters for a long-running server (`make run`).
* Lone UTF-16 surrogates (D4): JSON may escape one (`"\\ud800"`), Python then holds a
  string no encoder can write, and the database (and the error log) fail on it. A JSON
  body holding one anywhere, in a value or a key, is a 400 naming its path.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectra.api.errors import error_body, shorten
from connectra.settings import get_settings

_SURROGATE_ESCAPE = b"\\ud"  # every escaped surrogate starts so (case-folded below)


_EXEMPT_FROM_SHEDDING = ("/health",)
_in_flight = 0  # requests this process is serving (one event loop: no lock needed)


def in_flight() -> int:
    return _in_flight


class RequestGuards:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        global _in_flight
        if scope["type"] != "http" or scope["path"] in _EXEMPT_FROM_SHEDDING:
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        if _in_flight >= settings.api_max_in_flight:
            retry_after = settings.overload_retry_after_seconds
            await _reject(send, 503, _busy(retry_after), {"retry-after": str(retry_after)})
            return
        _in_flight += 1
        try:
            await self._checked(scope, receive, send)
        finally:
            _in_flight -= 1

    async def _checked(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = get_settings().api_max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _reject(send, 413, _too_large(limit, declared))
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await _reject(send, 413, _too_large(limit, None))
                return
        problem = surrogate_problem(bytes(body))
        if problem is not None:
            await _reject(send, 400, problem)
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def surrogate_problem(body: bytes) -> dict[str, Any] | None:
    """The 400 body for a JSON document holding a lone surrogate, else None."""
    if _SURROGATE_ESCAPE not in body.lower():
        return None  # the cheap test: valid UTF-8 bytes cannot hold a surrogate
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: the route reports it
    path = _find_surrogate(document, "")
    if path is None:
        return None
    message = "contains a lone UTF-16 surrogate (not valid Unicode text)"
    return error_body(
        "validation_error",
        f"{path}: {message}",
        [{"path": path, "message": message, "type": "invalid_unicode"}],
    )


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(key: str) -> str:
    return shorten(key.encode("utf-8", "backslashreplace").decode("utf-8"))


def _find_surrogate(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return (path or "body") if _has_surrogate(value) else None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_surrogate(item, f"{path}[{index}]")
            if found is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{_printable(key)}" if path else _printable(key)
            if _has_surrogate(key):
                return child
            found = _find_surrogate(item, child)
            if found is not None:
                return found
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int, declared: int | None) -> dict[str, Any]:
    return error_body(
        "payload_too_large",
        f"request body over {limit} bytes",
        {"max_bytes": limit, "content_length": declared},
    )


def _busy(retry_after: int) -> dict[str, Any]:
    return error_body(
        "service_unavailable",
        "the service is busy; retry after a moment",
        {"reason": "too_many_requests_in_flight", "retry_after_seconds": retry_after},
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reject(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    extra = [(name.encode(), value.encode()) for name, value in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
