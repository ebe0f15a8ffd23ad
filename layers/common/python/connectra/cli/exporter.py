"""`connectra export --entity contacts --vql q.json -o out.csv`: create an export job, follow
it, and download its file through the presigned URL."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from connectra.cli.importer import FINISHED, _check, _fail, console
from connectra.export.request import ExportFormat
from connectra.models.fields import Entity
from connectra.settings import DEV_API_KEY


def export_body(
    entity: Entity, vql: dict[str, Any], columns: str | None, file_format: ExportFormat, gzip: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_type": "export",
        "entity": entity.value,
        "vql": vql,
        "format": file_format.value,
        "gzip": gzip,
    }
    if columns:
        body["columns"] = [name.strip() for name in columns.split(",") if name.strip()]
    return body


def wait_for_job(api: httpx.Client, job_id: str, interval: float, timeout: float) -> dict[str, Any]:
    columns = (SpinnerColumn(), TextColumn("export {task.description}"), TimeElapsedColumn())
    deadline = time.monotonic() + timeout
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("open", total=None)
        while True:
            job = _check(api.get(f"/common/jobs/{job_id}"), "job status")
            progress.update(task, description=job["status"])
            if job["status"] in FINISHED:
                return job
            if time.monotonic() > deadline:
                raise _fail(f"job {job_id} is still {job['status']} after {timeout:.0f} s")
            time.sleep(interval)


def download(url: str, output: Path) -> int:
    """Stream the file to `output` (through a temporary name: no half-written file)."""
    partial = output.with_name(output.name + ".part")
    written = 0
    columns = (TextColumn("download"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with (
        httpx.stream("GET", url, timeout=None) as response,
        Progress(*columns, console=console) as progress,
    ):
        if not response.is_success:
            raise _fail(f"download failed ({response.status_code})")
        total = int(response.headers.get("content-length", 0)) or None
        task = progress.add_task("download", total=total)
        with partial.open("wb") as handle:
            for piece in response.iter_bytes(1024 * 1024):
                handle.write(piece)
                written += len(piece)
                progress.advance(task, len(piece))
    partial.replace(output)
    return written


def export_command(
    vql: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, readable=True, help="VQL query (JSON)")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="file to write")],
    entity: Annotated[Entity, typer.Option(help="contacts or companies")] = Entity.CONTACTS,
    file_format: Annotated[
        ExportFormat, typer.Option("--format", help="csv or ndjson")
    ] = ExportFormat.CSV,
    gzip: Annotated[bool, typer.Option("--gzip", help="gzip-compress the file")] = False,
    columns: Annotated[
        str | None, typer.Option(help="comma-separated columns (default: all)")
    ] = None,
    api_url: Annotated[str, typer.Option(envvar="CONNECTRA_API_URL")] = "http://127.0.0.1:8000",
    api_key: Annotated[str | None, typer.Option(envvar="CONNECTRA_API_KEY")] = None,
    interval: Annotated[float, typer.Option(help="seconds between status polls")] = 1.0,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the job")] = 6 * 3600.0,
) -> None:
    """Export the rows of a VQL query to a CSV or NDJSON file."""
    try:
        query = json.loads(vql.read_text())
    except ValueError as exc:
        raise _fail(f"{vql} is not JSON: {exc}") from None
    body = export_body(entity, query, columns, file_format, gzip)
    headers = {"X-API-Key": api_key or os.environ.get("CONNECTRA_API_KEY") or DEV_API_KEY}
    # One key for this invocation: a create retried after a lost response is the same job.
    idempotency = {"Idempotency-Key": f"cli-export-{uuid.uuid4()}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=30) as api:
        created = _check(
            api.post("/common/jobs/create", json=body, headers=idempotency), "export request"
        )
        job_id = str(created["job_id"])
        console.print(f"export job {job_id}")
        job = wait_for_job(api, job_id, interval, timeout)
    if job["status"] != "completed" or not job.get("download_url"):
        console.print(f"[red]export {job['status']}:[/red] {job.get('error') or 'no file'}")
        raise typer.Exit(code=1)
    size = download(job["download_url"], output)
    console.print(f"{job['counts']['total']:,} rows, {size:,} bytes → {output}")
