"""Builds the CDK app for one environment; infra/app.py and the tests both call this."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Tags

from infra import constants, naming
from infra.config import environment_config, load_cdk_json
from infra.stacks.app_stack import AppStack
from infra.stacks.data_stack import DataStack
from infra.stacks.network_stack import NetworkStack

ASSET_METADATA = "aws:cdk:enable-asset-metadata"


def build_app(
    *,
    context: dict[str, Any] | None = None,
    outdir: str | Path | None = None,
) -> App:
    """The app for the context's `env`. Run by the cdk CLI, the CLI passes the context
    (cdk.json + `-c` flags) itself; run directly or from tests, cdk.json is read here."""
    if context is None and "CDK_CONTEXT_JSON" not in os.environ:
        context = load_cdk_json()
    if context is not None:
        # The cdk CLI asks for asset metadata itself (SAM and the tests read it); the
        # key is reserved, so cdk.json must not carry it.
        context = {ASSET_METADATA: True, **context}
    app = App(context=context, outdir=str(outdir) if outdir else None)
    environment_name = str(app.node.try_get_context(constants.CONTEXT_ENV) or "dev")
    overrides = {
        key: app.node.try_get_context(key)
        for key in constants.CONTEXT_OVERRIDES
        if app.node.try_get_context(key) is not None
    }
    config = environment_config(
        app.node.try_get_context(constants.CONTEXT_ENVIRONMENTS), environment_name, overrides
    )
    layer_source = str(
        app.node.try_get_context(constants.CONTEXT_LAYER_SOURCE) or constants.LAYER_SOURCE_AUTO
    )
    # Environment-agnostic unless both are pinned (then prod can span 3 AZs).
    account = app.node.try_get_context("account")
    region = app.node.try_get_context("region")
    env = Environment(account=account, region=region) if account and region else None

    network = NetworkStack(
        app,
        naming.stack_name(config.name, constants.NETWORK_STACK),
        config=config,
        env=env,
        description=f"Connectra {config.name}: VPC and endpoints",
    )
    data = DataStack(
        app,
        naming.stack_name(config.name, constants.DATA_STACK),
        config=config,
        network=network.network,
        env=env,
        description=f"Connectra {config.name}: PostgreSQL, search, bucket",
        termination_protection=config.deletion_protection,
    )
    AppStack(
        app,
        naming.stack_name(config.name, constants.APP_STACK),
        config=config,
        network=network.network,
        data=data,
        layer_source=layer_source,
        env=env,
        description=f"Connectra {config.name}: API, pipelines, functions, alarms",
    )
    # DBProxyTargetGroup takes no Tags in CloudFormation (cfn-lint E3002).
    untaggable = ["AWS::RDS::DBProxyTargetGroup"]
    Tags.of(app).add("project", constants.PROJECT, exclude_resource_types=untaggable)
    Tags.of(app).add("environment", config.name, exclude_resource_types=untaggable)
    return app
