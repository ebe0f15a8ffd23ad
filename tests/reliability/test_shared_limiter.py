"""D7: the rate limit is one limit across API processes, as advertised, on every response.

On main the limiter lived in each uvicorn worker: with RATE_LIMIT_PER_MINUTE=20, 200 of
250 requests passed while X-RateLimit-Limit said 100, wrong keys were never throttled
and 400/404 answers carried no limit headers. Here two separate API processes share the
PostgreSQL limiter: concurrent requests spread over both are admitted exactly up to the
advertised limit.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from connectra.consumers.limiter import SharedLimiter
from connectra.local import stack
from connectra.settings import get_settings
from tests.reliability.helpers import ROOT, wait_until, worker_env

DAILY = 25  # the day level: no window boundary during the test (unless at midnight UTC)
KEY = "shared-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(base: str) -> bool | None:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200 or None
    except httpx.HTTPError:
        return None


@pytest.fixture
def two_api_processes(clean_db: str) -> Iterator[list[str]]:
    """Two uvicorn processes (own pools, own memory) on the test database."""
    env = worker_env(
        DATABASE_URL=clean_db,
        API_KEYS=json.dumps({KEY: {"consumer": "acme", "plan": "pro"}}),
        RATE_LIMIT_PER_DAY=str(DAILY),
        RATE_LIMIT_PER_MINUTE="100000",
        RATE_LIMIT_BURST="100000",
        AUTH_FAILURES_PER_MINUTE="5",
    )
    bases, processes = [], []
    for _ in range(2):
        port = _free_port()
        command = [sys.executable, "-m", "uvicorn", "connectra.api.asgi:app", "--port", str(port)]
        processes.append(
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            wait_until(lambda base=base: _ready(base), 60, f"the API at {base}")
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def _count(base: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{base}/contacts/count", json={}, headers=headers, timeout=30)


def test_two_processes_admit_exactly_the_advertised_limit(two_api_processes: list[str]) -> None:
    # When 3x the daily limit arrives at once, spread over both processes
    targets = [two_api_processes[i % 2] for i in range(3 * DAILY)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda base: _count(base, {"X-API-Key": KEY}), targets))

    # Then exactly the limit passed, the rest are 429s naming the day, all told the same limit
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == DAILY
    assert statuses.count(429) == 2 * DAILY
    assert {response.headers["X-RateLimit-Limit"] for response in responses} == {str(DAILY)}
    refused = [response for response in responses if response.status_code == 429]
    assert {response.json()["details"]["level"] for response in refused} == {"day"}
    assert all(int(response.headers["Retry-After"]) >= 1 for response in refused)
    served = sorted(
        int(r.headers["X-RateLimit-Remaining"]) for r in responses if r.status_code == 200
    )
    assert served == list(range(DAILY))  # each remaining count told once: one shared counter


def test_errors_carry_limit_headers_and_wrong_keys_are_throttled_per_address(
    two_api_processes: list[str],
) -> None:
    first, second = two_api_processes
    headers = {"X-API-Key": KEY}

    # (limit 0 means the default since the compat branch, as in the original: over the max)
    invalid = httpx.post(f"{first}/contacts/", json={"limit": 101}, headers=headers)
    missing = httpx.get(f"{second}/contacts/{uuid.uuid4()}", headers=headers)
    wrong = [
        httpx.post(f"{[first, second][i % 2]}/contacts/count", json={}, headers={"X-API-Key": "x"})
        for i in range(6)
    ]
    valid_after = _count(first, headers)

    assert invalid.status_code == 400 and missing.status_code == 404
    for response in (invalid, missing):
        assert response.headers["X-RateLimit-Limit"] == str(DAILY)
        assert response.headers["X-RateLimit-Level"] == "day"
    # 5 failures a minute per address, counted across both processes
    assert [response.status_code for response in wrong] == [401] * 5 + [429]
    assert wrong[5].json()["details"]["level"] == "auth"
    assert int(wrong[5].headers["Retry-After"]) >= 1
    assert all("X-RateLimit-Remaining" in response.headers for response in wrong)
    # and the address stays throttled, whatever key it now sends
    assert valid_after.status_code == 429


def test_the_burst_setting_is_the_per_second_level(
    api: TestClient, limiter: SharedLimiter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given RATE_LIMIT_BURST=4 (main ignored it for the bucket size) on a frozen clock
    monkeypatch.setenv("RATE_LIMIT_BURST", "4")
    get_settings.cache_clear()
    frozen = 1_780_000_200.5
    limiter.clock = lambda: frozen
    headers = {"X-API-Key": "connectra-dev-key"}

    responses: list[Any] = [api.post("/contacts/count", json={}, headers=headers) for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 4 + [429]
    assert {r.headers["X-RateLimit-Limit"] for r in responses} == {"4"}
    assert responses[4].json()["details"]["level"] == "second"
    monkeypatch.undo()
    get_settings.cache_clear()


def test_make_run_restarts_the_api_when_a_limit_setting_changes() -> None:
    # main compared only 5 variables, so a new RATE_LIMIT_PER_MINUTE kept the old process
    api = next(service for service in stack.services() if service.name == "api")
    before = stack._config_of(api, {"RATE_LIMIT_PER_MINUTE": "20"})

    assert stack._config_of(api, {"RATE_LIMIT_PER_MINUTE": "20"}) == before
    for changed in (
        {"RATE_LIMIT_PER_MINUTE": "40"},
        {"RATE_LIMIT_PER_MINUTE": "20", "PLAN_SETTINGS": '{"free": {"per_day": 5}}'},
        {"RATE_LIMIT_PER_MINUTE": "20", "AUTH_FAILURES_PER_MINUTE": "3"},
    ):
        assert stack._config_of(api, changed) != before
