"""The synthesized app deployed into a test account: in-process moto + the test database.

`TestAccount` reads the synthesized templates of one environment and creates what the
functions talk to (the data bucket, the secrets, the state machines) in moto, each under
its logical id. It then runs:

* a function: its handler module loaded from the synthesized code asset (cdk.out), with
  its synthesized environment (resolved to the test account; the database settings point
  at the test's PostgreSQL), and — when `enforce_iam` — with credentials of an IAM user
  holding exactly the policies synthesized for the function's role, while moto enforces
  IAM on every call;
* a state machine: its synthesized definition in `tests.infra.asl`, whose Lambda tasks
  are those functions and whose Distributed Map item readers read S3 with the state
  machine role's own credentials.

moto authorizes most non-S3 actions against the resource "*", which no resource-scoped
policy matches, and DeleteObjects against the bucket instead of each key; `_moto_shims`
gives it the resource AWS evaluates (the state machine, the secret, each deleted key).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock
from urllib.parse import urlparse
from xml.etree import ElementTree

import boto3
import psycopg
from moto.core.authorization import enable_iam_authentication

from connectra import runtime_secrets
from connectra.consumers import key_table
from connectra.consumers.access import ALL_SCOPES
from connectra.consumers.key_table import KeyRecord
from connectra.consumers.plans import PlanName
from connectra.db.pool import close_pool
from connectra.db.roles import APP_ROLE, enable_login
from connectra.settings import get_settings
from connectra.storage.s3 import get_store
from infra import constants
from tests.conftest import FakeLambdaContext
from tests.infra import asl
from tests.infra.cfn import ACCOUNT, REGION, Resolver, StackValues
from tests.infra.conftest import Synthesized
from tests.integration.aws_events import TEST_KEY_ID

# S3's longest bucket name: the state payloads carry it in every item (worst case).
BUCKET = "connectra-test-data-storagedatabucket0123456789abcdef0123456789"
assert len(BUCKET) == 63

_LOGICAL_SUFFIX = 8  # CDK appends an 8-character hash to every logical id


@dataclass
class DeployedFunction:
    construct_id: str
    logical_id: str
    handler: str
    asset_dir: Path
    environment: dict[str, str]
    role_id: str

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.logical_id}"


def _construct_id(logical_id: str) -> str:
    return logical_id[:-_LOGICAL_SUFFIX]


def _machine_id(logical_id: str) -> str:
    """IngestStateMachine / ExportStateMachine (the logical id adds the scope and a hash)."""
    for machine in (constants.INGEST_STATE_MACHINE_ID, constants.EXPORT_STATE_MACHINE_ID):
        if _construct_id(logical_id).endswith(machine):
            return machine
    raise KeyError(logical_id)


class TestAccount:
    __test__ = False  # not a pytest class

    def __init__(self, synth: Synthesized, database_url: str, *, enforce_iam: bool) -> None:
        self.synth = synth
        self.database_url = database_url
        self.enforce_iam = enforce_iam
        self.data = StackValues(synth.raw(constants.DATA_STACK))
        self.app = StackValues(synth.raw(constants.APP_STACK))
        self.network = StackValues(synth.raw(constants.NETWORK_STACK))
        self.resolver = Resolver(self.app, [self.data, self.network])
        self.credentials: dict[str, tuple[str, str]] = {}  # role logical id -> key pair
        self.calls: list[tuple[str, str]] = []  # (function construct id, event summary)
        self._modules: dict[str, ModuleType] = {}
        self._last_role: str | None = None
        # Settings a test changes in every function (e.g. smaller export parts).
        self.overrides: dict[str, str] = {}

    # ---- setting up the account -----------------------------------------------------
    def create(self) -> None:
        """Call inside mock_aws: bucket, secrets, state machines, one IAM user per role."""
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        for logical_id in self.data.resources("AWS::S3::Bucket"):
            if "DataBucket" in logical_id:
                self.data.refs[logical_id] = BUCKET
                self.data.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{BUCKET}"
        self._create_secrets()
        for logical_id in self.data.resources("AWS::RDS::DBProxy"):
            self.data.attributes[(logical_id, "Endpoint")] = self._database["host"]
        for logical_id in self.app.resources("AWS::Lambda::Function"):
            self.app.attributes[(logical_id, "Arn")] = (
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
            )
        self._create_state_machines()
        self.functions = self._functions()
        if self.enforce_iam:
            self._create_users()
        self._register_api_key()

    def _register_api_key(self) -> None:
        """The API Gateway key the test requests carry, in the key table (as `connectra
        keys create` registers a deployed key): the API serves only registered key ids."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            key_table.insert(
                conn,
                KeyRecord(TEST_KEY_ID, "test", "test", PlanName.ENTERPRISE, ALL_SCOPES),
            )

    @property
    def _database(self) -> dict[str, str]:
        url = urlparse(self.database_url)
        return {
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 5432),
            "name": url.path.lstrip("/"),
            "username": url.username or "postgres",
            "password": url.password or "",
        }

    def _create_secrets(self) -> None:
        """Each secret under its logical id. Database secrets log in to the test server:
        the owner's as the test database's owner, the app role's as connectra_app (given
        LOGIN here, as the migrate function does on deploy)."""
        client = boto3.client("secretsmanager", region_name=REGION)
        for stack in (self.data, self.app):
            for logical_id, resource in stack.resources("AWS::SecretsManager::Secret").items():
                arn = client.create_secret(
                    Name=logical_id, SecretString=self._secret_value(stack, resource)
                )["ARN"]
                stack.refs[logical_id] = arn
            for logical_id, resource in stack.resources(
                "AWS::SecretsManager::SecretTargetAttachment"
            ).items():
                stack.refs[logical_id] = self.resolver.resolve_in(
                    stack, resource["Properties"]["SecretId"]
                )
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            enable_login(conn, APP_ROLE, "app-role-password")

    def _secret_value(self, stack: StackValues, resource: dict[str, Any]) -> str:
        generate = resource["Properties"].get("GenerateSecretString", {})
        raw = self.resolver.resolve_in(stack, generate.get("SecretStringTemplate") or "{}")
        template = json.loads(raw)
        if "username" not in template:
            return uuid.uuid4().hex * 2  # e.g. the cursor signing key
        if template["username"] == APP_ROLE:
            return json.dumps({"username": APP_ROLE, "password": "app-role-password"})
        database = self._database
        return json.dumps({"username": database["username"], "password": database["password"]})

    def _create_state_machines(self) -> None:
        client = boto3.client("stepfunctions", region_name=REGION)
        self.definitions: dict[str, dict[str, Any]] = {}
        self.state_machine_arns: dict[str, str] = {}
        for logical_id, resource in self.app.resources("AWS::StepFunctions::StateMachine").items():
            definition = self.resolver.resolve(resource["Properties"]["DefinitionString"])
            arn = client.create_state_machine(
                name=logical_id,
                definition=definition,
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/{logical_id}",
            )["stateMachineArn"]
            self.app.refs[logical_id] = arn
            self.state_machine_arns[_machine_id(logical_id)] = arn
            self.definitions[_machine_id(logical_id)] = json.loads(definition)
        self.state_machine_roles = {
            _machine_id(logical_id): resource["Properties"]["RoleArn"]["Fn::GetAtt"][0]
            for logical_id, resource in self.app.resources(
                "AWS::StepFunctions::StateMachine"
            ).items()
        }

    def _functions(self) -> dict[str, DeployedFunction]:
        functions: dict[str, DeployedFunction] = {}
        for logical_id, resource in self.app.resources("AWS::Lambda::Function").items():
            asset = resource.get("Metadata", {}).get("aws:asset:path")
            properties = resource["Properties"]
            specs = [
                spec.construct_id
                for spec in constants.ALL_FUNCTIONS
                if _construct_id(logical_id).endswith(spec.construct_id)
            ]
            if asset is None or not specs:
                continue  # CDK's own providers (Trigger, log retention)
            construct_id = specs[0]
            functions[construct_id] = DeployedFunction(
                construct_id=construct_id,
                logical_id=logical_id,
                handler=properties["Handler"],
                asset_dir=self.synth.outdir / asset,
                environment=self.resolver.resolve(properties["Environment"]["Variables"]),
                role_id=properties["Role"]["Fn::GetAtt"][0],
            )
        return functions

    def role_policies(self, role_id: str) -> list[dict[str, Any]]:
        """The policy documents attached to a role in the template, resolved."""
        documents = [
            policy["Properties"]["PolicyDocument"]
            for policy in self.app.resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
        ]
        role = self.app.template["Resources"][role_id]["Properties"]
        documents += [inline["PolicyDocument"] for inline in role.get("Policies", [])]
        assert not role.get("ManagedPolicyArns"), f"{role_id}: managed policies are not modelled"
        return [self.resolver.resolve(document) for document in documents]

    def _create_users(self) -> None:
        iam = boto3.client("iam", region_name=REGION)
        roles = {function.role_id for function in self.functions.values()}
        roles |= set(self.state_machine_roles.values())
        for role_id in roles:
            iam.create_user(UserName=role_id)
            for index, document in enumerate(self.role_policies(role_id)):
                iam.put_user_policy(
                    UserName=role_id, PolicyName=f"p{index}", PolicyDocument=json.dumps(document)
                )
            key = iam.create_access_key(UserName=role_id)["AccessKey"]
            self.credentials[role_id] = (key["AccessKeyId"], key["SecretAccessKey"])

    # ---- running ----------------------------------------------------------------------
    @contextmanager
    def as_role(self, role_id: str, environment: dict[str, str] | None = None) -> Iterator[None]:
        """The process environment of one function (or role): its variables, its keys."""
        variables = dict(environment or {})
        database = self._database
        variables.update(
            DB_HOST=database["host"],
            DB_PORT=database["port"],
            DB_NAME=database["name"],
            DB_SSLMODE="disable",  # the test server has no TLS; the proxy requires it
            LOG_LEVEL="WARNING",
            POWERTOOLS_LOG_LEVEL="WARNING",
            POWERTOOLS_TRACE_DISABLED="true",
        )
        if self.enforce_iam:
            key_id, secret = self.credentials[role_id]
            variables.update(AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret)
            variables["AWS_SESSION_TOKEN"] = ""
        removed = {"DATABASE_URL": None, "S3_ENDPOINT_URL": None}
        with mock.patch.dict(os.environ, variables):
            for name in removed:
                os.environ.pop(name, None)
            if self.enforce_iam:
                os.environ.pop("AWS_SESSION_TOKEN", None)
            if role_id != self._last_role:  # a warm container keeps its clients and pool
                _reset_caches()
                self._last_role = role_id
            if self.enforce_iam:
                with enable_iam_authentication(), _moto_shims():
                    yield
            else:
                yield

    def close(self) -> None:
        _reset_caches()
        self._last_role = None

    def module(self, function: DeployedFunction) -> ModuleType:
        """The handler module, loaded once from the function's synthesized asset."""
        module_name = function.handler.rsplit(".", 1)[0]
        key = f"{function.asset_dir.name}.{module_name}"
        if key not in self._modules:
            path = function.asset_dir / f"{module_name}.py"
            spec = importlib.util.spec_from_file_location(f"deployed_{key}", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            self._modules[key] = module
        return self._modules[key]

    def invoke(self, construct_id: str, event: Any) -> Any:
        function = self.functions[construct_id]
        self.calls.append((construct_id, json.dumps(event)[:80]))
        with self.as_role(function.role_id, {**function.environment, **self.overrides}):
            module = self.module(function)
            # Handler modules cache their clients per container: a new role, a new client.
            launcher = getattr(module, "launcher", None)
            if launcher is not None and hasattr(launcher, "cache_clear"):
                launcher.cache_clear()
            handler: Callable[[Any, Any], Any] = getattr(module, function.handler.rsplit(".")[-1])
            return handler(event, FakeLambdaContext())

    def function_by_arn(self, arn: str) -> str:
        logical_id = arn.rsplit(":", 1)[-1]
        (construct_id,) = [c for c, f in self.functions.items() if f.logical_id == logical_id]
        return construct_id

    def run_state_machine(
        self, construct_id: str, document: Any, name: str
    ) -> tuple[Any, asl.Interpreter]:
        role_id = self.state_machine_roles[construct_id]

        def read_items(parameters: dict[str, Any]) -> list[Any]:
            with self.as_role(role_id):
                client = boto3.client("s3", region_name=REGION)
                body = client.get_object(Bucket=parameters["Bucket"], Key=parameters["Key"])
                items: list[Any] = json.loads(body["Body"].read())
                return items

        interpreter = asl.Interpreter(
            invoke=lambda arn, payload: self.invoke(self.function_by_arn(arn), payload),
            read_items=read_items,
        )
        output = interpreter.execute(self.definitions[construct_id], document, name)
        return output, interpreter

    def started_executions(self, construct_id: str) -> list[dict[str, Any]]:
        """The executions moto recorded for a state machine (newest last), with input."""
        client = boto3.client("stepfunctions", region_name=REGION)
        arn = self.state_machine_arns[construct_id]
        executions = client.list_executions(stateMachineArn=arn)["executions"]
        described = [
            client.describe_execution(executionArn=execution["executionArn"])
            for execution in executions
        ]
        return sorted(described, key=lambda execution: execution["startDate"])


def _reset_caches() -> None:
    # boto3's default session keeps the credentials it first found: a new role needs a
    # new session, as a new Lambda container has.
    boto3.DEFAULT_SESSION = None
    from connectra.api import deps

    deps.default_launcher.cache_clear()  # the API's Step Functions client
    get_settings.cache_clear()
    get_store.cache_clear()
    runtime_secrets.clear_cache()
    close_pool()


@contextmanager
def _moto_shims() -> Iterator[None]:
    from moto.s3.responses import S3Response
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.stepfunctions.responses import StepFunctionResponse

    def state_machine_resource(self: Any) -> str:
        body = json.loads(self.body or "{}")
        return str(body.get("stateMachineArn") or body.get("executionArn") or "*")

    def secret_resource(self: Any) -> str:
        return str(json.loads(self.body or "{}").get("SecretId") or "*")

    original = S3Response._authenticate_and_authorize_s3_action

    def per_key(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        if key_name is None and self.data.get("Action") == "DeleteObject" and self.is_delete_keys():
            body = self.body if isinstance(self.body, bytes | str) else b""
            tree = ElementTree.fromstring(body)
            keys = [element.text for element in tree.iter() if element.tag.endswith("Key")]
            for key in keys:
                original(self, bucket_name=bucket_name, key_name=key)
            return
        original(self, bucket_name=bucket_name, key_name=key_name)

    with (
        mock.patch.object(
            StepFunctionResponse, "_determine_resource", state_machine_resource, create=True
        ),
        mock.patch.object(
            SecretsManagerResponse, "_determine_resource", secret_resource, create=True
        ),
        mock.patch.object(S3Response, "_authenticate_and_authorize_s3_action", per_key),
    ):
        yield
