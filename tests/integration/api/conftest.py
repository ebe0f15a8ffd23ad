"""An app client on the session database, with a fresh rate limiter per test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from connectra.consumers.limiter import SharedLimiter
from connectra.settings import DEV_API_KEY, get_settings
from tests.api_app import fresh_app

HEADERS = {"X-API-Key": DEV_API_KEY}


@pytest.fixture
def limiter() -> SharedLimiter:
    """The shared limiter of this test's app (a fresh one: no request of another test)."""
    return SharedLimiter()


@pytest.fixture
def client(clean_db: str, limiter: SharedLimiter) -> Iterator[TestClient]:
    with TestClient(fresh_app(limiter)) as test_client:
        test_client.headers.update(HEADERS)
        yield test_client


@pytest.fixture
def tiny_burst(monkeypatch: pytest.MonkeyPatch, limiter: SharedLimiter) -> Iterator[None]:
    """2 requests a minute on a frozen clock (the shared limiter's windows), to see 429s."""
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "2")
    get_settings.cache_clear()
    frozen = time.time()
    limiter.clock = lambda: frozen
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
