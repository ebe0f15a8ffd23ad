"""Fuzz stage (issue 11 item 5): the whole OpenAPI, with hostile Unicode.

Two passes, zero 5xx allowed, every error the documented `{error, message, details}`:
1. schemathesis generates requests for every operation of the schema, NUL characters
   allowed in every string;
2. each operation's generated body then has its strings and keys replaced with lone
   UTF-16 surrogates, NUL, 100k-character strings, bidi and zero-width characters.
Would have found D3 (long array items), D4 (surrogates), D8 (NUL in a cursor) and D10
(a NUL failing a whole bulk batch) on main.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

import tests.integration.api.test_schemathesis  # noqa: F401  (hypothesis-jsonschema shim)
from connectra.settings import DEV_API_KEY, get_settings
from tests.api_app import fresh_app

pytestmark = pytest.mark.fuzz

HOSTILE_TEXT = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "x\x00y",
    "z" * 100_000,
    "\u202e\u200b\ufeff",
    "😀" * 1_000,
    "' OR 1=1 --",
]
KEY = {"X-API-Key": DEV_API_KEY}


@pytest.fixture
def fuzz_app(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("RATE_LIMIT_BURST", "1000000")  # explore, don't get throttled
    get_settings.cache_clear()
    yield fresh_app()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def fuzz_schema(fuzz_app: Any) -> Any:
    # FastAPI emits OpenAPI 3.1; schemathesis 3 reads it reliably as 3.0.
    return schemathesis.from_asgi(
        "/openapi.json",
        fuzz_app,
        force_schema_version="30",
        generation_config=schemathesis.GenerationConfig(allow_x00=True),
    )


schema = schemathesis.from_pytest_fixture("fuzz_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_requests_with_nul_never_fail(case: Any) -> None:
    response = case.call_asgi(headers=KEY)
    case.validate_response(response, checks=(not_a_server_error,))


def _mutate(value: Any, draw: Any) -> Any:
    """The same document with some strings (values and keys) made hostile."""
    if isinstance(value, str):
        return draw(st.sampled_from(HOSTILE_TEXT)) if draw(st.booleans()) else value
    if isinstance(value, list):
        return [_mutate(item, draw) for item in value]
    if isinstance(value, dict):
        mutated: dict[str, Any] = {}
        for key, item in value.items():
            hostile_key = draw(st.integers(0, 9)) == 0
            mutated[draw(st.sampled_from(HOSTILE_TEXT)) if hostile_key else key] = _mutate(
                item, draw
            )
        return mutated
    return value


def _operations(app: Any) -> list[Any]:
    loaded = schemathesis.from_asgi("/openapi.json", app, force_schema_version="30")
    return [result.ok() for result in loaded.get_all_operations()]


def test_hostile_unicode_in_every_operation_never_fails(fuzz_app: Any) -> None:
    operations = [op for op in _operations(fuzz_app) if op.body]
    assert len(operations) >= 10  # every JSON-body route of the API
    client = TestClient(fuzz_app, raise_server_exceptions=False)

    @settings(
        max_examples=120,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def explore(data: Any) -> None:
        operation = data.draw(st.sampled_from(operations), label="operation")
        case = data.draw(operation.as_strategy(), label="case")
        body = _mutate(case.body, data.draw) if case.body is not None else {}
        raw = json.dumps(body)  # ensure_ascii: surrogates travel as \\udXXX escapes
        path = case.formatted_path
        response = client.request(
            operation.method.upper(),
            path,
            content=raw,
            params=case.query,
            headers={**KEY, "Content-Type": "application/json"},
        )
        assert response.status_code < 500, (operation.verbose_name, raw[:300], response.text)
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "message", "details"}

    explore()
