"""The `connectra` command says in one line why it has no database, with an exit code a
script can test, instead of a traceback (connectra.cli.main.run)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from connectra.cli.main import NOT_CONFIGURED, UNREACHABLE, run
from connectra.settings import get_settings


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["connectra", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    return int(exited.value.code or 0)


@pytest.mark.usefixtures("fresh_settings")
def test_no_database_setting_is_a_usage_error_naming_the_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DATABASE_URL", "DB_SECRET_ARN", "DB_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert _run(monkeypatch, "search-structures") == NOT_CONFIGURED
    said = capsys.readouterr()
    assert "no database: set DATABASE_URL, or DB_SECRET_ARN and DB_HOST" in said.err
    assert "Traceback" not in said.err + said.out


@pytest.mark.usefixtures("fresh_settings")
def test_an_unreachable_database_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert _run(monkeypatch, "keys", "list") == UNREACHABLE
    said = capsys.readouterr()
    assert "cannot reach the database" in said.err
    assert "Traceback" not in said.err + said.out
