"""The cursor key: Secrets Manager when its ARN is set, the plain setting otherwise."""

from __future__ import annotations

import boto3
from moto import mock_aws

from connectra import runtime_secrets
from connectra.settings import Settings


def test_the_cursor_key_comes_from_the_secret_named_by_its_arn() -> None:
    runtime_secrets.secret_string.cache_clear()
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="cursor", SecretString="s3cr3t-key")["ARN"]
        settings = Settings(cursor_secret_arn=arn, aws_region="us-east-1")

        assert runtime_secrets.cursor_secret(settings) == "s3cr3t-key"
        client.put_secret_value(SecretId=arn, SecretString="rotated")
        # Cached per container: a rotated key reaches new containers.
        assert runtime_secrets.cursor_secret(settings) == "s3cr3t-key"
    runtime_secrets.secret_string.cache_clear()


def test_without_an_arn_the_setting_is_the_key() -> None:
    assert runtime_secrets.cursor_secret(Settings(cursor_secret="local-key")) == "local-key"
