"""What the measured ingest costs mean on AWS: wall time to import 1, 10 and 100 GiB.

A model, not a measurement. Measured inputs from bench/ingest.py:

* the chunk worker's own CPU per row (its process, not the database's) when measured,
  else its rate here (rows/s per worker process), scaled to a Lambda vCPU. A chunk's rows
  pass through its worker and its one database session in turn (the worker waits for
  each statement), so on AWS a worker's rate is 1 / (worker CPU per row on the Lambda
  vCPU + database CPU per row on the RDS vCPU). The rate measured here is not that:
  here the database shares the same 2 cores with both workers and the S3 server;
* the database's CPU per imported row (all server processes, measured during the
  import), which sets what an RDS instance class can absorb:
  `vCPUs × vcpu_vs_this_core × cpu_utilization / µs per row`.

The import is done when PostgreSQL has committed every chunk; with the OpenSearch backend
the search outbox drains afterwards, so "search caught up" is reported beside it, bounded
by the OpenSearch sizing named in the assumptions. Every assumption is in the output.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GIB = 1024**3

# Graviton memory-optimized RDS classes (vCPUs), smallest first.
RDS_CLASSES: dict[str, int] = {
    "db.r6g.2xlarge": 8,
    "db.r6g.4xlarge": 16,
    "db.r6g.8xlarge": 32,
    "db.r6g.12xlarge": 48,
    "db.r6g.16xlarge": 64,
}
TARGET_GIB, TARGET_MINUTES = 10, 5.0  # issue 14 item 5, OpenSearch configuration
CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


@functools.cache
def prod_setting(key: str) -> Any:
    """A setting of the prod environment in cdk.json: the model follows the deployment."""
    environments = json.loads(CDK_JSON.read_text())["context"]["connectra:environments"]
    return environments["prod"][key]


@dataclass(frozen=True)
class Assumptions:
    # Distributed Map child executions at once
    map_max_concurrency: int = field(
        default_factory=lambda: int(prod_setting("map_max_concurrency"))
    )
    lambda_memory_mb: int = 2048  # chunk worker size; ~1.2 vCPU at 2 GB
    lambda_vcpu_vs_this_core: float = 0.8  # a Graviton vCPU slice vs one core of this machine
    ranged_get_mb_s: float = 80.0  # S3 ranged GET per Lambda, sustained
    lambda_timeout_s: int = 900  # a chunk must finish well within 15 minutes
    rds_instance_class: str = "db.r6g.4xlarge"
    rds_vcpu_vs_this_core: float = 0.8
    # Share of the instance's CPU the import's statements get: the rest is WAL writing,
    # checkpoints, autovacuum, lock waits and the API's own traffic.
    rds_cpu_utilization: float = 0.6
    opensearch_data_nodes: int = 6
    opensearch_instance_type: str = "r6g.2xlarge.search"
    opensearch_replicas: int = 1
    # Bulk indexing per data node, primary and replica writes both counted; documents are
    # ~2x the CSV bytes (JSON keys, the denormalized company fields).
    opensearch_bulk_mb_s_per_node: float = 12.0
    document_bytes_per_csv_byte: float = 2.0
    step_overhead_s: float = 20.0  # plan + boundaries + finalize + Map scheduling
    notes: list[str] = field(
        default_factory=lambda: [
            "RDS storage: gp3/io2 WAL throughput is not modelled (keys-only rows write "
            "~0.5 KB of WAL each: 160k rows/s is ~80 MB/s)",
        ]
    )

    @property
    def rds_vcpus(self) -> int:
        return RDS_CLASSES[self.rds_instance_class]


def rds_rows_per_second(database_us_per_row: float, a: Assumptions) -> float:
    return (
        a.rds_vcpus * a.rds_vcpu_vs_this_core * a.rds_cpu_utilization / (database_us_per_row * 1e-6)
    )


def lambda_worker_rows_per_second(
    worker_us_per_row: float, database_us_per_row: float, a: Assumptions
) -> float:
    """One chunk worker on AWS: its own CPU and its database session's, in turn."""
    seconds = (
        worker_us_per_row * 1e-6 / a.lambda_vcpu_vs_this_core
        + database_us_per_row * 1e-6 / a.rds_vcpu_vs_this_core
    )
    return 1 / seconds


