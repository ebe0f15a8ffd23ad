"""Issue 11 D13: what `make run` and the import CLI print.

On main the banner's curl example hard-coded port 8000 and printed the development key
even when API_KEYS had replaced it, and the CLI wrapped the error-report URL over several
lines so it could not be copied.
"""

from __future__ import annotations

import importlib
import json

import pytest

from connectra.cli import importer
from connectra.settings import DEV_API_KEY, get_settings


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_banner_uses_the_api_port_and_never_prints_a_replaced_key(
    settings_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_env.setenv("API_PORT", "18123")
    settings_env.setenv("API_KEYS", json.dumps({"secret-of-alice": "alice"}))
    from connectra.local import stack

    stack = importlib.reload(stack)  # API_PORT is read at import
    text = stack.banner("postgresql://local/connectra", 123, 0)
    assert DEV_API_KEY not in text and "secret-of-alice" not in text
    assert "8000" not in text
    assert "curl -s -X POST http://127.0.0.1:18123/contacts/" in text
    settings_env.delenv("API_KEYS")
    get_settings.cache_clear()
    assert f"X-API-Key: {DEV_API_KEY}'" in stack.banner("postgresql://local/connectra", 1, 0)
    settings_env.undo()
    importlib.reload(stack)


def test_the_error_report_url_prints_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = (
        "http://127.0.0.1:5001/connectra-local/reports/"
        + "a" * 300
        + "?X-Amz-Signature="
        + "f" * 64
    )
    job = {
        "job_id": "j",
        "status": "completed_with_errors",
        "counts": {"total": 2, "inserted": 1, "updated": 0, "duplicates": 0, "failed": 1},
        "error": None,
        "error_report_url": url,
        "notices": [],
    }
    importer.console.width = 80
    importer.print_summary(job)
    lines = capsys.readouterr().out.splitlines()
    assert f"error report: {url}" in lines
