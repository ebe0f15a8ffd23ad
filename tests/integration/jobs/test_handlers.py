"""The export and sweeper Lambda handlers fed with their sample events from events/."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from connectra.jobs import lifecycle
from connectra.jobs import repository as jobs
from tests.integration.export.conftest import insert_contacts

ROOT = Path(__file__).resolve().parents[3]


def load_handler(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"{name}_handler", ROOT / "functions" / name / "handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_handler_runs_the_job_of_its_sample_event(
    s3: Any, conn: Any, events_dir: Path, lambda_context: Any
) -> None:
    event = json.loads((events_dir / "export_job.json").read_text())
    insert_contacts(conn, 50, companies=0)
    job_id = uuid.UUID(event["job_id"])
    jobs.create_job(
        conn,
        job_id,
        job_type="export",
        entity="contacts",
        owner_key_id="dev",
        idempotency_key=None,
        request_hash="",
        source={"bucket": None, "key": None, "etag": None, "size": None},
        data={"entity": "contacts", "columns": ["uuid"]},
        max_retries=3,
        retry_interval=30,
    )
    assert lifecycle.enqueue(conn, job_id) is not None
    conn.commit()

    result = load_handler("export").handler(event, lambda_context)

    assert (result["status"], result["rows"], result["job_id"]) == (
        "completed",
        50,
        event["job_id"],
    )
    assert result["download_url"] and result["export_key"].endswith("/contacts.csv")
    replay = load_handler("export").handler(event, lambda_context)  # a replayed invocation
    assert (replay["status"], replay["rows"]) == ("completed", 50)


def test_sweeper_handler_accepts_the_schedule_event(
    s3: Any, conn: Any, events_dir: Path, lambda_context: Any
) -> None:
    event = json.loads((events_dir / "schedule.json").read_text())

    result = load_handler("sweeper").handler(event, lambda_context)

    assert result == {"stalled": [], "retries_scheduled": [], "launched": [], "outbox_removed": 0}
