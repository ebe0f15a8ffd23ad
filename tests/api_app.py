"""The API app as tests use it: the process-wide cached dependencies (shared limiter,
search engine, launcher) replaced through `app.dependency_overrides` by ones made for
this app from the current settings, so no test inherits another's limiter state or
clients built from other settings."""

from __future__ import annotations

from fastapi import FastAPI

from connectra.api.app import create_app
from connectra.api.deps import get_launcher, get_limiter
from connectra.api.routes.records import get_engine
from connectra.consumers.limiter import SharedLimiter
from connectra.orchestration.launchers import aws_launcher
from connectra.search.factory import get_search_engine
from connectra.settings import get_settings
from connectra.storage.s3 import get_store


def fresh_app(limiter: SharedLimiter | None = None) -> FastAPI:
    """A new app with its own limiter (`limiter`, or a new one); its search engine and
    launcher are built per request from the settings in force."""
    app = create_app()
    own_limiter = limiter or SharedLimiter()
    app.dependency_overrides[get_limiter] = lambda: own_limiter
    app.dependency_overrides[get_engine] = lambda: get_search_engine(get_settings())
    app.dependency_overrides[get_launcher] = lambda: aws_launcher(get_store())
    return app
