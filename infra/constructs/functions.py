"""The common layer and the one way every Connectra function is built.

Every function: Python 3.12 on arm64, its own role (no managed policies), its own log
group, X-Ray active tracing, in the application subnets with the database-client
security group, and a code asset holding only its folder of handler modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Annotations, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants, nag
from infra.config import EnvironmentConfig

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
# The built layer holds third-party wheels: only caches are dropped from it.
LAYER_EXCLUDES = ("**/__pycache__", "**/__pycache__/**", "**/*.pyc", "*.egg-info", "**/*.egg-info")


def layer_directory(source: str) -> Path:
    """The folder whose python/ becomes /opt/python: the build output or the sources."""
    if source == constants.LAYER_SOURCE_BUILD:
        return constants.LAYER_BUILD_DIR
    if source == constants.LAYER_SOURCE_SOURCE:
        return constants.LAYER_SOURCE_DIR
    if source == constants.LAYER_SOURCE_AUTO:
        built = (constants.LAYER_BUILD_DIR / "python").is_dir()
        return constants.LAYER_BUILD_DIR if built else constants.LAYER_SOURCE_DIR
    raise ValueError(f"layer_source must be build, source or auto, not {source!r}")


def function_code(folder: Path) -> lambda_.Code:
    """A function's folder as its asset, without tests or caches (zipped, no Docker)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"function folder {folder} does not exist")
    return lambda_.Code.from_asset(str(folder), exclude=list(constants.ASSET_EXCLUDES))


class CommonLayerConstruct(Construct):
    """connectra + its runtime dependencies, as /opt/python for every function."""

    def __init__(self, scope: Construct, construct_id: str, *, source: str) -> None:
        super().__init__(scope, construct_id)
        directory = layer_directory(source)
        if directory == constants.LAYER_SOURCE_DIR and source != constants.LAYER_SOURCE_SOURCE:
            Annotations.of(self).add_warning_v2(
                "connectra:layer-without-dependencies",
                "build/layer is missing: the layer holds the connectra sources only. "
                "Run `make layer` (scripts/build_layer.py) before deploying.",
            )
        if directory == constants.LAYER_BUILD_DIR and not (directory / "python").is_dir():
            raise FileNotFoundError(
                f"{directory}/python is missing: run `make layer` (scripts/build_layer.py), "
                "or synthesize with -c layer_source=source"
            )
        self.directory = directory
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(directory), exclude=list(LAYER_EXCLUDES)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="connectra library and its runtime dependencies",
        )


@dataclass
class FunctionFactory:
    """Shared defaults for the functions; each concern's construct asks it for its own."""

    config: EnvironmentConfig
    layer: lambda_.ILayerVersion
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup
    environment: Mapping[str, str]
    functions: dict[str, lambda_.Function] = field(default_factory=dict)

    def create(
        self,
        scope: Construct,
        spec: constants.FunctionSpec,
        *,
        extra_environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
    ) -> lambda_.Function:
        role = iam.Role(
            scope,
            f"{spec.construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Connectra {self.config.name}: {spec.description}",
        )
        log_group = logs.LogGroup(
            scope,
            f"{spec.construct_id}Logs",
            retention=self.config.log_retention,
            removal_policy=self.config.stateless_removal_policy,
        )
        log_group.grant_write(role)
        # Lambda creates the VPC network interfaces with the function's own role.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        function = lambda_.Function(
            scope,
            spec.construct_id,
            description=f"Connectra {self.config.name}: {spec.description}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=function_code(constants.FUNCTIONS_DIR / spec.folder),
            handler=spec.handler,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            layers=[self.layer],
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            vpc=self.vpc,
            vpc_subnets=self.subnets,
            security_groups=[self.security_group],
            environment={**self.environment, **(extra_environment or {})},
            reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
        )
        nag.suppress(
            function,
            nag.suppression(
                "L1",
                "Pinned to Python 3.12: the common layer is built from cp312 wheels; the "
                "runtime moves together with scripts/build_layer.py.",
            ),
        )
        nag.suppress(
            role,
            nag.suppression(
                "IAM5",
                "Resource::* only for ENI management (VPC functions) and X-Ray trace upload, "
                "which have no resource-level permissions; object access is scoped to the "
                "one S3 prefix each grant names (uploads/, exports/, reports/, manifests/); "
                "OpenSearch HTTP access is to the paths (indices) of our one domain.",
                [
                    "Resource::*",
                    nag.matching(r"^Resource::.*/(uploads|exports|reports|manifests)/\*$"),
                    nag.matching(r"^Resource::<.*SearchDomain.*\.Arn>/\*$"),
                ],
            ),
        )
        self.functions[spec.construct_id] = function
        return function
