"""`connectra keys create|list|revoke`: API keys of the deployed usage plans.

Mounted by the main command (`app.add_typer(keys.app, name="keys")`); the AWS account
and region are boto3's usual ones (AWS_PROFILE, AWS_REGION, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

import boto3
import typer

from connectra.aws.apigateway_keys import ApiKey, ApiKeyManager, KeyManagementError

app = typer.Typer(help="API keys of the usage plans (API Gateway).", no_args_is_help=True)

EnvironmentOption = Annotated[
    str,
    typer.Option(
        "--env", envvar="CONNECTRA_ENV", help="Deployed environment: dev, staging or prod."
    ),
]
RegionOption = Annotated[
    str | None, typer.Option("--region", envvar="AWS_REGION", help="AWS region of the API.")
]

P = ParamSpec("P")
R = TypeVar("R")


def _manager(environment: str, region: str | None) -> ApiKeyManager:
    return ApiKeyManager(boto3.client("apigateway", region_name=region), environment)


def _reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Refusals (unknown tier, duplicate name, unknown key) are one line and exit 2."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except KeyManagementError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from error

    return run


def _row(key: ApiKey) -> str:
    created = key.created_at.strftime("%Y-%m-%d %H:%M") if key.created_at else "-"
    state = "enabled" if key.enabled else "disabled"
    return f"{key.id:<12} {key.name:<24} {key.tier:<12} {state:<9} {created}"


@app.command("create")
@_reports_errors
def create(
    plan: Annotated[str, typer.Option("--plan", help="Usage-plan tier, e.g. free or pro.")],
    name: Annotated[str, typer.Option("--name", help="Who the key is for, e.g. acme.")],
    env: EnvironmentOption = "dev",
    region: RegionOption = None,
) -> None:
    """Create a key in the tier's usage plan and print its value."""
    key = _manager(env, region).create(tier=plan, name=name)
    typer.echo(f"id:    {key.id}\nname:  {key.name}\nplan:  {key.tier}\nvalue: {key.value}")
    typer.echo("Send it as the X-API-Key header.", err=True)


@app.command("list")
@_reports_errors
def list_keys(env: EnvironmentOption = "dev", region: RegionOption = None) -> None:
    """List the keys of the environment's usage plans."""
    keys = _manager(env, region).list()
    typer.echo(f"{'ID':<12} {'NAME':<24} {'PLAN':<12} {'STATE':<9} CREATED")
    for key in keys:
        typer.echo(_row(key))


@app.command("revoke")
@_reports_errors
def revoke(
    key: Annotated[str, typer.Argument(help="Key id, or its name when unique.")],
    delete: Annotated[
        bool, typer.Option("--delete", help="Delete the key instead of disabling it.")
    ] = False,
    env: EnvironmentOption = "dev",
    region: RegionOption = None,
) -> None:
    """Disable a key (requests with it get 403), or delete it with --delete."""
    revoked = _manager(env, region).revoke(key, delete=delete)
    typer.echo(f"{'deleted' if delete else 'disabled'} {revoked.id} ({revoked.name})")
