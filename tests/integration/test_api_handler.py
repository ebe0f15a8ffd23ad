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
    assert body["database"]["ok"] is True
