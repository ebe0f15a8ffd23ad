"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from connectra import __version__
from connectra.api import docs
from connectra.api.deps import get_caller
from connectra.api.errors import register_error_handlers
from connectra.api.guards import RequestGuards
from connectra.api.middleware import add_transport_middleware
from connectra.api.ratelimit import RateLimitHeadersMiddleware
from connectra.api.routes import (
    admin,
    aggregate,
    batch_upsert,
    dry_run,
    filters,
    health,
    job_actions,
    jobs,
    records,
    uploads,
)
from connectra.api.routes.records import ERROR_RESPONSES, Responses
from connectra.db.pool import use_statement_timeout
from connectra.settings import get_settings

# Routers that need an API key, each with the error responses its routes document;
# each resource adds its router here. The responses are given when the app includes a
# router, not to `APIRouter(responses=...)`: FastAPI builds a response field per route
# and documented status code both for a router's own routes, when they are declared (at
# import), and for the app's copies of them, when first routed or documented. Those
# fields serve only the OpenAPI document, which comes from the app's copies; given here,
# only those are built (issue 13: about 25 ms of cold start; the same document).
PROTECTED_ROUTERS: list[tuple[APIRouter, Responses]] = [
    (records.contacts_router, ERROR_RESPONSES),
    (records.companies_router, ERROR_RESPONSES),
    (aggregate.contacts_aggregate_router, aggregate.AGGREGATE_RESPONSES),
    (aggregate.companies_aggregate_router, aggregate.AGGREGATE_RESPONSES),
    (filters.router, ERROR_RESPONSES),
    (batch_upsert.router, ERROR_RESPONSES),
    (uploads.router, {}),
    (dry_run.router, {}),
    (jobs.router, {}),
    (job_actions.router, {}),
    (admin.router, ERROR_RESPONSES),
    (health.deep_router, {}),
]


DESCRIPTION = """\
Search B2B contacts and companies with VQL, manage records, import CSV files and export
query results. Every route except `/health` needs an `X-API-Key`.

**Scopes.** Each key has scopes; a route names the one it needs (`x-required-scope`):
`read` (search, count, filters, export jobs), `write` (create, update, delete, upsert,
bulk, upload URLs, import jobs), `admin` (keys, usage). A key without the scope gets 403
`{"error": "forbidden", "details": {"scope": ...}}`. Listing and reading jobs needs only a
valid key (each key sees its own jobs); retrying or cancelling one needs the scope of
its type.

**Plans.** Each key has a plan (`free`, `pro`, `enterprise`). On `free`, premium fields
(contacts: `email`, `mobile_phone`, `linkedin_url`; companies: `phone`, also as a
contact's `company_phone` and populated `company.phone`) are null in every response and
export file, and filtering, sorting or aggregating on one is a 403 naming the field.

**Limits.** Per plan: requests a second, a minute and a day, all of which must pass; a
429 names the exhausted level (`second`, `minute`, `day`, `auth`, or a metered
operation: `export_rows`, `import_bytes`, `aggregation_calls`) and sets `Retry-After`.
`X-RateLimit-Limit/Remaining/Reset/Level` describe the tightest level on every response.
"""


def create_app() -> FastAPI:
    # This process serves the API: its statements stop long before API Gateway's 29 s.
    use_statement_timeout(get_settings().api_statement_timeout_ms)
    app = FastAPI(
        title="Connectra API",
        version=__version__,
        description=DESCRIPTION,
        # Served by connectra.api.docs with local assets (no CDN), under the root path.
        docs_url=None,
        redoc_url=None,
    )
    docs.install(app)
    register_error_handlers(app)
    app.add_middleware(RequestGuards)
    # Added after the guards, so outside them: their own refusals carry the limit headers.
    app.add_middleware(RateLimitHeadersMiddleware)
    # CORS and gzip outermost: preflights answer before any guard, every body compresses.
    add_transport_middleware(app, get_settings())
    app.include_router(health.router)
    for router, responses in PROTECTED_ROUTERS:
        app.include_router(router, dependencies=[Depends(get_caller)], responses=responses)
    return app
