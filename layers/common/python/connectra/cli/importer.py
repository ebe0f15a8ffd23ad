"""`connectra import FILE --entity contacts`: presigned upload, then follow the job to its end."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from connectra.cli.dry_run import dry_run_file, print_dry_run, split_by_database
from connectra.models.fields import Entity
from connectra.settings import DEV_API_KEY

FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}
console = Console()


class _ProgressReader:
    """A file wrapper that advances a progress bar as httpx streams it."""

    def __init__(self, handle: BinaryIO, progress: Progress, task: TaskID) -> None:
        self.handle = handle
        self.progress = progress
        self.task = task

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.progress.advance(self.task, len(data))
        return data

    def fileno(self) -> int:
        # httpx sizes the multipart body from the file: without it the POST goes chunked,
        # which S3 refuses (411 Content-Length required).
        return self.handle.fileno()


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.is_success:
        body: dict[str, Any] = response.json() if response.content else {}
        return body
    try:
        detail = response.json().get("message", response.text)
    except ValueError:
        detail = response.text[:500]
    raise _fail(f"{what} failed ({response.status_code}): {detail}")


def upload(client: httpx.Client, path: Path, grant: dict[str, Any]) -> None:
    size = path.stat().st_size
    columns = (
        TextColumn("upload"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress, path.open("rb") as handle:
        task = progress.add_task("upload", total=size)
        reader = _ProgressReader(handle, progress, task)
        content_type = grant["fields"].get("Content-Type", "text/csv")
        response = client.post(
            grant["url"],
            data=grant["fields"],
            files={"file": (path.name, reader, content_type)},  # type: ignore[dict-item]
            timeout=None,
        )
    if not response.is_success:
        raise _fail(f"upload to S3 failed ({response.status_code}): {response.text[:500]}")


# Answers worth waiting out while following a job: busy or briefly unavailable.
TRANSIENT_STATUSES = {429, 502, 503, 504}


def poll_job(client: httpx.Client, job_id: str, interval: float) -> dict[str, Any]:
    """The job's current view; a busy API (429/503, per Retry-After) or a dropped
    connection is waited out, never taken for the job's end."""
    while True:
        try:
            response = client.get(f"/common/jobs/{job_id}")
        except httpx.TransportError:
            time.sleep(max(interval, 1.0))
            continue
        if response.status_code not in TRANSIENT_STATUSES:
            return _check(response, "job status")
        retry_after = response.headers.get("Retry-After", "")
        time.sleep(float(retry_after) if retry_after.isdigit() else max(interval, 1.0))


def progress_detail(job: dict[str, Any]) -> str:
    chunks, counts = job["chunks"], job["counts"]
    detail = (
        f"chunks {chunks['done']}/{chunks['total']}  rows {counts['total']:,}  "
        f"failed {counts['failed']:,}"
    )
    if job["status"] == "retry_in_queue":
        detail += f"  retry {job.get('retry_count', 0)}/{job.get('max_retries', 0)}"
        if job.get("error"):
            detail += f" after: {job['error']}"
    return detail


def follow(client: httpx.Client, job_id: str, interval: float) -> dict[str, Any]:
    """Follow the job to a final state, through its retries (`retry_in_queue` and
    `retrying` are not final: only completed, completed_with_errors, failed, cancelled)."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"))
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=None, detail="waiting for the upload event")
        while True:
            job = poll_job(client, job_id, interval)
            chunks = job["chunks"]
            progress.update(
                task,
                total=chunks["total"] or None,
                completed=chunks["done"],
                description=job["status"],
                detail=progress_detail(job),
            )
            if job["status"] in FINISHED:
                return job
            time.sleep(interval)


def print_summary(job: dict[str, Any]) -> None:
    table = Table(title=f"import {job['job_id']}: {job['status']}")
    for name in ("total", "inserted", "updated", "duplicates", "failed"):
        table.add_column(name, justify="right")
    counts = job["counts"]
    table.add_row(
        *(f"{counts[name]:,}" for name in ("total", "inserted", "updated", "duplicates", "failed"))
    )
    console.print(table)
    for notice in job.get("notices") or []:
        console.print(f"[yellow]note:[/yellow] column {notice['column']!r}: {notice['message']}")
    if job.get("error"):
        console.print(f"[red]error:[/red] {job['error']}")
    if job.get("error_report_url"):
        # One unwrapped line: a URL broken over lines cannot be copied (issue 11 D13).
        console.print(f"error report: {job['error_report_url']}", soft_wrap=True)


def read_mapping(value: str | None) -> dict[str, str | None] | None:
    """`--mapping '{"Col": "field"}'` or `--mapping @mapping.json`."""
    if value is None:
        return None
    text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise _fail(f"--mapping: not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise _fail("--mapping: a JSON object of column → field name (or null)")
    return parsed


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    entity: Annotated[Entity, typer.Option(help="contacts or companies")],
    chunk_size: Annotated[
        int | None, typer.Option(help="bytes per parallel chunk (default: the server's)")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="the file's export format: apollo, zoominfo, hubspot, …")
    ] = None,
    mapping: Annotated[
        str | None, typer.Option(help='JSON {"Column": "field"} or @file.json')
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="parse and report locally; write nothing")
    ] = False,
    rows: Annotated[
        int | None, typer.Option(help="with --dry-run: read only the first N rows", min=1)
    ] = None,
    wait: Annotated[bool, typer.Option(help="follow the job until it ends")] = True,
    api_url: Annotated[str, typer.Option(envvar="CONNECTRA_API_URL")] = "http://127.0.0.1:8000",
    api_key: Annotated[str | None, typer.Option(envvar="CONNECTRA_API_KEY")] = None,
    interval: Annotated[float, typer.Option(help="seconds between status polls")] = 1.0,
) -> None:
    """Import a CSV or NDJSON file of contacts or companies."""
    if file.stat().st_size == 0:
        raise _fail(f"{file} is empty")
    columns = read_mapping(mapping)
    if dry_run:
        report = dry_run_file(file, entity, columns, preset, rows)
        print_dry_run(report, split_by_database(report))
        return
    headers = {"X-API-Key": api_key or os.environ.get("CONNECTRA_API_KEY") or DEV_API_KEY}
    with httpx.Client(base_url=api_url, headers=headers, timeout=30) as api:
        params: dict[str, Any] = {"filename": file.name, "entity": entity.value}
        if chunk_size:
            params["chunk_size"] = chunk_size
        if preset:
            params["preset"] = preset
        if columns:
            params["mapping"] = json.dumps(columns)
        grant = _check(api.get("/common/upload-url", params=params), "upload URL request")
        with httpx.Client(timeout=None) as s3:
            upload(s3, file, grant)
        console.print(f"uploaded {file} → job {grant['job_id']}")
        if not wait:
            return
        job = follow(api, str(grant["job_id"]), interval)
    print_summary(job)
    if job["status"] in ("failed", "cancelled"):
        raise typer.Exit(code=1)
