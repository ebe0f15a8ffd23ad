"""Fixtures of the reliability suite: the session database (tests/conftest.py), in-process
moto S3 (`s3`, `store` from the ingest tests), and a moto *server* for worker processes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from connectra.consumers.limiter import SharedLimiter
from connectra.settings import get_settings
from connectra.storage.s3 import ObjectStore, get_store
from tests.api_app import fresh_app
from tests.conftest import moto_http_server
from tests.integration.ingest.conftest import s3, store  # noqa: F401  (fixtures reused)

SERVER_BUCKET = "connectra-reliability"


@pytest.fixture
def moto_server(clean_db: str) -> Iterator[str]:
    """A real HTTP S3 (moto server) that worker processes reach through S3_ENDPOINT_URL."""
    with moto_http_server(SERVER_BUCKET) as endpoint:
        yield endpoint


@pytest.fixture
def server_store(moto_server: str) -> ObjectStore:
    return get_store()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Batches of 50 rows: a chunk commits many batches' worth of work in one transaction."""
    monkeypatch.setenv("INGEST_BATCH_SIZE", "50")
    get_settings.cache_clear()
    yield 50
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def two_consumers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Two API keys of two consumers (alice, bob); returns consumer → key."""
    keys = {"alice": "key-of-alice", "bob": "key-of-bob"}
    monkeypatch.setenv("API_KEYS", json.dumps({key: name for name, key in keys.items()}))
    get_settings.cache_clear()
    yield keys
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def limiter() -> SharedLimiter:
    """The shared limiter of this test's app (a fresh one: no request of another test)."""
    return SharedLimiter()


@pytest.fixture
def api(clean_db: str, limiter: SharedLimiter) -> Iterator[TestClient]:
    """The app with no default key (each test sends its own), fresh limiter and engine."""
    with TestClient(fresh_app(limiter)) as client:
        yield client
