"""Every name and number the CDK app and its tests share: construct ids, env-var names,
function sizes, S3 prefixes and context keys. Change a value here, not in a construct."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connectra.orchestration.launchers import RESUME_LOAD_CHUNKS as RESUME_LOAD_CHUNKS
from connectra.storage import keys

PROJECT = "connectra"
REPO_ROOT = Path(__file__).resolve().parents[1]

# ---- CDK context keys (cdk.json "context", overridable with `-c key=value`) ----------
CONTEXT_ENV = "env"
CONTEXT_ENVIRONMENTS = "connectra:environments"
# Where the common layer comes from: "build" (scripts/build_layer.py output, what you
# deploy), "source" (the library folder only: synth and tests work without the network),
# "auto" (build if it exists, else source with a synth warning).
CONTEXT_LAYER_SOURCE = "layer_source"
# Per-deploy overrides of an environment's settings: `-c alarm_email=ops@example.com`,
# `-c api_reserved_concurrency=200` (after raising the account's concurrency quota).
CONTEXT_OVERRIDES = ("alarm_email", "api_reserved_concurrency", "api_cloudwatch_role")
LAYER_SOURCE_BUILD = "build"
LAYER_SOURCE_SOURCE = "source"
LAYER_SOURCE_AUTO = "auto"
ENVIRONMENT_NAMES = ("dev", "staging", "prod")

# ---- Paths of the code assets -------------------------------------------------------
LAYER_BUILD_DIR = REPO_ROOT / "build" / "layer"  # holds python/ (deps + connectra)
LAYER_SOURCE_DIR = REPO_ROOT / "layers" / "common"  # holds python/connectra only
FUNCTIONS_DIR = REPO_ROOT / "functions"
# Function assets carry our handler modules only: never tests, caches or editor debris.
ASSET_EXCLUDES = (
    "tests",
    "tests/**",
    "**/tests",
    "**/tests/**",
    "__pycache__",
    "**/__pycache__",
    "**/__pycache__/**",
    "*.pyc",
    "**/*.pyc",
    "*.egg-info",
    "**/*.egg-info",
    "**/*.egg-info/**",
    ".pytest_cache",
    "**/.pytest_cache/**",
    ".mypy_cache",
    "**/.mypy_cache/**",
    "*.md",
)

# ---- Stacks and constructs ----------------------------------------------------------
NETWORK_STACK = "network"
DATA_STACK = "data"
APP_STACK = "app"

NETWORK_CONSTRUCT = "Network"
DATABASE_CONSTRUCT = "Database"
SEARCH_CONSTRUCT = "Search"
STORAGE_CONSTRUCT = "Storage"
LAYER_CONSTRUCT = "CommonLayer"
API_CONSTRUCT = "Api"
PIPELINES_CONSTRUCT = "Pipelines"
MIGRATIONS_CONSTRUCT = "Migrations"
OBSERVABILITY_CONSTRUCT = "Observability"

VPC_ID = "Vpc"
APP_SUBNET_GROUP = "application"  # Lambda ENIs and interface endpoints
DATA_SUBNET_GROUP = "data"  # RDS, RDS Proxy, OpenSearch
DATABASE_NAME = "connectra"
DATABASE_PORT = 5432  # RDS Proxy for PostgreSQL always listens on 5432
DATABASE_USER = "connectra_admin"  # the owner: migrations only
DATABASE_APP_USER = "connectra_app"  # everything else (connectra.db.roles.APP_ROLE)

INGEST_STATE_MACHINE_ID = "IngestStateMachine"
EXPORT_STATE_MACHINE_ID = "ExportStateMachine"
INGEST_RULE_ID = "UploadObjectCreatedRule"
SWEEPER_SCHEDULE_ID = "SweeperSchedule"
EVENTS_DLQ_ID = "EventsDeadLetterQueue"
REST_API_ID = "RestApi"

# Step Functions state names (the console shows these; the tests find states by them).
STATE_ROUTE_RUN = "RouteRun"
STATE_PLAN = "Plan"
STATE_COUNT_QUOTES = "CountQuotes"
STATE_COUNT_CHUNK = "CountChunkQuotes"
STATE_BOUNDARIES = "Boundaries"
STATE_LOAD_CHUNKS = "LoadChunks"
STATE_LOAD_CHUNK = "LoadChunk"
STATE_FINALIZE = "Finalize"
STATE_MARK_FAILED = "MarkFailed"
STATE_EXPORT = "Export"
STATE_EXPORT_FAILED = "ExportFailed"
# The sweeper retries only failed chunks: its execution input says where to resume
# (`RESUME_LOAD_CHUNKS`, imported above: the launcher that writes it defines it).
RESUME_FIELD = "resume"

# ---- S3 layout (one bucket; prefixes carry the lifecycle and the IAM scopes) --------
# The key formats live in connectra.storage.keys; grants and lifecycle rules use its prefixes.
UPLOADS_PREFIX = keys.UPLOADS_PREFIX + "/"
EXPORTS_PREFIX = keys.EXPORTS_PREFIX + "/"
REPORTS_PREFIX = keys.REPORTS_PREFIX + "/"
MANIFESTS_PREFIX = keys.MANIFESTS_PREFIX + "/"

SWEEPER_RATE_MINUTES = 1
HEALTH_PATH = "health"
HEALTH_DEEP_PATH = "deep"  # /health/deep: database and search, behind a key

# ---- Environment variables the library reads (connectra/settings.py) ---------------
ENV_ENVIRONMENT = "ENVIRONMENT"
ENV_DB_SECRET_ARN = "DB_SECRET_ARN"
ENV_DB_APP_SECRET_ARN = "DB_APP_SECRET_ARN"
ENV_CURSOR_SECRET_ARN = "CURSOR_SECRET_ARN"
ENV_DB_HOST = "DB_HOST"
ENV_DB_PORT = "DB_PORT"
ENV_DB_NAME = "DB_NAME"
ENV_DB_SSLMODE = "DB_SSLMODE"
ENV_SEARCH_BACKEND = "SEARCH_BACKEND"
ENV_OPENSEARCH_URL = "OPENSEARCH_URL"
ENV_OPENSEARCH_AUTH = "OPENSEARCH_AUTH"
ENV_S3_BUCKET = "S3_BUCKET"
ENV_AUTH_MODE = "AUTH_MODE"
ENV_API_BASE_PATH = "API_BASE_PATH"
ENV_CHUNK_SIZE_BYTES = "CHUNK_SIZE_BYTES"
ENV_INGEST_STATE_MACHINE_ARN = "INGEST_STATE_MACHINE_ARN"
ENV_EXPORT_STATE_MACHINE_ARN = "EXPORT_STATE_MACHINE_ARN"
ENV_POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
ENV_LOG_LEVEL = "LOG_LEVEL"

METRICS_NAMESPACE = "Connectra"
AUTH_MODE_APIGATEWAY = "apigateway"
OPENSEARCH_AUTH_SIGV4 = "sigv4"


# ---- Lambda functions ---------------------------------------------------------------
@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its code folder under functions/, entry point and size."""

    construct_id: str
    folder: str
    handler: str
    memory_mb: int
    timeout_seconds: int
    description: str


