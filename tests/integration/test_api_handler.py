"""The API Lambda answers an API Gateway REST proxy event from events/."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conftest import ROOT


def load_handler(relative: str) -> ModuleType:
    path = ROOT / relative
    name = "handler_" + "_".join(Path(relative).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_health_event_through_mangum_returns_ok(
    database_url: str, events_dir: Path, lambda_context: Any
) -> None:
    event = json.loads((events_dir / "api_health.json").read_text())
    api = load_handler("functions/api/handler.py")
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["status"] == "ok"
    assert "database" not in body  # the open check is shallow (/health/deep has it)


def stage_event(events_dir: Path, path: str, stage: str = "dev") -> dict[str, Any]:
    """A REST proxy event: `path` without the stage, as API Gateway sends it."""
    event: dict[str, Any] = json.loads((events_dir / "api_health.json").read_text())
    event.update(path=path, resource="/{proxy+}", pathParameters={"proxy": path.lstrip("/")})
    event["requestContext"].update(path=f"/{stage}{path}", stage=stage)
    return event


def test_docs_behind_a_stage_load_everything_from_that_stage(
    database_url: str, events_dir: Path, lambda_context: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("API_BASE_PATH", "dev")
    from connectra.settings import get_settings

    get_settings.cache_clear()
    try:
        api = load_handler("functions/api/handler.py")
    finally:
        monkeypatch.delenv("API_BASE_PATH")
        get_settings.cache_clear()

    for page in ("/docs", "/redoc"):
        response = api.handler(stage_event(events_dir, page), lambda_context)
        html = response["body"]
        assert response["statusCode"] == 200, html
        assert "/dev/openapi.json" in html
        assert "/dev/docs-assets/" in html
        assert "https://" not in html and "//cdn" not in html  # nothing from elsewhere
    asset = api.handler(
        stage_event(events_dir, "/docs-assets/swagger-ui-bundle.js"), lambda_context
    )
    assert asset["statusCode"] == 200
    spec = json.loads(api.handler(stage_event(events_dir, "/openapi.json"), lambda_context)["body"])
    assert spec["servers"] == [{"url": "/dev"}]
    assert "/contacts/" in spec["paths"]
