"""Secrets read at run time: Secrets Manager in AWS (Powertools Parameters), plain
settings locally.

Each secret is cached per Lambda container for SECRET_MAX_AGE_SECONDS, then read again:
a rotated value reaches running containers within that time, not only new ones.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from connectra.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

SECRET_MAX_AGE_SECONDS = 300


@lru_cache(maxsize=4)
def _provider(region: str) -> SecretsProvider:
    # Imported here: only AWS mode reads secrets, and boto3 is a large cold-start import.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    return SecretsProvider(boto_config=Config(region_name=region))


def secret_string(arn: str, region: str, max_age: int = SECRET_MAX_AGE_SECONDS) -> str:
    """The SecretString of a Secrets Manager secret, at most `max_age` seconds old."""
    return str(_provider(region).get(arn, max_age=max_age))


def clear_cache() -> None:
    """Forget every cached secret (tests): the providers, and with them their caches."""
    _provider.cache_clear()


def cursor_secret(settings: Settings) -> str:
    """The HMAC key of search_after cursors: the secret `CURSOR_SECRET_ARN` names in AWS,
    else `CURSOR_SECRET` (a public development value unless set)."""
    if settings.cursor_secret_arn:
        return secret_string(settings.cursor_secret_arn, settings.aws_region)
    return settings.cursor_secret
