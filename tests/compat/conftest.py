"""The compatibility suite: the request examples of the original's documents, sent as
written there to the app, with the documented status and response shape asserted.

Search examples run against the deterministic sample set `make run` loads (same size,
same seed), seeded once per module.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from connectra.local.seed import seed_sample_data
from connectra.local.stack import SAMPLE_COMPANIES, SAMPLE_CONTACTS
from connectra.settings import DEV_API_KEY, get_settings
from tests.api_app import fresh_app
from tests.conftest import DATA_TABLES

HEADERS = {"X-API-Key": DEV_API_KEY}


@pytest.fixture(scope="module")
def sample_db(database_url: str) -> str:
    """The session database holding exactly the sample set (for this module's tests)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} CASCADE")
    seed_sample_data(database_url, SAMPLE_COMPANIES, SAMPLE_CONTACTS)
    return database_url


def app_client() -> TestClient:
    get_settings.cache_clear()
    client = TestClient(fresh_app())
    client.headers.update(HEADERS)
    return client


@pytest.fixture
def api(sample_db: str) -> Iterator[TestClient]:
    """The app on the sample set, as an existing client calls it (with its API key)."""
    with app_client() as client:
        yield client
