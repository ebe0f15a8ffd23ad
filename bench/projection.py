"""What the measured chunk throughput means on AWS: wall time to import 1, 10 and 100 GB.

A model, not a measurement: it multiplies the per-worker rate measured on this machine by
the parallelism Step Functions and Lambda allow, and caps it by the shared sinks (RDS
write capacity, OpenSearch bulk rate). Every assumption is named in the output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

GIB = 1024**3


@dataclass(frozen=True)
class Assumptions:
    map_max_concurrency: int = 40  # Distributed Map child executions at once (cdk.json prod)
    lambda_memory_mb: int = 2048  # chunk worker size; ~1.2 vCPU at 2 GB
    lambda_vcpu_vs_this_core: float = 0.8  # a Graviton vCPU slice vs one core of this machine
    ranged_get_mb_s: float = 80.0  # S3 ranged GET per Lambda, sustained
    lambda_timeout_s: int = 900  # a chunk must finish well within 15 minutes
    # db.r6g.2xlarge, batched COPY + ON CONFLICT from all workers. With the PostgreSQL
    # engine's 22 indexes (8 GIN) a row costs ~10x more to write than with keys only
    # (measured here: 100k rows COPY into the indexed table 9.5 s, into keys only ~0.3 s).
    rds_rows_s_with_search_indexes: float = 30_000.0
    rds_rows_s_keys_only: float = 80_000.0
    opensearch_bulk_mb_s: float = 25.0  # 3 × r6g.large.search data nodes, bulk 5–9 MiB bodies
    step_overhead_s: float = 20.0  # plan + boundaries + finalize + Map scheduling


def project(
    per_worker_rows_s: float,
    bytes_per_row: float,
    chunk_bytes: int,
    search_backend: str,
    assumptions: Assumptions | None = None,
) -> dict[str, Any]:
    a = assumptions or Assumptions()
    worker_rows_s = per_worker_rows_s * a.lambda_vcpu_vs_this_core
    chunk_seconds = (chunk_bytes / bytes_per_row) / worker_rows_s
    rows_per_mb = 1024 * 1024 / bytes_per_row
    cases = []
    for gib in (1, 10, 100):
        size = gib * GIB
        rows = size / bytes_per_row
        chunks = max(1, round(size / chunk_bytes))
        parallel = min(a.map_max_concurrency, chunks)
        sinks = {
            "lambda_workers": parallel * worker_rows_s,
            "rds_write_capacity": (
                a.rds_rows_s_keys_only
                if search_backend == "opensearch"
                else a.rds_rows_s_with_search_indexes
            ),
            "s3_ranged_get": parallel * a.ranged_get_mb_s * rows_per_mb,
        }
        if search_backend == "opensearch":
            sinks["opensearch_bulk"] = a.opensearch_bulk_mb_s * rows_per_mb * 0.5
        bottleneck = min(sinks, key=lambda name: sinks[name])
        quote_pass_s = size / (parallel * a.ranged_get_mb_s * 1024 * 1024)
        wall = rows / sinks[bottleneck] + quote_pass_s + a.step_overhead_s
        cases.append(
            {
                "file_gib": gib,
                "rows": round(rows),
                "chunks": chunks,
                "parallel_workers": parallel,
                "rows_per_second": round(sinks[bottleneck]),
                "bottleneck": bottleneck,
                "wall_minutes": round(wall / 60, 1),
            }
        )
    return {
        "inputs": {
            "per_worker_rows_s_measured_here": round(per_worker_rows_s),
            "bytes_per_row": round(bytes_per_row, 1),
            "chunk_bytes": chunk_bytes,
            "chunk_seconds_on_lambda": round(chunk_seconds, 1),
            "chunk_fits_lambda_timeout": chunk_seconds < a.lambda_timeout_s * 0.8,
            "search_backend": search_backend,
        },
        "assumptions": asdict(a),
        "cases": cases,
    }