API_FUNCTION = FunctionSpec(
    "ApiFunction", "api", "handler.handler", 1024, 29, "REST API: Mangum(FastAPI)"
)  # 29 s: API Gateway's integration timeout, a longer Lambda timeout would be unused
INGEST_START_FUNCTION = FunctionSpec(
    "IngestStartFunction",
    "ingest_chunk",
    "start.handler",
    256,
    30,
    "S3 Object Created -> job row + ingest execution",
)
INGEST_PLAN_FUNCTION = FunctionSpec(
    "IngestPlanFunction", "ingest_chunk", "plan.handler", 512, 300, "Ingest: byte-range plan"
)
INGEST_COUNT_FUNCTION = FunctionSpec(
    "IngestCountFunction",
    "ingest_chunk",
    "count.handler",
    1024,
    300,
    "Ingest: quote count of one byte range",
)
INGEST_BOUNDARIES_FUNCTION = FunctionSpec(
    "IngestBoundariesFunction",
    "ingest_chunk",
    "boundaries.handler",
    512,
    120,
    "Ingest: quote parity prefix sums -> load manifest",
)
INGEST_CHUNK_FUNCTION = FunctionSpec(
    "IngestChunkFunction",
    "ingest_chunk",
    "chunk.handler",
    2048,
    900,
    "Ingest: parse, validate and load one chunk",
)
INGEST_FINALIZE_FUNCTION = FunctionSpec(
    "IngestFinalizeFunction",
    "ingest_chunk",
    "finalize.handler",
    1024,
    600,
    "Ingest: totals, error report, job status",
)
EXPORT_FUNCTION = FunctionSpec(
    "ExportFunction", "export", "handler.handler", 2048, 900, "Export: VQL -> CSV in S3"
)
SWEEPER_FUNCTION = FunctionSpec(
    "SweeperFunction",
    "sweeper",
    "handler.handler",
    512,
    55,  # shorter than the 1-minute schedule so two runs rarely overlap
    "Jobs sweeper: due retries, stuck jobs, search outbox",
)
MIGRATE_FUNCTION = FunctionSpec(
    "MigrateFunction", "migrate", "handler.handler", 512, 300, "Schema migrations at deploy"
)

ALL_FUNCTIONS = (
    API_FUNCTION,
    INGEST_START_FUNCTION,
    INGEST_PLAN_FUNCTION,
    INGEST_COUNT_FUNCTION,
    INGEST_BOUNDARIES_FUNCTION,
    INGEST_CHUNK_FUNCTION,
    INGEST_FINALIZE_FUNCTION,
    EXPORT_FUNCTION,
    SWEEPER_FUNCTION,
    MIGRATE_FUNCTION,
)

# Retries of transient Lambda errors inside the state machines (before any Catch).
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
)
TASK_RETRY_INTERVAL_SECONDS = 2
TASK_RETRY_MAX_ATTEMPTS = 6
TASK_RETRY_BACKOFF_RATE = 2.0