def project(
    per_worker_rows_s: float,
    bytes_per_row: float,
    chunk_bytes: int,
    search_backend: str,
    database_us_per_row: float,
    assumptions: Assumptions | None = None,
    worker_us_per_row: float | None = None,
) -> dict[str, Any]:
    a = assumptions or Assumptions()
    if worker_us_per_row is None:  # a run that did not measure the worker's own CPU
        worker_rows_s = per_worker_rows_s * a.lambda_vcpu_vs_this_core
    else:
        worker_rows_s = lambda_worker_rows_per_second(worker_us_per_row, database_us_per_row, a)
    chunk_seconds = (chunk_bytes / bytes_per_row) / worker_rows_s
    rows_per_mb = 1024 * 1024 / bytes_per_row
    rds_rows_s = rds_rows_per_second(database_us_per_row, a)
    search_rows_s = (
        a.opensearch_data_nodes
        * a.opensearch_bulk_mb_s_per_node
        * rows_per_mb
        / a.document_bytes_per_csv_byte
    )
    cases = []
    for gib in (1, 10, 100):
        size = gib * GIB
        rows = size / bytes_per_row
        chunks = max(1, round(size / chunk_bytes))
        parallel = min(a.map_max_concurrency, chunks)
        sinks = {
            "lambda_workers": parallel * worker_rows_s,
            "rds_cpu": rds_rows_s,
            "s3_ranged_get": parallel * a.ranged_get_mb_s * rows_per_mb,
        }
        bottleneck = min(sinks, key=lambda name: sinks[name])
        quote_pass_s = size / (parallel * a.ranged_get_mb_s * 1024 * 1024)
        wall = rows / sinks[bottleneck] + quote_pass_s + a.step_overhead_s
        case = {
            "file_gib": gib,
            "rows": round(rows),
            "chunks": chunks,
            "parallel_workers": parallel,
            "rows_per_second": round(sinks[bottleneck]),
            "bottleneck": bottleneck,
            "wall_minutes": round(wall / 60, 1),
        }
        if search_backend == "opensearch":
            # The outbox drains while chunks load: search catches up at the slower pace.
            caught_up = max(wall, rows / search_rows_s + a.step_overhead_s)
            case["search_caught_up_minutes"] = round(caught_up / 60, 1)
        cases.append(case)
    return {
        "inputs": {
            "per_worker_rows_s_measured_here": round(per_worker_rows_s),
            "worker_us_per_row_measured_here": (
                None if worker_us_per_row is None else round(worker_us_per_row, 2)
            ),
            "lambda_worker_rows_s": round(worker_rows_s),
            "database_us_per_row_measured_here": round(database_us_per_row, 2),
            "rds_rows_s": round(rds_rows_s),
            "bytes_per_row": round(bytes_per_row, 1),
            "chunk_bytes": chunk_bytes,
            "chunk_seconds_on_lambda": round(chunk_seconds, 1),
            "chunk_fits_lambda_timeout": chunk_seconds < a.lambda_timeout_s * 0.8,
            "search_backend": search_backend,
        },
        "assumptions": {**asdict(a), "rds_vcpus": a.rds_vcpus},
        "cases": cases,
    }


def fewest_opensearch_nodes_for_target(bytes_per_row: float) -> int:
    """The fewest data nodes whose bulk rate makes TARGET_GIB searchable in TARGET_MINUTES
    (the outbox drains while chunks load; the fixed step overhead comes first)."""
    a = Assumptions()
    rows = TARGET_GIB * GIB / bytes_per_row
    per_node_rows_s = (
        a.opensearch_bulk_mb_s_per_node
        * 1024
        * 1024
        / bytes_per_row
        / a.document_bytes_per_csv_byte
    )
    return math.ceil(rows / (per_node_rows_s * (TARGET_MINUTES * 60 - a.step_overhead_s)))


def smallest_rds_class_for_target(bytes_per_row: float, database_us_per_row: float) -> str | None:
    """The smallest RDS class whose CPU carries the rate that imports TARGET_GIB in
    TARGET_MINUTES (after the fixed step overhead and the quote pass)."""
    a = Assumptions()
    rows = TARGET_GIB * GIB / bytes_per_row
    quote_pass_s = TARGET_GIB * GIB / (a.map_max_concurrency * a.ranged_get_mb_s * 1024 * 1024)
    needed = rows / (TARGET_MINUTES * 60 - a.step_overhead_s - quote_pass_s)
    for name in RDS_CLASSES:
        if rds_rows_per_second(database_us_per_row, Assumptions(rds_instance_class=name)) >= needed:
            return name
    return None
