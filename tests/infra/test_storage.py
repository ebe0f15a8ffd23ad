"""The data bucket: private, encrypted, TLS only, EventBridge on, lifecycle per prefix."""

from __future__ import annotations

from typing import Any

from infra import constants
from tests.infra.conftest import Synthesized


def _buckets(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return synth.resources(constants.DATA_STACK, "AWS::S3::Bucket")


def _data_bucket(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    (item,) = [(k, v) for k, v in _buckets(synth).items() if "DataBucket" in k]
    return item


def test_every_bucket_blocks_public_access_and_is_encrypted(any_env: Synthesized) -> None:
    buckets = _buckets(any_env)

    assert len(buckets) == 2  # data + its access logs
    for bucket in buckets.values():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]


def test_every_bucket_policy_denies_requests_without_tls(any_env: Synthesized) -> None:
    policies = any_env.resources(constants.DATA_STACK, "AWS::S3::BucketPolicy").values()
    bucket_ids = set(_buckets(any_env))

    protected = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                assert statement["Effect"] == "Deny"
                assert statement["Principal"] == {"AWS": "*"}
                assert statement["Action"] == "s3:*"
                protected.add(policy["Properties"]["Bucket"]["Ref"])
    assert protected == bucket_ids


def test_data_bucket_sends_events_to_eventbridge_and_logs_access(any_env: Synthesized) -> None:
    _, bucket = _data_bucket(any_env)
    properties = bucket["Properties"]

    assert properties["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True
    }
    assert "AccessLogsBucket" in properties["LoggingConfiguration"]["DestinationBucketName"]["Ref"]


def test_data_bucket_expires_each_prefix_as_configured(any_env: Synthesized) -> None:
    _, bucket = _data_bucket(any_env)
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    expirations = {r["Prefix"]: r["ExpirationInDays"] for r in rules if "Prefix" in r}
    config = any_env.config

    assert expirations == {
        constants.UPLOADS_PREFIX: config.upload_expiration_days,
        constants.EXPORTS_PREFIX: config.export_expiration_days,
        constants.REPORTS_PREFIX: config.report_expiration_days,
        constants.MANIFESTS_PREFIX: config.manifest_expiration_days,
    }
    assert any("AbortIncompleteMultipartUpload" in r for r in rules)


def test_prod_keeps_its_bucket_and_dev_does_not(dev: Synthesized, prod: Synthesized) -> None:
    assert _data_bucket(prod)[1]["DeletionPolicy"] == "Retain"
    assert _data_bucket(dev)[1]["DeletionPolicy"] == "Delete"
