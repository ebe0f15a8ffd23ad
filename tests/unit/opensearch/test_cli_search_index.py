"""`connectra reindex` / `reconcile` are registered and refuse to run without OpenSearch."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from connectra.cli.main import app
from connectra.settings import get_settings


@pytest.mark.parametrize("command", ["reindex", "reconcile"])
def test_commands_need_the_opensearch_backend(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCH_BACKEND", "postgres")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, [command, "--entity", "contacts"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "SEARCH_BACKEND is not opensearch" in result.output


def test_entity_must_be_known() -> None:
    result = CliRunner().invoke(app, ["reconcile", "--entity", "people"])
    assert result.exit_code == 2
    assert "people" in result.output
