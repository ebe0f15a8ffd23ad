"""FastAPI dependencies: the caller (API key), the database connection, repositories."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from psycopg import Connection
from pydantic import BaseModel

from connectra.api.ratelimit import TokenBucketLimiter
from connectra.db.pool import connection
from connectra.db.records import RecordRepository
from connectra.errors import RateLimited, Unauthorized
from connectra.models.fields import Entity
from connectra.settings import Settings, get_settings


class Caller(BaseModel):
    """Who is calling: the API key's id (its usage-plan key id in AWS)."""

    key_id: str


@lru_cache(maxsize=1)
def get_limiter() -> TokenBucketLimiter:
    settings = get_settings()
    return TokenBucketLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _apigateway_key_id(request: Request) -> str | None:
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    identity = (event.get("requestContext") or {}).get("identity") or {}
    key_id = identity.get("apiKeyId")
    return str(key_id) if key_id else None


def get_caller(request: Request, response: Response, settings: SettingsDep) -> Caller:
    if settings.auth_mode == "apigateway":
        # API Gateway already enforced the key, throttle and quota; we only need its id.
        key_id = _apigateway_key_id(request)
        if not key_id:
            raise Unauthorized("missing API key")
        return Caller(key_id=key_id)

    # One message for a missing and a wrong key, as the original answered both.
    api_key = request.headers.get("x-api-key")
    if not api_key:
        raise Unauthorized("invalid API key", {"hint": "send the key in the X-API-Key header"})
    consumer = settings.api_keys.get(api_key)
    if consumer is None:
        raise Unauthorized("invalid API key")
    decision = get_limiter().take(consumer)
    if not decision.allowed:
        raise RateLimited(
            "too many requests, please try again later",
            {"headers": decision.headers(), "retry_after_seconds": decision.retry_after_seconds},
        )
    for header, value in decision.headers().items():
        response.headers[header] = value
    return Caller(key_id=consumer)


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_conn() -> Iterator[Connection[Any]]:
    with connection() as conn:
        yield conn


ConnDep = Annotated[Connection[Any], Depends(get_conn)]


def get_contacts_repo(settings: SettingsDep) -> RecordRepository:
    return RecordRepository(Entity.CONTACTS, enqueue_search=settings.search_backend == "opensearch")


def get_companies_repo(settings: SettingsDep) -> RecordRepository:
    return RecordRepository(
        Entity.COMPANIES, enqueue_search=settings.search_backend == "opensearch"
    )
