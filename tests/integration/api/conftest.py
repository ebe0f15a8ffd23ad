"""An app client on the session database, with a fresh rate limiter per test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from connectra.api.app import create_app
from connectra.api.deps import get_limiter
from connectra.api.routes.records import _default_engine
from connectra.settings import DEV_API_KEY, get_settings

HEADERS = {"X-API-Key": DEV_API_KEY}


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    get_limiter.cache_clear()
    _default_engine.cache_clear()
    with TestClient(create_app()) as test_client:
        test_client.headers.update(HEADERS)
        yield test_client
    get_limiter.cache_clear()


@pytest.fixture
def tiny_burst(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """2 requests a minute on a frozen clock (the shared limiter's windows), to see 429s."""
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "2")
    get_settings.cache_clear()
    get_limiter.cache_clear()
    frozen = time.time()
    get_limiter().clock = lambda: frozen
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    get_limiter.cache_clear()
