"""The VPC: private subnets only, and VPC endpoints instead of NAT gateways."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants, nag
from infra.config import EnvironmentConfig

# Everything the functions call in AWS is reachable through these endpoints, so no
# subnet needs a route to the internet (no NAT gateway to pay for or to leak through).
INTERFACE_ENDPOINTS = {
    "SecretsManagerEndpoint": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "StepFunctionsEndpoint": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    "CloudWatchLogsEndpoint": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "XRayEndpoint": ec2.InterfaceVpcEndpointAwsService.XRAY,
}


class NetworkConstruct(Construct):
    """Isolated subnets for functions and for data stores, plus the endpoints they use."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = self._build_vpc(config)
        self._build_flow_logs(config)
        self._build_endpoints()

    @property
    def app_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=constants.APP_SUBNET_GROUP)

    @property
    def data_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=constants.DATA_SUBNET_GROUP)

    def _build_vpc(self, config: EnvironmentConfig) -> ec2.Vpc:
        return ec2.Vpc(
            self,
            constants.VPC_ID,
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            max_azs=config.max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=constants.APP_SUBNET_GROUP,
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=20,
                ),
                ec2.SubnetConfiguration(
                    name=constants.DATA_SUBNET_GROUP,
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=24,
                ),
            ],
        )

    def _build_flow_logs(self, config: EnvironmentConfig) -> None:
        log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

    def _build_endpoints(self) -> None:
        # S3 traffic is the bulk of the data path: a gateway endpoint is free and fast.
        self.vpc.add_gateway_endpoint(
            "S3Endpoint",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[self.app_subnets],
        )
        for endpoint_id, service in INTERFACE_ENDPOINTS.items():
            endpoint = self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                subnets=self.app_subnets,
                private_dns_enabled=True,
            )
            # EC23 cannot evaluate the ingress source, the VPC CIDR token (not 0.0.0.0/0).
            nag.suppress(
                endpoint,
                nag.NagPackSuppression(
                    id="CdkNagValidationFailure",
                    reason="Endpoint security groups admit HTTPS from the VPC CIDR only; "
                    "AwsSolutions-EC23 cannot resolve the CIDR token at synth time.",
                ),
            )
