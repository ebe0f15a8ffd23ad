"""Ingest benchmark: our pipeline vs the reference method vs raw COPY, and worker memory.

One run, one generated data set (1M contacts and the 100k companies they reference;
`--quick`: 50k and 10k), measured in TWO table configurations, each in its own database
(on DATABASE_URL's server or the private cluster, recreated and migrated to head):

* `postgres_search` (`connectra_bench_ingest`): the PostgreSQL search deployment, every
  migration and every search index (trigram/GIN and btree `vql_*` indexes) in place;
* `opensearch` (`connectra_bench_ingest_keys`): the OpenSearch deployment, where PostgreSQL
  only needs its keys: after migrating, `connectra search-structures --backend opensearch`
  (db/search_structures.py) drops the search columns, their trigger and every search index,
  leaving the primary keys, the unique ones (email, domain) and the foreign keys' indexes;
  the chunks also write the search outbox, as that deployment does.

In each configuration:

(a) ours: the real pipeline end to end (plan → counts → boundaries → chunks in 2 worker
    processes → finalize), reading the files through the S3 adapter from a local moto S3
    server (ranged GETs over HTTP, as in AWS), into the fully indexed `contacts` table.
(b) the reference method: the same CSV parsing and pydantic validation, then 500-row
    multi-VALUES `INSERT … ON CONFLICT DO UPDATE` statements, one process (as the reference
    service does), into the same indexed table, emptied first. Measured on the first
    `REFERENCE_ROWS` contacts (its rate is steady; the full million takes many minutes).
(c) the ceiling: raw `COPY` of the file into an unindexed table of text columns.

Chunk-worker peak RSS (first configuration only): one chunk of 16, 64 and 128 MiB (capped
by the file size) loaded by `run_chunk` in a fresh subprocess, which reports its own VmHWM.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import psycopg

from bench.common import RESULTS, machine, results_dir, write_result

MIB = 1024 * 1024
BUCKET = "connectra-bench"
DATABASE = "connectra_bench_ingest"
REFERENCE_BATCH = 500
RSS_CHUNK_MIB = (16, 64, 128)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# name → (database, search backend)
CONFIGURATIONS: dict[str, tuple[str, Literal["postgres", "opensearch"]]] = {
    "opensearch": (f"{DATABASE}_keys", "opensearch"),
    "postgres_search": (DATABASE, "postgres"),
}
# Chunk-worker memory is measured in this configuration (the worker's memory does not
# depend on the table's indexes; loading 128 MiB into the keys-only table takes minutes,
# into the fully indexed one far longer on a shared 2-core machine).
RSS_CONFIGURATION = "opensearch"
# `BENCH_INGEST_CONFIGURATIONS=opensearch` runs a subset; the others keep their figures
# from the previous run in ingest.json (each configuration's ratios are within its own run).
CONFIGURATIONS_ENV = "BENCH_INGEST_CONFIGURATIONS"
# Issue 14 item 5: end to end, as a fraction of raw COPY into an unindexed table.
RAW_COPY_TARGETS = {"postgres_search": 0.08, "opensearch": 0.20}
TITLES = {
    "postgres_search": "PostgreSQL search deployment (all migrations, all search indexes)",
    "opensearch": "OpenSearch deployment (keys-only tables: no vql_* columns, no search indexes)",
}


def _environment(database_url: str, endpoint: str, search_backend: str = "postgres") -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        S3_ENDPOINT_URL=endpoint,
        S3_BUCKET=BUCKET,
        AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "bench"),
        AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "bench"),
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_NAMESPACE="Connectra",
        SEARCH_BACKEND=search_backend,
    )
    from connectra.db.pool import close_pool
    from connectra.settings import get_settings
    from connectra.storage.s3 import get_store

    get_settings.cache_clear()
    get_store.cache_clear()
    close_pool()


def _fresh_database(name: str, backend: Literal["postgres", "opensearch"]) -> str:
    from connectra.db import migrate
    from connectra.local import postgres

    server = postgres.server_url()
    with psycopg.connect(postgres.with_database(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    url = postgres.ensure_database(postgres.with_database(server, name))
    migrate.upgrade(url)
    _apply_search_structures(url, backend)
    return url


def _apply_search_structures(database_url: str, backend: Literal["postgres", "opensearch"]) -> None:
    """The configuration's structure set, switched by the command a deployment uses
    (`connectra search-structures --backend …`, db/search_structures.py). Explicitly: the
    migrations build the set SEARCH_BACKEND names, which an earlier configuration of the
    same run has set (a run of both measured the PostgreSQL one on keys-only tables).
    OpenSearch: no search columns, trigger or search indexes on contacts and companies."""
    from connectra.db import search_structures

    with psycopg.connect(database_url, autocommit=True) as conn:
        search_structures.apply(conn, backend)


def _index_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT t.relname, count(*), count(*) FILTER (WHERE am.amname = 'gin') "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE t.relname IN ('contacts', 'companies') GROUP BY t.relname"
        ).fetchall()
    counts: dict[str, int] = {}
    for table, total, gin in rows:
        counts[f"{table}_indexes"] = int(total)
        counts[f"{table}_gin_indexes"] = int(gin)
    return counts


def _generate(folder: Path, contacts: int) -> tuple[Path, Path]:
    from connectra.local.sample import write_sample_files

    return write_sample_files(folder, max(1, contacts // 10), contacts)


def _new_job(path: Path, entity: str, chunk_size: int) -> Any:
    """Upload the file and create its job as the upload-url route + S3 event would."""
    from connectra.db.pool import connection
    from connectra.ingest.events import PlanInput
    from connectra.jobs import repository as jobs
    from connectra.storage.s3 import get_store

    store = get_store()
    job_id = uuid.uuid4()
    key = f"uploads/{entity}/{job_id}/{path.name}"
    with path.open("rb") as handle:
        store.put_file(BUCKET, key, handle, "text/csv")
    info = store.head(BUCKET, key)
    with connection() as conn:
        jobs.create_import_job(
            conn,
            job_id,
            entity=entity,
            owner_key_id="bench",
            status=jobs.JobStatus.AWAITING_UPLOAD,
            source_bucket=BUCKET,
            source_key=key,
            data={"chunk_size": chunk_size},
        )
        jobs.attach_source(conn, job_id, bucket=BUCKET, key=key, etag=info.etag, size=info.size)
    return PlanInput(job_id=job_id, bucket=BUCKET, key=key)


def _truncate(database_url: str, *tables: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        conn.execute("VACUUM ANALYZE")


def measure_pipeline(path: Path, rows: int, chunk_size: int, workers: int) -> dict[str, Any]:
    from connectra.local.pipeline import run_import

    job = _new_job(path, "contacts", chunk_size)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    summary = run_import(job, workers=workers)
    seconds = time.perf_counter() - started
    # The worker processes' own CPU (reaped when run_import shuts its pool down): on AWS
    # the Lambda's share of a row (bench/projection.py), apart from the database's.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (children.ru_utime - children_before.ru_utime) + (
        children.ru_stime - children_before.ru_stime
    )
    if summary.status != "completed" or summary.inserted != rows:
        raise RuntimeError(f"the benchmark import did not complete cleanly: {summary}")
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "chunks": summary.chunks_total,
        "chunk_mib": round(chunk_size / MIB, 1),
        "workers": workers,
        "worker_cpu_seconds": round(worker_cpu, 2),
        "worker_cpu_us_per_row": round(worker_cpu / rows * 1e6, 2),
    }


def _clock_ticks(pid: int | str) -> tuple[int, int, int]:
    """(parent pid, own CPU ticks, reaped children's CPU ticks) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def database_cpu_seconds(database_url: str) -> float:
    """CPU the local PostgreSQL server has used so far (user + system, all its processes).

    The postmaster's live children (backends, WAL writer, checkpointer, autovacuum) plus
    its reaped children (backends that have exited since it started: their time lands in
    the postmaster's children totals when it waits for them)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        # Read while the backend lives: once the connection closes, its /proc entry goes.
        postmaster, _, _ = _clock_ticks(row[0])
    _, _, reaped = _clock_ticks(postmaster)
    live = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent, own, _ = _clock_ticks(entry.name)
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if parent == postmaster:
            live += own
    return (reaped + live) / os.sysconf("SC_CLK_TCK")


def _parsed_rows(path: Path, limit: int) -> Iterator[dict[str, Any] | None]:
    """The first `limit` records parsed and validated by our parser (None: a bad row)."""
    from connectra.ingest.columns import ColumnMap
    from connectra.ingest.parse import FileFormat, ParsedRow, RecordParser
    from connectra.ingest.splitter import Record
    from connectra.models.fields import Entity

    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        parser = RecordParser(
            Entity.CONTACTS, FileFormat.CSV, ColumnMap.from_header(Entity.CONTACTS, header)
        )
        for line, fields in enumerate(reader, start=2):
            if line - 2 >= limit:
                return
            record = Record(0, line, ",".join(_quoted(field) for field in fields).encode())
            parsed = parser.parse(record)
            yield parsed.row if isinstance(parsed, ParsedRow) else None


def measure_parse_only(path: Path, limit: int) -> dict[str, Any]:
    """The reference's own parsing and validation without the database: its CPU floor."""
    started = time.perf_counter()
    loaded = sum(1 for _ in _parsed_rows(path, limit))
    seconds = time.perf_counter() - started
    return {"rows": loaded, "seconds": round(seconds, 2), "rows_per_s": round(loaded / seconds)}


def measure_reference(database_url: str, path: Path, limit: int) -> dict[str, Any]:
    """Parse + validate as we do, then 500-row multi-VALUES INSERT … ON CONFLICT DO UPDATE."""
    from connectra.models.fields import WRITABLE_COLUMNS, Entity

    columns = ("uuid", *WRITABLE_COLUMNS[Entity.CONTACTS])
    updates = ", ".join(f"{name} = excluded.{name}" for name in columns if name != "uuid")

    def flush(conn: psycopg.Connection[Any], batch: list[dict[str, Any]]) -> None:
        unique = list({row["uuid"]: row for row in batch}.values())
        values = ", ".join(
            ["(" + ", ".join(["%s"] * len(columns)) + ", now(), now())"] * len(unique)
        )
        conn.execute(
            f"INSERT INTO contacts ({', '.join(columns)}, created_at, updated_at) "
            f"VALUES {values} ON CONFLICT (uuid) DO UPDATE SET {updates}, updated_at = now()",
            [row[name] for row in unique for name in columns],
        )
        conn.commit()

    started = time.perf_counter()
    loaded = 0
    with psycopg.connect(database_url) as conn:
        batch: list[dict[str, Any]] = []
        for row in _parsed_rows(path, limit):
            loaded += 1
            if row is not None:
                batch.append(row)
            if len(batch) == REFERENCE_BATCH:
                flush(conn, batch)
                batch = []
        if batch:
            flush(conn, batch)
    seconds = time.perf_counter() - started
    return {"rows": loaded, "seconds": round(seconds, 2), "rows_per_s": round(loaded / seconds)}


def _quoted(field: str) -> str:
    if any(ch in field for ch in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def measure_insert_floor(database_url: str, rows: int) -> dict[str, Any]:
    """The database's own cost of adding typed rows: one INSERT … SELECT, then commit.

    `rows` copies of loaded contacts, under new keys, go into the loaded table (same
    indexes, generated columns and deferred foreign key): no parsing, no staging, no
    ledger, no outbox. No import of these rows can cost the database less than this.
    """
    from connectra.models.fields import WRITABLE_COLUMNS, Entity

    columns = ", ".join(("uuid", *WRITABLE_COLUMNS[Entity.CONTACTS]))
    with psycopg.connect(database_url) as conn:
        conn.execute(
            f"CREATE TEMP TABLE floor_rows AS SELECT {columns} FROM contacts LIMIT %s", (rows,)
        )
        conn.execute("UPDATE floor_rows SET uuid = gen_random_uuid(), email = 'floor.' || email")
        conn.commit()
        started = time.perf_counter()
        conn.execute(
            f"INSERT INTO contacts ({columns}, created_at, updated_at) "
            f"SELECT {columns}, now(), now() FROM floor_rows"
        )
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DELETE FROM contacts WHERE uuid IN (SELECT uuid FROM floor_rows)")
        conn.commit()
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def measure_raw_copy(database_url: str, path: Path, rows: int) -> dict[str, Any]:
    from connectra.local.sample import CONTACT_COLUMNS

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw_contacts")
        conn.execute(
            "CREATE TABLE bench_raw_contacts ("
            + ", ".join(f"{name} text" for name in CONTACT_COLUMNS)
            + ")"
        )
        started = time.perf_counter()
        with conn.cursor() as cursor, path.open("rb") as handle:
            sql = (
                f"COPY bench_raw_contacts ({', '.join(CONTACT_COLUMNS)}) "
                "FROM STDIN WITH (FORMAT csv, HEADER true)"
            )
            with cursor.copy(sql) as copy:
                while piece := handle.read(MIB):
                    copy.write(piece)
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_raw_contacts")
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def measure_worker_rss(path: Path, chunk_mib: int) -> dict[str, Any]:
    """Plan one job with `chunk_mib` chunks, then load chunk 0 in a fresh subprocess."""
    from connectra.local import pipeline

    job = _new_job(path, "contacts", chunk_mib * MIB)
    plan = pipeline.invoke("plan", job.model_dump(mode="json"))
    from connectra.storage.s3 import get_store

    ranges = get_store().get_json(plan["manifest_bucket"], plan["manifest_key"])
    counts = [pipeline.invoke("count", item) for item in ranges]
    bounds = pipeline.invoke("boundaries", {**plan, "counts": counts})
    items = get_store().get_json(bounds["manifest_bucket"], bounds["manifest_key"])
    item = items[0]
    output = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--rss-worker", json.dumps(item)],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    ).stdout
    measured = json.loads(output.strip().splitlines()[-1])
    return {
        "chunk_mib": chunk_mib,
        "chunk_bytes": item["end_byte"] - item["start_byte"],
        "rows": measured["rows"],
        "baseline_rss_mib": measured["baseline_rss_mib"],
        "peak_rss_mib": measured["peak_rss_mib"],
    }


def _high_water_mib() -> float:
    """VmHWM: this process's peak RSS (unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_worker(item_json: str) -> None:
    """Subprocess body: import everything first (baseline), then run one chunk."""
    from connectra.local import pipeline

    baseline = _high_water_mib()
    summary = pipeline.invoke("chunk", json.loads(item_json))
    peak = _high_water_mib()
    line = {"rows": summary["rows"], "baseline_rss_mib": round(baseline, 1)}
    print(json.dumps({**line, "peak_rss_mib": round(peak, 1)}))


def measure_configuration(
    name: str,
    endpoint: str,
    companies_csv: Path,
    contacts_csv: Path,
    contacts: int,
    reference_rows: int,
    *,
    with_rss: bool,
) -> dict[str, Any]:
    """Ours, the reference method and raw COPY on one table configuration."""
    database, backend = CONFIGURATIONS[name]
    database_url = _fresh_database(database, backend)
    _environment(database_url, endpoint, backend)
    from connectra.local.pipeline import run_import

    size = contacts_csv.stat().st_size
    # Enough chunks for both workers to stay busy; never above the 64 MiB default.
    chunk_size = min(64 * MIB, max(MIB, size // 8))
    indexes = _index_counts(database_url)
    companies = run_import(_new_job(companies_csv, "companies", chunk_size), 2)
    cpu_before = database_cpu_seconds(database_url)
    ours = measure_pipeline(contacts_csv, contacts, chunk_size, workers=2)
    # The database's own CPU per imported row: what RDS must supply (bench/projection.py).
    database_cpu = database_cpu_seconds(database_url) - cpu_before
    ours["database_cpu_seconds"] = round(database_cpu, 2)
    ours["database_cpu_us_per_row"] = round(database_cpu / contacts * 1e6, 2)
    insert_floor = measure_insert_floor(database_url, reference_rows)
    insert_floor["us_per_row"] = round(1e6 / insert_floor["rows_per_s"], 2)
    _truncate(database_url, "contacts", "filters_data", "search_outbox", "search_outbox_batches")
    reference = measure_reference(database_url, contacts_csv, reference_rows)
    parse_only = measure_parse_only(contacts_csv, reference_rows)
    raw = measure_raw_copy(database_url, contacts_csv, contacts)
    _truncate(database_url, "contacts")
    cores = os.cpu_count() or 1
    bound = cores / (1 / parse_only["rows_per_s"] + 1 / insert_floor["rows_per_s"])
    rss = [measure_worker_rss(contacts_csv, mib) for mib in RSS_CHUNK_MIB] if with_rss else []
    _truncate(database_url, "contacts")
    return {
        "title": TITLES[name],
        "database": database,
        "search_backend": backend,
        "indexes": indexes,
        "companies": companies.total,
        "ours": ours,
        "reference": reference,
        "parse_only": parse_only,
        "raw_copy": raw,
        "insert_floor": insert_floor,
        # Parsing and validating a row, and the database inserting it, are both unavoidable
        # and share the machine's cores: no import here can beat all cores spending
        # (parse + insert floor) per row.
        "bound_rows_per_s": round(bound),
        "ratio_bound": round(bound / reference["rows_per_s"], 2),
        "raw_copy_fraction_bound": round(bound / raw["rows_per_s"], 3),
        "ratio_vs_reference": round(ours["rows_per_s"] / reference["rows_per_s"], 2),
        "fraction_of_raw_copy": round(ours["rows_per_s"] / raw["rows_per_s"], 3),
        "worker_rss": rss,
    }


def _load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def run(quick: bool) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    contacts = 50_000 if quick else 1_000_000
    reference_rows = min(contacts, 10_000 if quick else 100_000)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    load_before = _load_average()
    configurations: dict[str, Any] = {}
    try:
        from connectra.local import postgres
        from connectra.storage.s3 import get_store

        _environment(postgres.with_database(postgres.server_url(), DATABASE), endpoint)

        get_store().client.create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory(prefix="connectra-bench-") as folder:
            companies_csv, contacts_csv = _generate(Path(folder), contacts)
            size = contacts_csv.stat().st_size
            for name in _selected_configurations():
                configurations[name] = measure_configuration(
                    name,
                    endpoint,
                    companies_csv,
                    contacts_csv,
                    contacts,
                    reference_rows,
                    with_rss=name == RSS_CONFIGURATION,
                )
                configurations[name]["load_average_after"] = _load_average()
                configurations[name]["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC")
    finally:
        server.stop()
    configurations = _with_earlier_configurations(configurations, contacts)
    first = configurations.get("postgres_search") or next(iter(configurations.values()))
    rss = configurations.get(RSS_CONFIGURATION, first).get("worker_rss", [])
    result = {
        "machine": machine(),
        "quick": quick,
        "load_average_before": load_before,
        "file": {"contacts": contacts, "bytes": size, "companies": first["companies"]},
        "source": "moto S3 server over HTTP (ranged GETs), same adapter as AWS",
        # The PostgreSQL search deployment at the top level (what report.py charts).
        "ours": first["ours"],
        "reference": first["reference"],
        "raw_copy": first["raw_copy"],
        "ratio_vs_reference": first["ratio_vs_reference"],
        "fraction_of_raw_copy": first["fraction_of_raw_copy"],
        "worker_rss": rss,
        "configurations": configurations,
    }
    write_result("ingest", result)
    (results_dir(result["quick"]) / "ingest.md").write_text(markdown(result))
    return result


def _selected_configurations() -> list[str]:
    wanted = [name for name in os.environ.get(CONFIGURATIONS_ENV, "").split(",") if name]
    unknown = set(wanted) - set(CONFIGURATIONS)
    if unknown:
        raise SystemExit(f"{CONFIGURATIONS_ENV}: unknown configurations {sorted(unknown)}")
    return wanted or list(CONFIGURATIONS)


def _with_earlier_configurations(measured: dict[str, Any], contacts: int) -> dict[str, Any]:
    """The configurations measured now, plus the others from the last ingest.json of the
    same size (a subset run keeps the rest)."""
    earlier_file = RESULTS / "ingest.json"
    if len(measured) == len(CONFIGURATIONS) or not earlier_file.exists():
        return measured
    earlier = json.loads(earlier_file.read_text())
    if earlier.get("file", {}).get("contacts") != contacts:
        return measured
    kept = {
        name: body
        for name, body in earlier.get("configurations", {}).items()
        if name not in measured
    }
    return {**measured, **kept}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Ingest ({result['file']['contacts']:,} contacts, "
        f"{result['file']['bytes'] / MIB:.0f} MiB CSV, {result['machine']['cpus']} CPUs)",
        "",
        f"Source: {result['source']}. Load average before the run: "
        f"{result.get('load_average_before')}.",
    ]
    for name, config in result["configurations"].items():
        ours, ref, raw = config["ours"], config["reference"], config["raw_copy"]
        database_only = result["machine"]["cpus"] * config["insert_floor"]["rows_per_s"]
        indexes = config["indexes"]
        lines += [
            "",
            f"## {config['title']}",
            "",
            f"Measured {config.get('measured_at', '')}. "
            f"`{name}`: contacts carry {indexes.get('contacts_indexes', 0)} indexes "
            f"({indexes.get('contacts_gin_indexes', 0)} GIN), companies "
            f"{indexes.get('companies_indexes', 0)}; search backend "
            f"`{config['search_backend']}`; load average after: "
            f"{config.get('load_average_after')}.",
            "",
            "| method | rows | seconds | rows/s | vs ours |",
            "|---|---:|---:|---:|---:|",
            f"| ours: pipeline end to end, {ours['workers']} worker processes, "
            f"{ours['chunks']} chunks of {ours['chunk_mib']} MiB | {ours['rows']:,} | "
            f"{ours['seconds']} | {ours['rows_per_s']:,} | 1.00 |",
            f"| reference: 500-row multi-VALUES INSERT … ON CONFLICT, 1 process | "
            f"{ref['rows']:,} | {ref['seconds']} | {ref['rows_per_s']:,} | "
            f"{ref['rows_per_s'] / ours['rows_per_s']:.2f} |",
            f"| parsing and validation only, no database, 1 process | "
            f"{config['parse_only']['rows']:,} | {config['parse_only']['seconds']} | "
            f"{config['parse_only']['rows_per_s']:,} | "
            f"{config['parse_only']['rows_per_s'] / ours['rows_per_s']:.2f} |",
            f"| database floor: INSERT … SELECT of typed rows into this table, 1 process | "
            f"{config['insert_floor']['rows']:,} | {config['insert_floor']['seconds']} | "
            f"{config['insert_floor']['rows_per_s']:,} | "
            f"{config['insert_floor']['rows_per_s'] / ours['rows_per_s']:.2f} |",
            f"| ceiling: raw COPY into an unindexed table | {raw['rows']:,} | "
            f"{raw['seconds']} | {raw['rows_per_s']:,} | "
            f"{raw['rows_per_s'] / ours['rows_per_s']:.2f} |",
            "",
            f"Ours is **{config['fraction_of_raw_copy'] * 100:.1f}%** of raw COPY (target "
            f"≥ {RAW_COPY_TARGETS[name] * 100:.0f}%) and **{config['ratio_vs_reference']}×** "
            f"the reference method on the same tables. Database floor of this table: "
            f"**{config['insert_floor'].get('us_per_row', '?')} µs per row**; the database "
            f"spent {ours.get('database_cpu_us_per_row', '?')} µs of CPU per imported row "
            "during ours (all server processes, bench/ingest.py `database_cpu_seconds`); "
            f"the worker processes {ours.get('worker_cpu_us_per_row', '?')} µs.",
            "",
            f"Bounds. Python's parsing and validation (the reference's, and our fallback "
            f"for records the SQL path leaves to it) runs at "
            f"{config['parse_only']['rows_per_s']:,} rows/s per process, and the database "
            f"alone inserts typed rows into this table (one INSERT … SELECT of "
            f"{config['insert_floor']['rows']:,} rows, then commit) at "
            f"{config['insert_floor']['rows_per_s']:,} rows/s per process: an import that "
            f"parses in Python cannot pass {config['bound_rows_per_s']:,} rows/s on the "
            f"{result['machine']['cpus']} cores (**{config['ratio_bound']}×** the reference, "
            f"**{config['raw_copy_fraction_bound'] * 100:.0f}%** of raw COPY). The SQL path "
            f"parses in the database; its bound is the database's inserts alone on every "
            f"core: {database_only:,} rows/s, {database_only / ref['rows_per_s']:.2f}× the "
            f"reference, **{database_only / raw['rows_per_s'] * 100:.0f}%** of raw COPY.",
        ]
    lines += [
        "",
        f"## Chunk worker peak RSS ({RSS_CONFIGURATION} configuration)",
        "",
        "| chunk | bytes read | rows | baseline RSS MiB | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for item in result["worker_rss"]:
        lines.append(
            f"| {item['chunk_mib']} MiB | {item['chunk_bytes']:,} | {item['rows']:,} | "
            f"{item['baseline_rss_mib']} | {item['peak_rss_mib']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="50k contacts instead of 1M")
    parser.add_argument("--rss-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_worker:
        rss_worker(args.rss_worker)
        return 0
    result = run(args.quick)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
