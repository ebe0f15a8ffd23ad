"""Data stack: everything stateful (database, search domain, bucket), deployed rarely."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import constants, nag
from infra.config import EnvironmentConfig
from infra.constructs.database import DatabaseConstruct
from infra.constructs.network import NetworkConstruct
from infra.constructs.search import SearchConstruct
from infra.constructs.storage import StorageConstruct


class DataStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: NetworkConstruct,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.database = DatabaseConstruct(
            self,
            constants.DATABASE_CONSTRUCT,
            config=config,
            vpc=network.vpc,
            subnets=network.data_subnets,
        )
        self.search = (
            SearchConstruct(
                self,
                constants.SEARCH_CONSTRUCT,
                config=config,
                vpc=network.vpc,
                subnets=network.data_subnets,
                client_security_group=self.database.client_security_group,
            )
            if config.uses_opensearch
            else None
        )
        self.storage = StorageConstruct(self, constants.STORAGE_CONSTRUCT, config=config)
        CfnOutput(self, "BucketName", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "DatabaseSecretArn", value=self.database.secret.secret_arn)
        CfnOutput(self, "DatabaseAppSecretArn", value=self.database.app_secret.secret_arn)
        nag.attach_checks(self)
