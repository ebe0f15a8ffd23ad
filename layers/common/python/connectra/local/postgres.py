"""A private PostgreSQL cluster under the project folder, for `make run` and the tests.

`DATABASE_URL` wins when set. Otherwise the machine's PostgreSQL binaries run a cluster
in `.local/pg`. PostgreSQL refuses to run as root, so as root the cluster belongs to the
`postgres` system user and every server command runs through `runuser`.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_PORT = 55432
SERVER_SETTINGS = (
    "listen_addresses=127.0.0.1",
    "max_connections=200",
    "shared_buffers=512MB",
    "work_mem=32MB",
    "maintenance_work_mem=512MB",
    "max_wal_size=4GB",
    "synchronous_commit=off",
    "fsync=off",
    "full_page_writes=off",
)


@dataclass(frozen=True)
class LocalCluster:
    """Where the private cluster lives and how to reach it."""

    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "connectra") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def project_root() -> Path:
    explicit = os.environ.get("CONNECTRA_HOME")
    if explicit:
        return Path(explicit).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").exists() and (candidate / "layers").is_dir():
            return candidate
    return here


def default_cluster() -> LocalCluster:
    port = int(os.environ.get("LOCAL_PG_PORT", DEFAULT_PORT))
    return LocalCluster(root=project_root() / ".local" / "pg", port=port)


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if not versions:
        raise RuntimeError(
            "PostgreSQL binaries not found (looked for pg_ctl and /usr/lib/postgresql)"
        )
    return versions[0]


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam("postgres")
    for dirpath, _dirnames, filenames in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


@contextmanager
def _lock(cluster: LocalCluster) -> Iterator[None]:
    cluster.root.mkdir(parents=True, exist_ok=True)
    with open(cluster.root.parent / "pg.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_running(cluster: LocalCluster) -> bool:
    try:
        with psycopg.connect(cluster.url("postgres"), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def start(cluster: LocalCluster | None = None) -> LocalCluster:
    """Initialise (first time) and start the cluster; a no-op when it already runs."""
    cluster = cluster or default_cluster()
    with _lock(cluster):
        if _is_running(cluster):
            return cluster
        bin_dir = _bin_dir()
        if not (cluster.data_dir / "PG_VERSION").exists():
            cluster.data_dir.mkdir(parents=True, exist_ok=True)
            _chown_to_server_user(cluster.root)
            subprocess.run(
                _as_server_user(
                    [
                        str(bin_dir / "initdb"),
                        "-D",
                        str(cluster.data_dir),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        cluster.socket_dir.mkdir(parents=True, exist_ok=True)
        _chown_to_server_user(cluster.root)
        options = " ".join(
            [f"-p {cluster.port}", f"-k {cluster.socket_dir}"]
            + [f"-c {setting}" for setting in SERVER_SETTINGS]
        )
        subprocess.run(
            _as_server_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(cluster.data_dir),
                    "-l",
                    str(cluster.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not _is_running(cluster):
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {cluster.log_file}")
            time.sleep(0.2)
        return cluster


def stop(cluster: LocalCluster | None = None) -> bool:
    cluster = cluster or default_cluster()
    if not (cluster.data_dir / "PG_VERSION").exists() or not _is_running(cluster):
        return False
    subprocess.run(
        _as_server_user(
            [str(_bin_dir() / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return True


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def ensure_database(url: str) -> str:
    """Create the database named in `url` when missing; returns `url`."""
    name = urlsplit(url).path.lstrip("/") or "postgres"
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url


def server_url() -> str:
    """DATABASE_URL when set, else the private cluster (started on demand)."""
    explicit = os.environ.get("DATABASE_URL")
    if explicit:
        return explicit
    return start().url()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "start"
    if command == "start":
        url = ensure_database(server_url())
        print(url)
        return 0
    if command == "stop":
        stopped = stop()
        print("PostgreSQL stopped" if stopped else "PostgreSQL was not running (private cluster)")
        return 0
    if command == "url":
        print(os.environ.get("DATABASE_URL") or default_cluster().url())
        return 0
    print(f"usage: python -m connectra.local.postgres [start|stop|url], got {command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
