"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from connectra import __version__
from connectra.api import docs
from connectra.api.deps import get_caller
from connectra.api.errors import register_error_handlers
from connectra.api.routes import filters, health, job_actions, jobs, records, uploads

# Routers that need an API key; each resource adds its router here.
PROTECTED_ROUTERS: list[APIRouter] = [
    records.contacts_router,
    records.companies_router,
    filters.router,
    uploads.router,
    jobs.router,
    job_actions.router,
    health.deep_router,
]


def create_app() -> FastAPI:
    app = FastAPI(
        title="Connectra API",
        version=__version__,
        description=(
            "Search B2B contacts and companies with VQL, manage records, import CSV files "
            "and export query results. Every route except `/health` needs an `X-API-Key`."
        ),
        # Served by connectra.api.docs with local assets (no CDN), under the root path.
        docs_url=None,
        redoc_url=None,
    )
    docs.install(app)
    register_error_handlers(app)
    app.include_router(health.router)
    for router in PROTECTED_ROUTERS:
        app.include_router(router, dependencies=[Depends(get_caller)])
    return app
