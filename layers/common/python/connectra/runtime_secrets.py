"""Secrets read at run time: Secrets Manager in AWS, plain settings locally.

Each secret is fetched once per Lambda container (cached by ARN); a rotated value reaches
new containers, and old ones when they are recycled.
"""

from __future__ import annotations

from functools import lru_cache

from connectra.settings import Settings


@lru_cache(maxsize=8)
def secret_string(arn: str, region: str) -> str:
    """The SecretString of a Secrets Manager secret."""
    import boto3  # only in AWS mode: keeps boto3 out of the local cold start

    client = boto3.client("secretsmanager", region_name=region)
    return str(client.get_secret_value(SecretId=arn)["SecretString"])


def cursor_secret(settings: Settings) -> str:
    """The HMAC key of search_after cursors: the secret `CURSOR_SECRET_ARN` names in AWS,
    else `CURSOR_SECRET` (a public development value unless set)."""
    if settings.cursor_secret_arn:
        return secret_string(settings.cursor_secret_arn, settings.aws_region)
    return settings.cursor_secret
