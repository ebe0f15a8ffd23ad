"""Overload degrades into fast 503s (issue 11 D1 and item 3, issue 12 item 5).

On main the pool waited 30 s for a connection (then a 500), and a dead database kept a
request through Mangum for 60 s. Now: a busy pool, a dead server or a statement timeout
answer 503 with Retry-After within about a second, locally and through the Lambda handler.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.api import guards
from connectra.api.app import create_app
from connectra.db.pool import close_pool, connection, get_pool
from connectra.settings import DEV_API_KEY, get_settings
from tests.integration.test_api_handler import load_handler
from tests.reliability.helpers import wait_until

HEADERS = {"X-API-Key": DEV_API_KEY}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes for one test; the settings and the pool follow them."""
    close_pool()
    get_settings.cache_clear()
    yield monkeypatch
    close_pool()
    monkeypatch.undo()
    get_settings.cache_clear()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_fast_503(status: int, headers: Any, elapsed: float, reason: str, body: Any) -> None:
    assert status == 503, body
    assert int(headers["retry-after"]) >= 1
    assert body["error"] == "service_unavailable"
    assert body["details"]["reason"] == reason
    assert elapsed < 5, f"took {elapsed:.1f}s"


def test_a_saturated_pool_answers_503_within_the_pool_wait(
    clean_db: str, env: pytest.MonkeyPatch
) -> None:
    env.setenv("DB_POOL_MAX_SIZE", "1")
    get_settings.cache_clear()
    app = create_app()
    held = get_pool().getconn()  # every connection of this process is busy
    try:
        with TestClient(app) as client:
            started = time.monotonic()
            response = client.get("/common/contacts/filters", headers=HEADERS)
            elapsed = time.monotonic() - started
        _assert_fast_503(
            response.status_code, response.headers, elapsed, "database_busy", response.json()
        )
        assert elapsed >= get_settings().db_pool_timeout_seconds * 0.9  # it did wait, briefly
    finally:
        get_pool().putconn(held)


def test_a_dead_database_answers_503_quickly(clean_db: str, env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{_closed_port()}/connectra")
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        started = time.monotonic()
        response = client.post("/contacts/count", headers=HEADERS, json={})
        elapsed = time.monotonic() - started
    _assert_fast_503(
        response.status_code, response.headers, elapsed, "database_busy", response.json()
    )


def test_a_dead_database_through_mangum_is_a_fast_503(
    clean_db: str, env: pytest.MonkeyPatch, events_dir: Path, lambda_context: Any
) -> None:
    env.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{_closed_port()}/connectra")
    get_settings.cache_clear()
    api = load_handler("functions/api/handler.py")
    event = json.loads((events_dir / "api_health.json").read_text())
    record = str(uuid.uuid4())
    event.update(
        resource="/{proxy+}",
        path=f"/contacts/{record}",
        headers={**event["headers"], "X-API-Key": DEV_API_KEY},
        multiValueHeaders={**event["multiValueHeaders"], "X-API-Key": [DEV_API_KEY]},
    )
    started = time.monotonic()
    response = api.handler(event, lambda_context)
    elapsed = time.monotonic() - started
    headers = {key.lower(): value for key, value in response["headers"].items()}
    _assert_fast_503(
        response["statusCode"], headers, elapsed, "database_busy", json.loads(response["body"])
    )
    # The open /health is shallow since the deploy branch (touches no dependency, 200):
    # readiness, which reports the dead database, is /health/deep behind a key.
    health = json.loads((events_dir / "api_health.json").read_text())
    health.update(
        resource="/{proxy+}",
        path="/health/deep",
        headers={**health["headers"], "X-API-Key": DEV_API_KEY},
        multiValueHeaders={**health["multiValueHeaders"], "X-API-Key": [DEV_API_KEY]},
    )
    started = time.monotonic()
    answer = api.handler(health, lambda_context)
    assert answer["statusCode"] == 503
    assert time.monotonic() - started < 5


def test_a_statement_timeout_is_a_503_not_a_500(clean_db: str, env: pytest.MonkeyPatch) -> None:
    env.setenv("API_STATEMENT_TIMEOUT_MS", "50")
    get_settings.cache_clear()
    app = create_app()

    @app.get("/slow-probe")
    def slow_probe() -> dict[str, str]:  # a query that outlives the API's statement timeout
        with connection() as conn:
            conn.execute("SELECT pg_sleep(2)")
        return {"status": "finished"}

    with TestClient(app) as client:
        started = time.monotonic()
        response = client.get("/slow-probe")
        elapsed = time.monotonic() - started
    _assert_fast_503(
        response.status_code, response.headers, elapsed, "statement_timeout", response.json()
    )
    assert elapsed < 1.5


def test_statement_timeouts_use_no_session_set(clean_db: str, env: pytest.MonkeyPatch) -> None:
    """RDS Proxy pins a connection on a session SET: the timeout is a startup option (the
    API's own, shorter one in an API process), or a SET LOCAL for one transaction."""
    env.setenv("API_STATEMENT_TIMEOUT_MS", "1234")
    get_settings.cache_clear()
    create_app()
    with connection() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == {"statement_timeout": "1234ms"}
        assert conn.execute(
            "SELECT source FROM pg_settings WHERE name = 'statement_timeout'"
        ).fetchone() == {"source": "client"}  # the startup packet, not a SET
    with connection(250) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == {"statement_timeout": "250ms"}
    with connection() as conn:  # back to the startup value once that transaction ended
        assert conn.execute("SHOW statement_timeout").fetchone() == {"statement_timeout": "1234ms"}


def test_an_unhandled_error_closes_the_connection_explicitly(clean_db: str) -> None:
    """D12: the server drops the connection after a 500; the response must say so."""
    app = create_app()

    @app.get("/broken-probe")
    def broken() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/broken-probe")
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.json()["error"] == "internal_error"


def test_requests_past_the_in_flight_limit_are_shed_at_once(
    clean_db: str, env: pytest.MonkeyPatch
) -> None:
    """Past API_MAX_IN_FLIGHT, a request is a 503 now, not a wait behind the others."""
    env.setenv("API_MAX_IN_FLIGHT", "1")
    get_settings.cache_clear()
    app = create_app()
    release = threading.Event()

    @app.get("/held-probe")
    def held() -> dict[str, str]:
        release.wait(10)
        return {"status": "released"}

    with TestClient(app) as client, ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(client.get, "/held-probe")
        wait_until(lambda: guards.in_flight() == 1, 10, "the first request in flight")
        started = time.monotonic()
        shed = client.post("/contacts/count", headers=HEADERS, json={})
        elapsed = time.monotonic() - started
        assert client.get("/health").status_code in (200, 503)  # exempt: never shed
        release.set()
        assert first.result(timeout=10).status_code == 200
    _assert_fast_503(
        shed.status_code, shed.headers, elapsed, "too_many_requests_in_flight", shed.json()
    )
    assert elapsed < 1
