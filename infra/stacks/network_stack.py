"""Network stack: the VPC and its endpoints (changes rarely, shared by the others)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra import constants, nag
from infra.config import EnvironmentConfig
from infra.constructs.network import NetworkConstruct


class NetworkStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = NetworkConstruct(self, constants.NETWORK_CONSTRUCT, config=config)
        nag.attach_checks(self)
