"""S3 notifications are at-least-once and unordered: out-of-order, repeated and concurrent
events still make one job per object and one execution per job."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from connectra.ingest.events import ChunkItem, PlanInput
from connectra.jobs import repository as jobs
from connectra.orchestration.launchers import execution_name
from connectra.orchestration.start import StartOutcome, handle_object_created
from connectra.storage.s3 import ObjectStore
from tests.integration.ingest.conftest import BUCKET


class StepFunctionsLike:
    """Executions named after the job: a second start of one name is refused (thread-safe)."""

    def __init__(self) -> None:
        self.executions: dict[str, PlanInput] = {}
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def start_import(self, plan_input: PlanInput, attempt: int) -> bool:
        name = execution_name(plan_input.job_id, attempt)
        with self._lock:
            if name in self.executions:
                self.refused.append(name)
                return False
            self.executions[name] = plan_input
            return True

    def retry_chunks(
        self, plan_input: PlanInput, chunks: Sequence[ChunkItem], attempt: int
    ) -> None:
        raise AssertionError("an upload event never retries chunks")

    def start_export(self, job_id: uuid.UUID, attempt: int) -> None:
        raise AssertionError("an upload event never starts an export")


def event_for(events_dir: Path, key: str, etag: str, sequencer: str) -> Any:
    event = json.loads((events_dir / "s3_object_created.json").read_text())
    event["id"] = str(uuid.uuid4())  # every delivery has its own EventBridge id
    event["detail"]["bucket"]["name"] = BUCKET
    event["detail"]["object"].update(key=key, etag=etag, sequencer=sequencer)
    return S3EventNotificationEventBridgeModel.model_validate(event)


def presigned_upload(store: ObjectStore, conn: Any, name: str, body: bytes) -> tuple[str, str]:
    """A job awaiting its upload (as the upload-url route makes it), then the object."""
    job_id = uuid.uuid4()
    key = f"uploads/contacts/{job_id}/{name}"
    jobs.create_import_job(
        conn,
        job_id,
        entity="contacts",
        owner_key_id="dev",
        status=jobs.JobStatus.AWAITING_UPLOAD,
        source_key=key,
    )
    conn.commit()
    store.put_bytes(BUCKET, key, body, "text/csv")
    return key, store.head(BUCKET, key).etag


def job_rows(conn: Any) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT uuid::text AS job_id, source_key, source_etag, status FROM jobs ORDER BY source_key"
    ).fetchall()
    conn.commit()
    return list(rows)


def test_a_later_objects_event_first_and_each_event_three_times_make_one_job_each(
    store: ObjectStore, conn: Any, events_dir: Path
) -> None:
    # Given two uploads, the first made before the second
    first = presigned_upload(store, conn, "a.csv", b"email\na@x.io\n")
    second = presigned_upload(store, conn, "b.csv", b"email\nb@x.io\n")
    direct_key = f"uploads/contacts/{uuid.uuid4()}/direct.csv"  # no presigned job row
    store.put_bytes(BUCKET, direct_key, b"email\nc@x.io\n", "text/csv")
    direct = (direct_key, store.head(BUCKET, direct_key).etag)
    events = {
        name: event_for(events_dir, key, etag, f"{index:016X}")
        for index, (name, (key, etag)) in enumerate(
            {"first": first, "second": second, "direct": direct}.items()
        )
    }
    launcher = StepFunctionsLike()
    # When the later object's event arrives first, and each arrives three times, interleaved
    order = ["second", "direct", "first", "second", "first", "direct", "first", "second", "direct"]
    outcomes = [(name, handle_object_created(events[name], launcher)) for name in order]

    # Then every delivery is accepted, but only the first of each object starts an execution
    assert all(outcome.accepted for _, outcome in outcomes)
    started = [name for name, outcome in outcomes if outcome.started]
    assert started == ["second", "direct", "first"]
    rows = job_rows(conn)
    assert len(rows) == 3
    assert {row["source_key"] for row in rows} == {first[0], second[0], direct[0]}
    assert all(row["status"] == "in_queue" for row in rows)
    assert sorted(launcher.executions) == sorted(row["job_id"] for row in rows)
    assert len(launcher.refused) == 6  # the replays asked again and were told "exists"
    assert {plan.key for plan in launcher.executions.values()} == {
        first[0],
        second[0],
        direct[0],
    }


def test_the_same_event_delivered_concurrently_starts_one_execution(
    store: ObjectStore, conn: Any, events_dir: Path
) -> None:
    # Given one upload and its event delivered 3 times at once to each of 2 objects
    uploads = [presigned_upload(store, conn, f"{name}.csv", b"email\nz@x.io\n") for name in "ab"]
    direct_key = f"uploads/companies/{uuid.uuid4()}/direct.csv"
    store.put_bytes(BUCKET, direct_key, b"name\nAcme\n", "text/csv")
    uploads.append((direct_key, store.head(BUCKET, direct_key).etag))
    deliveries = [event_for(events_dir, key, etag, "0A") for key, etag in uploads for _ in range(3)]
    launcher = StepFunctionsLike()
    # When they are handled in parallel, as concurrent Lambda invocations would
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes: list[StartOutcome] = list(
            pool.map(lambda event: handle_object_created(event, launcher), deliveries)
        )

    # Then one job per object and one execution per job
    assert all(outcome.accepted for outcome in outcomes), [o.reason for o in outcomes]
    assert sum(outcome.started for outcome in outcomes) == 3
    rows = job_rows(conn)
    assert len(rows) == 3
    assert sorted(launcher.executions) == sorted(row["job_id"] for row in rows)
    assert {row["source_etag"] for row in rows} == {etag for _, etag in uploads}


def test_a_stale_event_of_an_overwritten_object_never_starts_a_second_job(
    store: ObjectStore, conn: Any, events_dir: Path
) -> None:
    # Given an upload overwritten by a second version: v2's event arrives before v1's
    key, etag_v1 = presigned_upload(store, conn, "c.csv", b"email\nv1@x.io\n")
    store.put_bytes(BUCKET, key, b"email\nv2@x.io\nv2b@x.io\n", "text/csv")
    etag_v2 = store.head(BUCKET, key).etag
    launcher = StepFunctionsLike()

    # When the events arrive newest first, the stale one twice
    newest = handle_object_created(event_for(events_dir, key, etag_v2, "02"), launcher)
    stale = [
        handle_object_created(event_for(events_dir, key, etag_v1, "01"), launcher) for _ in range(2)
    ]

    # Then the job imports the version whose event came first, and the stale one is refused
    assert newest.started
    assert [outcome.accepted for outcome in stale] == [False, False]
    assert "another version" in stale[0].reason
    assert [row["source_etag"] for row in job_rows(conn)] == [etag_v2]
    assert len(launcher.executions) == 1
