"""The API's and the workers' database role (migration deploy_1 creates and grants it).

In AWS each role has its own Secrets Manager secret ({"username", "password"}): the
owner's for migrations, the app role's for everything else. After migrating, the migrate
function gives the app role LOGIN and its secret's password, so a rotated or recreated
secret takes effect on the next deploy (or the next run of the migrate function).
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import Connection, sql

from connectra.runtime_secrets import secret_string
from connectra.settings import Settings

APP_ROLE = "connectra_app"


def enable_login(conn: Connection[Any], username: str, password: str) -> None:
    """LOGIN with this password for the app role (only the role the migration made)."""
    if username != APP_ROLE:
        raise ValueError(f"the app role is {APP_ROLE}, not {username!r}")
    conn.execute(
        sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
            sql.Identifier(username), sql.Literal(password)
        )
    )


def sync_app_login(conn: Connection[Any], settings: Settings) -> str | None:
    """Give the app role its secret's password; the role name, or None without a secret."""
    if not settings.db_app_secret_arn:
        return None
    secret = json.loads(secret_string(settings.db_app_secret_arn, settings.aws_region))
    enable_login(conn, secret["username"], secret["password"])
    return str(secret["username"])
