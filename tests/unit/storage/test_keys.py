"""Object keys: every format round-trips, and settings and the CDK grants use the same prefixes."""

from __future__ import annotations

import uuid

from connectra.models.fields import Entity
from connectra.settings import Settings
from connectra.storage import keys
from infra import constants

JOB = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_upload_key_parses_back_into_its_parts() -> None:
    key = keys.upload_key("uploads", Entity.CONTACTS, JOB, "people.csv")

    assert key == f"uploads/contacts/{JOB}/people.csv"
    assert keys.parse_upload_key(key, "uploads") == keys.UploadKey(
        Entity.CONTACTS, JOB, "people.csv"
    )


def test_a_staged_key_is_not_an_upload_key_but_parses_as_staged() -> None:
    key = keys.staged_key("uploads", "key-1", JOB, "people.csv")

    assert keys.is_staged(key, "uploads")
    assert isinstance(keys.parse_upload_key(key, "uploads"), str)
    assert keys.parse_staged_key(key, "uploads") == keys.StagedKey(
        keys.owner_tag("key-1"), JOB, "people.csv"
    )


def test_manifest_report_and_export_keys_sit_under_their_prefixes() -> None:
    assert keys.chunks_manifest_key(JOB) == f"manifests/{JOB}/chunks.json"
    assert keys.retry_manifest_key(JOB, 2) == f"manifests/{JOB}/retry-2.json"
    assert keys.report_key("reports", JOB) == f"reports/{JOB}/errors.csv"
    assert keys.export_key("exports", JOB, Entity.COMPANIES, "csv.gz") == (
        f"exports/{JOB}/companies.csv.gz"
    )
    assert keys.export_part_key("exports", JOB, 7) == f"exports/{JOB}/parts/00007"


def test_settings_defaults_and_cdk_grants_use_the_key_module_prefixes() -> None:
    settings = Settings()

    assert (settings.upload_prefix, settings.export_prefix, settings.report_prefix) == (
        keys.UPLOADS_PREFIX,
        keys.EXPORTS_PREFIX,
        keys.REPORTS_PREFIX,
    )
    granted = {
        constants.UPLOADS_PREFIX,
        constants.EXPORTS_PREFIX,
        constants.REPORTS_PREFIX,
        constants.MANIFESTS_PREFIX,
    }
    assert granted == {prefix + "/" for prefix in keys.BUCKET_PREFIXES}
