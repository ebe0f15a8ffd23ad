"""The sample events in events/ match what the deployed wiring delivers to the handlers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
)

from connectra.ingest.events import ChunkItem
from infra import constants
from tests.infra.conftest import Synthesized

EVENTS = constants.REPO_ROOT / "events"


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def _rule_pattern(synth: Synthesized) -> dict[str, Any]:
    rules = synth.resources(constants.APP_STACK, "AWS::Events::Rule").values()
    patterns: list[dict[str, Any]] = [
        r["Properties"]["EventPattern"] for r in rules if "EventPattern" in r["Properties"]
    ]
    (pattern,) = patterns
    return pattern


def test_s3_object_created_event_matches_the_ingest_rule(dev: Synthesized) -> None:
    event = _event("s3_object_created.json")
    pattern = _rule_pattern(dev)

    assert event["source"] in pattern["source"]
    assert event["detail-type"] in pattern["detail-type"]
    (prefix,) = pattern["detail"]["object"]["key"]
    assert event["detail"]["object"]["key"].startswith(prefix["prefix"])
    S3EventNotificationEventBridgeModel.model_validate(event)


def test_chunk_item_event_is_a_load_map_item() -> None:
    item = ChunkItem.model_validate(_event("ingest_chunk_item.json"))

    assert item.key.startswith(constants.UPLOADS_PREFIX)
    assert item.end_byte > item.start_byte


def test_schedule_event_is_a_scheduled_eventbridge_event() -> None:
    event = EventBridgeModel.model_validate(_event("schedule.json"))

    assert event.source == "aws.events"
    assert event.detail_type == "Scheduled Event"


def test_api_health_event_targets_the_route_that_needs_no_key() -> None:
    event = _event("api_health.json")

    assert event["httpMethod"] == "GET"
    assert event["resource"] == f"/{constants.HEALTH_PATH}"
    assert event["requestContext"]["identity"]["apiKey"] is None


def test_sam_can_find_every_function_asset(dev: Synthesized) -> None:
    # sam local reads the code folder from this metadata of the synthesized template.
    functions = dev.resources(constants.APP_STACK, "AWS::Lambda::Function").values()
    for function in functions:
        asset = function["Metadata"]["aws:asset:path"]
        assert (Path(dev.outdir) / asset).is_dir(), asset
