"""The cursor key: Secrets Manager when its ARN is set, the plain setting otherwise."""

from __future__ import annotations

import boto3
from moto import mock_aws

from connectra import runtime_secrets
from connectra.settings import Settings


def test_the_cursor_key_comes_from_the_secret_named_by_its_arn() -> None:
    runtime_secrets.clear_cache()
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="cursor", SecretString="s3cr3t-key")["ARN"]
        settings = Settings(cursor_secret_arn=arn, aws_region="us-east-1")

        assert runtime_secrets.cursor_secret(settings) == "s3cr3t-key"
        client.put_secret_value(SecretId=arn, SecretString="rotated")
        # Cached for SECRET_MAX_AGE_SECONDS: the rotated key is not read yet...
        assert runtime_secrets.cursor_secret(settings) == "s3cr3t-key"
        # ...but a value cached with a max age it has outlived is read again.
        runtime_secrets.clear_cache()
        assert runtime_secrets.secret_string(arn, "us-east-1", max_age=0) == "rotated"
        client.put_secret_value(SecretId=arn, SecretString="rotated again")
        assert runtime_secrets.secret_string(arn, "us-east-1", max_age=0) == "rotated again"
    runtime_secrets.clear_cache()


def test_without_an_arn_the_setting_is_the_key() -> None:
    assert runtime_secrets.cursor_secret(Settings(cursor_secret="local-key")) == "local-key"
