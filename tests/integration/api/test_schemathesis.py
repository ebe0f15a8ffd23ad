"""Property-based API test: schemathesis explores every route of the OpenAPI schema and
finds no 5xx and no response that breaks the documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import hypothesis_jsonschema._from_schema as jsonschema_strategies
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.conjecture.utils import _calc_p_continue
from schemathesis.checks import not_a_server_error, response_schema_conformance

from connectra.settings import DEV_API_KEY, get_settings
from tests.api_app import fresh_app


class _LegacyMany:
    """The `many` protocol (more/reject) hypothesis-jsonschema 0.23 drives when it draws
    objects; recent Hypothesis turned `many` into a context manager without `more()`, which
    breaks every object body. Same decisions as the old implementation."""

    def __init__(self, data: Any, min_size: int, max_size: float, average_size: float) -> None:
        self.data, self.min_size, self.max_size = data, min_size, max_size
        self.p_continue = _calc_p_continue(average_size - min_size, max_size - min_size)
        self.count = 0
        self.rejections = 0
        self.force_stop = False

    def more(self) -> bool:
        if self.min_size == self.max_size:
            go_on = self.count < self.min_size
        else:
            forced = None
            if self.force_stop or self.count >= self.max_size:
                forced = False
            elif self.count < self.min_size:
                forced = True
            go_on = self.data.draw_boolean(self.p_continue, forced=forced)
        if go_on:
            self.count += 1
        return bool(go_on)

    def reject(self, why: str | None = None) -> None:
        self.count -= 1
        self.rejections += 1
        if self.rejections > max(3, 2 * self.count):
            if self.count < self.min_size:
                self.data.mark_invalid(why)
            else:
                self.force_stop = True


if not hasattr(jsonschema_strategies.cu.many, "more"):
    jsonschema_strategies.cu = SimpleNamespace(many=_LegacyMany)  # type: ignore[assignment]


@pytest.fixture
def api_schema(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("RATE_LIMIT_BURST", "1000000")  # explore, don't get throttled
    get_settings.cache_clear()
    # FastAPI emits OpenAPI 3.1; schemathesis 3 reads it reliably as 3.0.
    yield schemathesis.from_asgi("/openapi.json", fresh_app(), force_schema_version="30")
    monkeypatch.undo()
    get_settings.cache_clear()


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    # The explicit-examples phase of schemathesis 3 breaks on this hypothesis version.
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_fails_and_keeps_its_schema(case: Any) -> None:
    response = case.call_asgi(headers={"X-API-Key": DEV_API_KEY})
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
