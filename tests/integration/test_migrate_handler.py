"""The migrate Lambda (CDK Trigger at deploy) brings an empty database to head, twice safely."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connectra.db import migrate
from connectra.local import postgres
from connectra.settings import get_settings
from tests.integration.test_api_handler import load_handler


@pytest.fixture
def empty_database(monkeypatch: pytest.MonkeyPatch) -> Any:
    server = postgres.server_url()
    name = f"connectra_trigger_{uuid.uuid4().hex[:8]}"
    url = postgres.ensure_database(postgres.with_database(server, name))
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    with psycopg.connect(postgres.with_database(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_trigger_event_migrates_an_empty_database_to_head(
    empty_database: str, events_dir: Path, lambda_context: Any
) -> None:
    event = json.loads((events_dir / "migrate_trigger.json").read_text())
    handler = load_handler("functions/migrate/handler.py")
    assert migrate.current_revision(empty_database) is None

    first = handler.handler(event, lambda_context)
    second = handler.handler(event, lambda_context)

    head = migrate.current_revision(empty_database)
    assert head is not None
    # No DB_APP_SECRET_ARN locally: the app role keeps NOLOGIN.
    assert first == second == {"revision": head, "app_role": None}
    assert os.environ["DATABASE_URL"] == empty_database
