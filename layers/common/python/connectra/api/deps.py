"""FastAPI dependencies: the caller (API key → consumer, rate limits, scopes, plan gate),
the database connection, settings, the shared limiter, the launcher, repositories and the
cursor secret. Tests replace any of them with `app.dependency_overrides`."""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from psycopg import Connection

from connectra.consumers.access import Consumer, Scope
from connectra.consumers.gating import PlanGate, gate_for
from connectra.consumers.keys import KeyResolver
from connectra.consumers.limiter import Decision, Level, SharedLimiter, plan_levels
from connectra.consumers.metering import UsageMeter
from connectra.db.pool import connection
from connectra.db.records import RecordRepository
from connectra.errors import Forbidden, RateLimited, Unauthorized
from connectra.models.fields import Entity
from connectra.runtime_secrets import cursor_secret
from connectra.settings import Settings, get_settings
from connectra.storage.s3 import get_store

if TYPE_CHECKING:
    from connectra.orchestration.launchers import StepFunctionsLauncher

# The caller of a request: its consumer, plan and scopes (connectra.consumers).
Caller = Consumer


@lru_cache(maxsize=1)
def get_limiter() -> SharedLimiter:
    return SharedLimiter()


@lru_cache(maxsize=1)
def get_meter() -> UsageMeter:
    return UsageMeter()


@lru_cache(maxsize=1)
def default_launcher() -> "StepFunctionsLauncher":
    # Imported here: only job creates and retries start runs, and the orchestration
    # modules pull in the ingest step models (cold start).
    from connectra.orchestration.launchers import aws_launcher

    return aws_launcher(get_store())


def get_launcher() -> "StepFunctionsLauncher":
    """Starts a created or retried job's execution before the response (when its state
    machine is configured; locally the sweeper starts it)."""
    return default_launcher()


_resolver: tuple[Settings, KeyResolver] | None = None


def get_key_resolver() -> KeyResolver:
    """One resolver (and key cache) per process and settings object."""
    global _resolver
    settings = get_settings()
    if _resolver is None or _resolver[0] is not settings:
        _resolver = (settings, KeyResolver(settings))
    return _resolver[1]


SettingsDep = Annotated[Settings, Depends(get_settings)]
LimiterDep = Annotated[SharedLimiter, Depends(get_limiter)]
LauncherDep = Annotated["StepFunctionsLauncher", Depends(get_launcher)]


def get_cursor_secret(settings: SettingsDep) -> str:
    """The HMAC key of search_after cursors (Secrets Manager in AWS), handed to the parser."""
    return cursor_secret(settings)


CursorSecretDep = Annotated[str, Depends(get_cursor_secret)]


def _apigateway_key_id(request: Request) -> str | None:
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    identity = (event.get("requestContext") or {}).get("identity") or {}
    key_id = identity.get("apiKeyId")
    return str(key_id) if key_id else None


def _refusal(decision: Decision, message: str) -> RateLimited:
    blocking = decision.exhausted_level or decision.tightest
    return RateLimited(
        message,
        {
            "level": blocking.level.name,
            "limit": blocking.level.limit,
            "retry_after_seconds": decision.retry_after_seconds,
            "headers": decision.headers(),
        },
    )


def _gateway_caller(request: Request) -> Consumer:
    # API Gateway already enforced the key, its throttle and quota; the key table says who.
    key_id = _apigateway_key_id(request)
    if not key_id:
        raise Unauthorized("missing API key")
    consumer = get_key_resolver().by_gateway_key_id(key_id)
    if consumer is None:
        raise Forbidden(
            "this API key is not registered in the key table or was revoked "
            "(connectra keys create / connectra keys update)",
            {"key_id": key_id},
        )
    return consumer


def _local_caller(request: Request, settings: Settings, limiter: SharedLimiter) -> Consumer:
    """The key from X-API-Key, counted by the shared limiter; wrong keys count against
    the client address."""
    api_key = request.headers.get("x-api-key")
    consumer = get_key_resolver().by_value(api_key) if api_key else None
    address = request.client.host if request.client else "unknown"
    auth_level = Level("auth", 60, settings.auth_failures_per_minute)
    with connection() as conn:
        decision = limiter.peek(conn, f"addr:{address}", auth_level)
        if decision.allowed:
            if consumer is None:
                decision = limiter.take(conn, f"addr:{address}", [auth_level], count_refused=True)
            else:
                decision = limiter.take(conn, f"key:{consumer.key_id}", plan_levels(consumer.plan))
    request.state.rate_limit_headers = decision.headers()
    if not decision.allowed:
        what = "failed authentications from this address" if consumer is None else "requests"
        raise _refusal(decision, f"too many {what}, please try again later")
    if consumer is None:
        # One message for a missing and a wrong key, as the original answered both.
        hint = {"hint": "send the key in the X-API-Key header"} if not api_key else None
        raise Unauthorized("invalid API key", hint)
    return consumer


def get_caller(request: Request, settings: SettingsDep, limiter: LimiterDep) -> Consumer:
    if settings.auth_mode == "apigateway":
        return _gateway_caller(request)
    return _local_caller(request, settings, limiter)


CallerDep = Annotated[Consumer, Depends(get_caller)]


def requires(scope: Scope) -> dict[str, Any]:
    """Route options for a route that needs `scope`: the check (403 naming the scope) and
    the OpenAPI mention (`x-required-scope` and the description)."""

    def check(caller: CallerDep) -> Consumer:
        caller.require(scope)
        return caller

    return {
        "dependencies": [Depends(check)],
        "openapi_extra": {"x-required-scope": scope.value},
        "description": f"Needs the `{scope.value}` scope.",
    }


def get_gate(caller: CallerDep) -> PlanGate:
    return gate_for(caller)


GateDep = Annotated[PlanGate, Depends(get_gate)]


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


# The repository dependency of each entity's routes (tests override these two callables).
RECORD_REPOSITORIES = {Entity.CONTACTS: get_contacts_repo, Entity.COMPANIES: get_companies_repo}
