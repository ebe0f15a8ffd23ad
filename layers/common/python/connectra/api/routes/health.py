"""`GET /health`: open and shallow (the function answers); `GET /health/deep`: behind a
key, the status of each dependency.

The open check touches nothing behind the function: load balancers and uptime probes
call it often and without a key, and must not turn into database and search traffic
(nor into a way to load them). The deep one answers 503 when a dependency is down.
"""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from connectra import __version__
from connectra.api.deps import SettingsDep
from connectra.api.routes.records import get_engine
from connectra.db import search_structures
from connectra.db.pool import connection

router = APIRouter(tags=["health"])
deep_router = APIRouter(tags=["health"])


def database_status() -> dict[str, Any]:
    try:
        with connection() as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            # "postgres", "keys" or "partial": which search structure set the tables carry.
            structures = search_structures.status(conn)["set"]
        revision = next(iter(row.values())) if isinstance(row, dict) else (row[0] if row else None)
        return {"ok": True, "schema_revision": revision, "search_structures": structures}
    except Exception as exc:  # health must report, never raise
        return {"ok": False, "error": type(exc).__name__}


@router.get("/health", summary="Liveness: the API answers (no key, no dependency touched)")
def health(settings: SettingsDep) -> dict[str, str]:
    return {"status": "ok", "environment": settings.environment, "version": __version__}


# Any valid key may ask (the router carries the key check); says so as job routes do.
ANY_SCOPE: dict[str, Any] = {
    "openapi_extra": {"x-required-scope": "any"},
    "description": "Needs a valid key of any scope. 503 when a dependency is down.",
}


@deep_router.get(
    "/health/deep", summary="Readiness: the database and the search engine", **ANY_SCOPE
)
def deep_health(settings: SettingsDep) -> JSONResponse:
    database = database_status()
    search = get_engine().health()
    healthy = database["ok"] and search.get("ok", False)
    body = {
        "status": "ok" if healthy else "degraded",
        "environment": settings.environment,
        "search_backend": settings.search_backend,
        "database": database,
        "search": search,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
