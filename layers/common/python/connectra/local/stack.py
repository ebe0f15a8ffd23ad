"""`make run` / `make stop`: the whole product on one machine, no AWS account.

PostgreSQL (DATABASE_URL or the private cluster), a local S3 (moto server, whose presigned
URLs work), the sample data, the pipeline runner and the API (uvicorn) — each a background
process with a pid file and a log under `.local/run/`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx

from connectra.db import migrate
from connectra.local import postgres
from connectra.settings import DEV_API_KEY, Settings, get_settings

API_PORT = int(os.environ.get("API_PORT", "8000"))
S3_PORT = int(os.environ.get("LOCAL_S3_PORT", "5001"))
BUCKET = os.environ.get("S3_BUCKET", "connectra-local")
SAMPLE_COMPANIES = 1_000
SAMPLE_CONTACTS = 5_000


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    ready_url: str | None = None


def run_dir() -> Path:
    explicit = os.environ.get("LOCAL_RUN_DIR")
    folder = Path(explicit) if explicit else postgres.project_root() / ".local" / "run"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stack_environment(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        S3_ENDPOINT_URL=f"http://127.0.0.1:{S3_PORT}",
        S3_BUCKET=BUCKET,
        AWS_ACCESS_KEY_ID=env.get("AWS_ACCESS_KEY_ID", "local"),
        AWS_SECRET_ACCESS_KEY=env.get("AWS_SECRET_ACCESS_KEY", "local"),
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        AUTH_MODE="local",
        SEARCH_BACKEND=env.get("SEARCH_BACKEND", "postgres"),
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_NAMESPACE="Connectra",
    )
    return env


def services() -> list[Service]:
    python = sys.executable
    return [
        Service(
            "s3",
            [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(S3_PORT)],
            f"http://127.0.0.1:{S3_PORT}/moto-api/",
        ),
        Service("runner", [python, "-m", "connectra.local.runner"]),
        Service("sweeper", [python, "-m", "connectra.local.sweeper"]),
        Service(
            "api",
            [
                python,
                "-m",
                "uvicorn",
                "connectra.api.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(API_PORT),
                "--workers",
                "2",
            ],
            f"http://127.0.0.1:{API_PORT}/health",
        ),
    ]


def _pid_file(name: str) -> Path:
    return run_dir() / f"{name}.pid"


def _running_pid(name: str) -> int | None:
    path = _pid_file(name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip() or 0)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError, ValueError):
        path.unlink(missing_ok=True)
        return None
    return pid


def _wait_ready(service: Service, timeout: float = 60.0) -> None:
    if service.ready_url is None:
        time.sleep(0.5)
        if _running_pid(service.name) is None:
            raise RuntimeError(f"{service.name} exited; see {run_dir() / (service.name + '.log')}")
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(service.ready_url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if _running_pid(service.name) is None:
            break
        time.sleep(0.3)
    raise RuntimeError(f"{service.name} did not start; see {run_dir() / (service.name + '.log')}")


# What a running service was started with; a service started differently is restarted.
# Every setting counts (D7: a new RATE_LIMIT_PER_MINUTE kept the old API process).
CONFIG_VARIABLES = tuple(sorted(name.upper() for name in Settings.model_fields))


def _config_file(name: str) -> Path:
    return run_dir() / f"{name}.config.json"


def _config_of(service: Service, env: dict[str, str]) -> str:
    settings = {name: env.get(name, "") for name in CONFIG_VARIABLES}
    return json.dumps({"command": service.command, **settings}, sort_keys=True)


def start_service(service: Service, env: dict[str, str]) -> int:
    existing = _running_pid(service.name)
    config = _config_of(service, env)
    if existing is not None:
        previous = _config_file(service.name)
        if previous.exists() and previous.read_text() == config:
            return existing
        stop_service(service.name)
    _config_file(service.name).write_text(config)
    log = (run_dir() / f"{service.name}.log").open("ab")
    process = subprocess.Popen(
        service.command,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=postgres.project_root(),
    )
    _pid_file(service.name).write_text(str(process.pid))
    _wait_ready(service)
    return process.pid


def stop_service(name: str) -> bool:
    pid = _running_pid(name)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running_pid(name) is not None:
        time.sleep(0.2)
    if _running_pid(name) is not None:
        os.killpg(pid, signal.SIGKILL)
    _pid_file(name).unlink(missing_ok=True)
    return True


def ensure_bucket(env: dict[str, str]) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if BUCKET not in existing:
        s3.create_bucket(Bucket=BUCKET)


def load_sample_data(database_url: str) -> int:
    """Seed the sample set once (an empty contacts table); returns the rows written."""
    from connectra.local.seed import seed_sample_data

    return seed_sample_data(database_url, SAMPLE_COMPANIES, SAMPLE_CONTACTS)


def api_key_lines() -> tuple[str, str]:
    """The banner's key line and the key in its curl example: the development key only
    while API_KEYS still holds it; never a key of yours printed on the terminal (D13)."""
    if DEV_API_KEY in get_settings().api_keys:
        return f"{DEV_API_KEY}   (header X-API-Key)", DEV_API_KEY
    return "one of the keys in API_KEYS   (header X-API-Key)", "$CONNECTRA_API_KEY"


def banner(database_url: str, runner_pid: int | None, seeded: int) -> str:
    """What `make run` prints: this stack's ports, and a key only if it is the dev one."""
    key_line, curl_key = api_key_lines()
    return (
        "\nConnectra is running locally.\n"
        f"  API        http://127.0.0.1:{API_PORT}   (docs: http://127.0.0.1:{API_PORT}/docs)\n"
        f"  API key    {key_line}\n"
        f"  PostgreSQL {database_url}\n"
        f"  S3 (moto)  http://127.0.0.1:{S3_PORT}   bucket {BUCKET}\n"
        f"  Runner     watches s3://{BUCKET}/uploads/ (pid {runner_pid})\n"
        f"  Sample     {'loaded ' + str(seeded) + ' rows' if seeded else 'already loaded'}\n"
        f"  Logs       {run_dir()}/*.log\n"
        f"  Try        curl -s -X POST http://127.0.0.1:{API_PORT}/contacts/ -H 'X-API-Key: "
        f"{curl_key}' -H 'Content-Type: application/json' -d '{{\"limit\": 3}}'\n"
        "  Stop       make stop\n"
    )


def up() -> int:
    database_url = postgres.ensure_database(postgres.server_url())
    migrate.upgrade(database_url)
    env = stack_environment(database_url)
    started = {}
    for service in services():
        started[service.name] = start_service(service, env)
        if service.name == "s3":
            ensure_bucket(env)
    seeded = load_sample_data(database_url)
    print(banner(database_url, started["runner"], seeded))
    return 0


def down() -> int:
    for service in reversed(services()):
        if stop_service(service.name):
            print(f"stopped {service.name}")
    if not os.environ.get("DATABASE_URL") and postgres.stop():
        print("stopped PostgreSQL (private cluster)")
    return 0


def status() -> int:
    for service in services():
        pid = _running_pid(service.name)
        print(f"{service.name:8} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
    return 0


def main(argv: list[str]) -> int:
    commands = {"up": up, "down": down, "status": status}
    command = argv[0] if argv else "up"
    if command not in commands:
        print(f"usage: python -m connectra.local.stack [{'|'.join(commands)}]")
        return 2
    return commands[command]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
