"""Events as AWS delivers them to our functions (API Gateway REST proxy, EventBridge)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"
TEST_KEY_ID = "test-key-id"


def api_request(
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    stage: str = "dev",
    key_id: str | None = TEST_KEY_ID,
) -> dict[str, Any]:
    """A REST API proxy event: `path` has no stage (API Gateway strips it), the context does."""
    event: dict[str, Any] = json.loads((EVENTS / "api_health.json").read_text())
    headers = {**event["headers"], "Content-Type": "application/json"}
    event.update(
        resource="/{proxy+}",
        path=path,
        httpMethod=method,
        headers=headers,
        multiValueHeaders={name: [value] for name, value in headers.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters=(
            {name: [value] for name, value in query.items()} if query else None
        ),
        pathParameters={"proxy": path.lstrip("/")},
        body=json.dumps(body) if body is not None else None,
    )
    event["requestContext"].update(
        resourcePath="/{proxy+}", httpMethod=method, path=f"/{stage}{path}", stage=stage
    )
    event["requestContext"]["identity"]["apiKeyId"] = key_id
    return event


def object_created(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "s3_object_created.json").read_text())
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"].update(key=key, size=size, etag=etag)
    return event


def schedule() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / "schedule.json").read_text())
    return document
