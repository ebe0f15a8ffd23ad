"""/docs and /redoc render in a real browser with no network but the app's own server.

Headless Chromium (Debian's `chromium`; `make chromium` installs it) loads the pages from
the app under a root path, as behind an API Gateway stage, with every other host
unresolvable: a page that needed a CDN would render no operation. Swagger UI must show
every route of the OpenAPI document; ReDoc must render the API's title.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from connectra.api.app import create_app
from connectra.api.docs import missing_assets

ROOT_PATH = "/dev"
BROWSER_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The app on a free port; its pages live under ROOT_PATH as behind a stage."""
    assert not missing_assets(), f"docs assets missing: {missing_assets()} (make assets)"
    app = create_app()
    app.root_path = ROOT_PATH
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    ready = threading.Event()
    for _ in range(200):  # until the socket answers (uvicorn sets `started`)
        if instance.started:
            ready.set()
            break
        ready.wait(0.05)
    assert ready.is_set(), "the app did not start"
    try:
        yield base
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran, with only 127.0.0.1 reachable."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("chromium is not installed: run `make chromium`")
    completed = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # tests run as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_SECONDS,
        check=True,
    )
    return completed.stdout


def test_swagger_ui_renders_every_route_without_the_internet(server: str) -> None:
    spec = httpx.get(f"{server}/openapi.json", timeout=60).json()
    operations = [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
    assert len(operations) >= 12

    dom = rendered_dom(f"{server}/docs")

    missing = [
        (method, path)
        for method, path in operations
        if f'data-path="{path}"' not in dom and f">{path}<" not in dom
    ]
    assert "opblock" in dom, "Swagger UI did not render (an asset failed to load?)"
    assert missing == []


def test_redoc_renders_the_api_without_the_internet(server: str) -> None:
    dom = rendered_dom(f"{server}/redoc")

    assert "Connectra API" in dom
    assert "redoc-wrap" in dom or "api-content" in dom, "ReDoc did not render"
