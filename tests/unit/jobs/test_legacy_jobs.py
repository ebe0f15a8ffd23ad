"""The original's job names: statuses as its pollers know them, requests translated."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from connectra.errors import ValidationFailed
from connectra.jobs.legacy import (
    LegacyJobRequest,
    legacy_status,
    states_reported_as,
    translate,
)
from connectra.jobs.models import FINISHED_STATUSES, JobStatus
from connectra.orchestration import service

CURRENT = TypeAdapter(service.JobCreateRequest)


@pytest.mark.parametrize(
    ("status", "legacy"),
    [
        ("awaiting_upload", "open"),
        ("open", "open"),
        ("in_queue", "in_queue"),
        ("processing", "processing"),
        ("completed", "completed"),
        ("completed_with_errors", "completed"),
        ("failed", "failed"),
        ("retry_in_queue", "retry_in_queued"),
        ("retrying", "retrying"),
        ("cancelled", "failed"),
    ],
)
def test_every_state_is_one_the_original_knew(status: str, legacy: str) -> None:
    assert legacy_status(status) == legacy


def test_every_job_status_has_a_legacy_name() -> None:
    original = {
        "open",
        "in_queue",
        "processing",
        "completed",
        "failed",
        "retry_in_queued",
        "retrying",
    }
    assert {legacy_status(status) for status in JobStatus} <= original


def test_a_state_added_later_maps_to_running_or_by_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "connectra.jobs.legacy.FINISHED_STATUSES", FINISHED_STATUSES | {"dead_lettered"}
    )

    assert legacy_status("waiting_for_capacity") == "processing"
    assert legacy_status("dead_lettered") == "failed"


def test_a_filter_on_completed_finds_jobs_completed_with_errors() -> None:
    assert sorted(states_reported_as(["completed"])) == ["completed", "completed_with_errors"]
    assert states_reported_as(["retry_in_queued"]) == ["retry_in_queue"]


def test_an_insert_request_takes_its_entity_from_data_or_the_upload_key() -> None:
    named = LegacyJobRequest(
        job_type="insert_csv_file",
        data={"file_path": "uploads/staged/a/b/c.csv", "service": "Contact"},
    )
    keyed = LegacyJobRequest(
        job_type="insert_csv_file",
        data={"key": "uploads/companies/00000000-0000-0000-0000-000000000001/c.csv"},
    )

    assert translate(named, "uploads", CURRENT).entity.value == "contacts"
    assert translate(keyed, "uploads", CURRENT).entity.value == "companies"


def test_an_export_request_takes_the_vql_keys_from_data() -> None:
    request = LegacyJobRequest(
        job_type="export_csv_file",
        data={"entity": "companies", "where": {"keyword_match": {"must": {"country": "x"}}}},
    )

    translated = translate(request, "uploads", CURRENT)

    assert translated.job_type == "export"
    assert translated.vql == {"where": {"keyword_match": {"must": {"country": "x"}}}}


def test_translation_errors_name_the_data_key() -> None:
    with pytest.raises(ValidationFailed) as raised:
        translate(LegacyJobRequest(job_type="insert_csv_file", data={}), "uploads", CURRENT)

    assert {problem["path"] for problem in raised.value.details} == {"data.entity", "data.s3_key"}


@pytest.mark.parametrize(
    "data",
    [{"s3_key": "a\x00b"}, {"k\x00": 1}, {"vql": {"where": {"x": ["ok", "n\x00"]}}}],
)
def test_data_that_jsonb_cannot_store_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="NUL"):
        LegacyJobRequest(job_type="export_csv_file", data=data)


def test_an_export_s_vql_that_jsonb_cannot_store_is_refused() -> None:
    with pytest.raises(ValueError, match="vql"):
        service.ExportJobRequest(job_type="export", entity="contacts", vql={"where\x00": {}})
