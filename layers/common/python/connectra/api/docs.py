"""`/docs` (Swagger UI) and `/redoc` with their assets served by the app itself.

FastAPI's own pages load Swagger UI, ReDoc, a favicon and Google Fonts from public CDNs:
blank pages offline or under a strict content-security policy. Here every asset comes
from `static/` (copied from the npm packages by scripts/docs_assets.py, shipped in the
layer), and every URL is under the request's root path, so the pages also work behind
an API Gateway stage (`/dev/docs` loads `/dev/openapi.json`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS_PATH = "/docs-assets"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
FAVICON = "favicon-32x32.png"
REDOC_JS = "redoc.standalone.js"
ASSETS = {
    SWAGGER_JS: "text/javascript",
    SWAGGER_CSS: "text/css",
    FAVICON: "image/png",
    REDOC_JS: "text/javascript",
}
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def _prefix(request: Request) -> str:
    root_path: str = request.scope.get("root_path", "")
    return root_path.rstrip("/")


def install(app: FastAPI) -> None:
    """Add the two pages, the OAuth2 redirect page and the assets to an app created with
    `docs_url=None, redoc_url=None`."""
    openapi_url = app.openapi_url or "/openapi.json"

    # A route, not a StaticFiles mount: behind a stage the request path has no root-path
    # prefix, which a mount's path computation assumes; and only these files are served.
    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(status_code=404, detail="no such docs asset")
        path = STATIC_DIR / name
        if not path.is_file():
            raise HTTPException(
                status_code=404, detail=f"{name} is missing: run `make assets` (docs assets)"
            )
        # Versioned by package-lock.json; a day of caching spares the Lambda re-sending 3 MB.
        headers = {"Cache-Control": "public, max-age=86400"}
        return FileResponse(path, media_type=ASSETS[name], headers=headers)

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        prefix = _prefix(request)
        return get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=prefix + OAUTH2_REDIRECT_PATH,
            swagger_js_url=f"{prefix}{ASSETS_PATH}/{SWAGGER_JS}",
            swagger_css_url=f"{prefix}{ASSETS_PATH}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{prefix}{ASSETS_PATH}/{FAVICON}",
            # Swagger UI would otherwise ask a public validator service for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        prefix = _prefix(request)
        return get_redoc_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{prefix}{ASSETS_PATH}/{REDOC_JS}",
            redoc_favicon_url=f"{prefix}{ASSETS_PATH}/{FAVICON}",
            with_google_fonts=False,
        )


def missing_assets() -> list[str]:
    """The asset files not in the package (run `make assets`)."""
    return [name for name in ASSETS if not (STATIC_DIR / name).is_file()]
