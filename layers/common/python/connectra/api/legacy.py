"""Routes of the original Connectra kept as aliases of today's.

An alias shares its endpoint function with the current route (one implementation; the
same dependencies, validation and response model) and is marked deprecated in OpenAPI,
with the route to move to in its summary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter
from pydantic import Field

# A response's `warnings`: what of the request was ignored, as the original ignored it.
# Left out of the body when empty, so responses keep the shape clients know.
LEGACY_WARNINGS: Any = Field(
    default_factory=list,
    exclude_if=lambda warnings: not warnings,
    description="Request keys ignored as the original ignored them (absent when none)",
)


def legacy_alias(
    router: APIRouter,
    path: str,
    endpoint: Callable[..., Any],
    replacement: str,
    *,
    method: str = "POST",
    options: Mapping[str, Any] | None = None,
) -> None:
    """Serve `endpoint` also at `path` (relative to the router's prefix), deprecated.

    `options` are the current route's scope options (`requires(...)`): the alias checks the
    same scope, since route dependencies are not part of the endpoint function.
    """
    scope = options or {}
    router.add_api_route(
        path,
        endpoint,
        methods=[method],
        dependencies=scope.get("dependencies"),
        openapi_extra=scope.get("openapi_extra"),
        deprecated=True,
        summary=f"Deprecated: the original's route; use {replacement}",
        operation_id=f"legacy_{method.lower()}{router.prefix}{path}".replace("/", "_")
        .replace("{", "")
        .replace("}", "")
        .replace("-", "_"),
    )
