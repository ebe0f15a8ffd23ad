"""`connectra keys create|list|revoke|update`: API keys, their consumer, plan and scopes.

In AWS (the default) a key is an API Gateway key in its plan's usage plan (throttle and
quota) plus a row of the key table (consumer, plan, scopes) that the API reads; the AWS
account and region are boto3's usual ones, the database is DATABASE_URL (or
DB_SECRET_ARN + DB_HOST). With `--local` a key lives only in the key table of the local
database (its value hashed), for `make run`. Mounted by the main command.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

import boto3
import psycopg
import typer

from connectra.aws.apigateway_keys import ApiKey, ApiKeyManager, KeyManagementError
from connectra.consumers import key_table
from connectra.consumers.access import ALL_SCOPES, Scope, parse_scopes
from connectra.consumers.key_table import KeyRecord
from connectra.consumers.plans import get_plan
from connectra.db.pool import conninfo_from_settings
from connectra.settings import get_settings

app = typer.Typer(help="API keys: consumer, plan (usage plan) and scopes.", no_args_is_help=True)

EnvironmentOption = Annotated[
    str,
    typer.Option(
        "--env", envvar="CONNECTRA_ENV", help="Deployed environment: dev, staging or prod."
    ),
]
RegionOption = Annotated[
    str | None, typer.Option("--region", envvar="AWS_REGION", help="AWS region of the API.")
]
LocalOption = Annotated[
    bool, typer.Option("--local", help="Only the local key table (make run), no AWS.")
]
ScopesOption = Annotated[
    str | None, typer.Option("--scopes", help="Comma-separated: read, write, admin.")
]

P = ParamSpec("P")
R = TypeVar("R")


def _manager(environment: str, region: str | None) -> ApiKeyManager:
    return ApiKeyManager(boto3.client("apigateway", region_name=region), environment)


@contextmanager
def _database() -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(conninfo_from_settings(get_settings())) as conn:
        yield conn


def _reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Refusals (unknown plan or scope, duplicate name, unknown key) are one line, exit 2."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (KeyManagementError, ValueError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from error

    return run


def _scopes(option: str | None, default: frozenset[Scope]) -> frozenset[Scope]:
    scopes = default if option is None else parse_scopes(option)
    if not scopes:
        raise ValueError("scopes: give at least one of read, write, admin")
    return scopes


def _scope_text(scopes: frozenset[Scope]) -> str:
    return ",".join(sorted(scope.value for scope in scopes))


def _row(key_id: str, name: str, plan: str, state: str, record: KeyRecord | None) -> str:
    scopes = _scope_text(record.scopes) if record else "-"
    consumer = record.consumer if record else "(not in key table)"
    created = record.created_at.strftime("%Y-%m-%d %H:%M") if record and record.created_at else "-"
    return f"{key_id:<14} {name:<20} {plan:<11} {state:<9} {scopes:<17} {consumer:<20} {created}"


HEADER = (
    f"{'ID':<14} {'NAME':<20} {'PLAN':<11} {'STATE':<9} {'SCOPES':<17} {'CONSUMER':<20} CREATED"
)


@app.command("create")
@_reports_errors
def create(
    plan: Annotated[str, typer.Option("--plan", help="free, pro or enterprise.")],
    name: Annotated[str, typer.Option("--name", help="Who the key is for, e.g. acme.")],
    consumer: Annotated[
        str | None, typer.Option("--consumer", help="Consumer usage counts for (default: name).")
    ] = None,
    scopes: ScopesOption = None,
    local: LocalOption = False,
    env: EnvironmentOption = "dev",
    region: RegionOption = None,
) -> None:
    """Create a key (in AWS: in the plan's usage plan) and print its value once."""
    get_plan(get_settings(), plan)  # an unknown plan fails before anything is created
    granted = _scopes(scopes, frozenset({Scope.READ, Scope.WRITE}))
    if local:
        key_id, value = f"local-{secrets.token_hex(6)}", f"cx_{secrets.token_urlsafe(32)}"
        _register(KeyRecord(key_id, name, consumer or name, plan, granted), value)
    else:
        manager = _manager(env, region)
        created = manager.create(tier=plan, name=name)
        key_id, value = created.id, created.value or ""
        try:
            _register(KeyRecord(key_id, name, consumer or name, plan, granted), None)
        except Exception:
            manager.delete(key_id)  # a key the API does not know must not stay behind
            raise
    typer.echo(
        f"id:     {key_id}\nname:   {name}\nplan:   {plan}\n"
        f"scopes: {_scope_text(granted)}\nvalue:  {value}"
    )
    typer.echo("Send it as the X-API-Key header.", err=True)


def _register(record: KeyRecord, value: str | None) -> None:
    with _database() as conn:
        key_table.insert(conn, record, value)


@app.command("list")
@_reports_errors
def list_keys(
    local: LocalOption = False, env: EnvironmentOption = "dev", region: RegionOption = None
) -> None:
    """List the keys with their plan, state, scopes and consumer."""
    with _database() as conn:
        records = {record.key_id: record for record in key_table.list_keys(conn)}
    typer.echo(HEADER)
    if local:
        for record in records.values():
            if record.key_id.startswith("local-"):
                state = "revoked" if record.revoked else "enabled"
                typer.echo(_row(record.key_id, record.name, record.plan, state, record))
        return
    for key in _manager(env, region).list():
        typer.echo(_gateway_row(key, records.get(key.id)))


def _gateway_row(key: ApiKey, record: KeyRecord | None) -> str:
    revoked = not key.enabled or (record is not None and record.revoked)
    plan = record.plan if record else key.tier
    return _row(key.id, key.name, plan, "disabled" if revoked else "enabled", record)


def _find_local(conn: psycopg.Connection[Any], key: str) -> KeyRecord:
    matches = [r for r in key_table.list_keys(conn) if key in (r.key_id, r.name)]
    if len(matches) != 1:
        raise KeyManagementError(
            f"no key {key!r} in the key table"
            if not matches
            else f"{key!r} names several keys: give the id"
        )
    return matches[0]


@app.command("revoke")
@_reports_errors
def revoke(
    key: Annotated[str, typer.Argument(help="Key id, or its name when unique.")],
    delete: Annotated[
        bool, typer.Option("--delete", help="Delete the AWS key instead of disabling it.")
    ] = False,
    local: LocalOption = False,
    env: EnvironmentOption = "dev",
    region: RegionOption = None,
) -> None:
    """Revoke a key: the key table marks it revoked (the API refuses it within
    KEY_CACHE_TTL_SECONDS) and, in AWS, the gateway key is disabled or deleted."""
    with _database() as conn:
        if local:
            found = _find_local(conn, key)
            key_id, name = found.key_id, found.name
        else:
            revoked = _manager(env, region).revoke(key, delete=delete)
            key_id, name = revoked.id, revoked.name
        key_table.revoke(conn, key_id)
    typer.echo(f"{'deleted' if delete else 'revoked'} {key_id} ({name})")


@app.command("update")
@_reports_errors
def update(
    key: Annotated[str, typer.Argument(help="Key id, or its name when unique.")],
    plan: Annotated[str | None, typer.Option("--plan", help="The new plan.")] = None,
    scopes: ScopesOption = None,
    local: LocalOption = False,
    env: EnvironmentOption = "dev",
    region: RegionOption = None,
) -> None:
    """Change a key's plan (in AWS also its usage plan) and/or scopes. A gateway key not
    yet in the key table is registered (plan from its usage plan, all scopes unless
    given): the way to adopt keys made before the key table existed."""
    if plan is not None:
        get_plan(get_settings(), plan)
    granted = None if scopes is None else _scopes(scopes, ALL_SCOPES)
    with _database() as conn:
        if local:
            record = _find_local(conn, key)
        else:
            record = _update_gateway(conn, key, plan, granted, env, region)
        changed = key_table.update(conn, record.key_id, plan=plan, scopes=granted)
    assert changed is not None
    typer.echo(
        f"{changed.key_id} ({changed.name}): plan {changed.plan}, "
        f"scopes {_scope_text(changed.scopes)}"
    )


def _update_gateway(
    conn: psycopg.Connection[Any],
    key: str,
    plan: str | None,
    scopes: frozenset[Scope] | None,
    env: str,
    region: str | None,
) -> KeyRecord:
    manager = _manager(env, region)
    found = manager.find(key)
    if plan is not None:
        found = manager.change_tier(found.id, plan)
    record = key_table.find_by_id(conn, found.id)
    if record is None:
        adopted = KeyRecord(found.id, found.name, found.name, found.tier, scopes or ALL_SCOPES)
        record = key_table.insert(conn, adopted)
    return record
