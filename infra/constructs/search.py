"""The OpenSearch domain (search ids only): inside the VPC, IAM-signed requests only."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from infra import nag
from infra.config import EnvironmentConfig

ENGINE_VERSION = opensearch.EngineVersion.OPENSEARCH_2_17


class SearchConstruct(Construct):
    """Built only when the environment's search_backend is `opensearch`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        client_security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Connectra OpenSearch: HTTPS from Connectra functions only",
            allow_all_outbound=False,
        )
        security_group.add_ingress_rule(
            client_security_group, ec2.Port.tcp(443), "Connectra functions to OpenSearch"
        )
        self.domain = self._build_domain(config, vpc, subnets, security_group)
        self._suppress_findings(config, vpc)

    @property
    def url(self) -> str:
        return f"https://{self.domain.domain_endpoint}"

    def grant_read(self, grantee: iam.IGrantable) -> None:
        self.domain.grant_read(grantee)

    def grant_read_write(self, grantee: iam.IGrantable) -> None:
        self.domain.grant_read_write(grantee)

    def _build_domain(
        self,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
    ) -> opensearch.Domain:
        zones = _zone_count(config.opensearch_data_nodes, len(vpc.availability_zones))
        multi_az = zones > 1
        # One subnet per zone the domain spans (OpenSearch requires exactly that many).
        domain_subnets = ec2.SubnetSelection(
            subnet_group_name=subnets.subnet_group_name, one_per_az=True
        )
        slow_logs = logs.LogGroup(
            self,
            "SlowSearchLogs",
            retention=config.log_retention,
            removal_policy=config.stateless_removal_policy,
        )
        app_logs = logs.LogGroup(
            self,
            "ApplicationLogs",
            retention=config.log_retention,
            removal_policy=config.stateless_removal_policy,
        )
        index_slow_logs = logs.LogGroup(
            self,
            "IndexSlowLogs",
            retention=config.log_retention,
            removal_policy=config.stateless_removal_policy,
        )
        log_groups = (slow_logs, index_slow_logs, app_logs)
        # The service writes to our log groups under a native resource policy (instead of
        # CDK's default custom-resource Lambda that would create the same policy).
        delivery_policy = logs.ResourcePolicy(
            self,
            "LogDeliveryPolicy",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[group.log_group_arn for group in log_groups],
                )
            ],
        )
        domain = opensearch.Domain(
            self,
            "Domain",
            version=ENGINE_VERSION,
            vpc=vpc,
            vpc_subnets=[domain_subnets],
            security_groups=[security_group],
            capacity=opensearch.CapacityConfig(
                data_node_instance_type=config.opensearch_instance_type,
                data_nodes=config.opensearch_data_nodes,
                master_nodes=config.opensearch_master_nodes or None,
                master_node_instance_type=(
                    config.opensearch_instance_type if config.opensearch_master_nodes else None
                ),
                multi_az_with_standby_enabled=False,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=multi_az, availability_zone_count=zones if multi_az else None
            ),
            ebs=opensearch.EbsOptions(
                volume_size=config.opensearch_volume_gib,
                volume_type=ec2.EbsDeviceVolumeType.GP3,
            ),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            # No resource policy: only identity policies of our roles (SigV4) grant access.
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=slow_logs,
                slow_index_log_enabled=True,
                slow_index_log_group=index_slow_logs,
                app_log_enabled=True,
                app_log_group=app_logs,
            ),
            suppress_logs_resource_policy=True,
            enable_version_upgrade=True,
            # A domain cannot be snapshotted by CloudFormation: keep it unless disposable.
            removal_policy=config.stateful_removal_policy_without_snapshot,
        )
        domain.node.add_dependency(delivery_policy)
        return domain

    def _suppress_findings(self, config: EnvironmentConfig, vpc: ec2.IVpc) -> None:
        nag.suppress(
            self,
            nag.suppression(
                "OS3",
                "The domain lives in isolated VPC subnets; its security group admits only "
                "the Connectra functions' security group.",
            ),
            nag.suppression(
                "OS5",
                "No anonymous access: there is no resource policy, so requests must be "
                "SigV4-signed by roles whose identity policy grants es:ESHttp*.",
            ),
        )
        if config.opensearch_master_nodes == 0:
            nag.suppress(
                self,
                nag.suppression(
                    "OS4",
                    f"{config.name}: dedicated master nodes cost more than a small "
                    "non-production domain needs; prod sets opensearch_master_nodes.",
                ),
            )
        if _zone_count(config.opensearch_data_nodes, len(vpc.availability_zones)) < 2:
            nag.suppress(
                self,
                nag.suppression(
                    "OS7",
                    f"{config.name}: the data nodes cannot be spread evenly over zones "
                    "(one node): no zone awareness.",
                ),
            )


def _zone_count(data_nodes: int, available_zones: int) -> int:
    """OpenSearch spreads data nodes evenly: the most zones (up to 3) that divide them."""
    for zones in (3, 2):
        if zones <= available_zones and data_nodes % zones == 0:
            return zones
    return 1
