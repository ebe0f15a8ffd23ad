"""CORS and gzip, as the original's middleware chain had them.

CORS answers preflight `OPTIONS` requests itself, before routing and before the API-key
check (a browser sends no key on a preflight). Gzip applies to responses of at least
`gzip_minimum_bytes` when the client sends `Accept-Encoding: gzip`.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from connectra.settings import Settings

# Headers a browser client may send, and the ones its scripts may read.
REQUEST_HEADERS = ["Content-Type", "X-API-Key", "Idempotency-Key", "Authorization"]
EXPOSED_HEADERS = [
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
PREFLIGHT_MAX_AGE_SECONDS = 600


def allowed_origins(settings: Settings) -> list[str]:
    return [origin.strip() for origin in settings.cors_allow_origins.split(",") if origin.strip()]


def add_transport_middleware(app: FastAPI, settings: Settings) -> None:
    if settings.gzip_minimum_bytes > 0:
        app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_minimum_bytes)
    origins = allowed_origins(settings)
    if origins:
        # Added last, so it runs first: preflights never reach gzip, auth or the routes.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )
