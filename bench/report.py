"""The Markdown report and PNG charts of a `make bench` run (bench/results/)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.common import results_dir
from bench.projection import (
    TARGET_GIB,
    TARGET_MINUTES,
    Assumptions,
    fewest_opensearch_nodes_for_target,
    project,
    smallest_rds_class_for_target,
)

MIB = 1024 * 1024


def _chart_ingest(ingest: dict[str, Any], plt: Any, folder: Path) -> str | None:
    if "ours" not in ingest:
        return None
    labels = ["reference\n500-row INSERT", "ours\npipeline", "ceiling\nraw COPY"]
    values = [
        ingest["reference"]["rows_per_s"],
        ingest["ours"]["rows_per_s"],
        ingest["raw_copy"]["rows_per_s"],
    ]
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.bar(labels, values, color=["#999999", "#2b7bba", "#cccccc"])
    axis.set_yscale("log")
    axis.set_ylabel("rows/s (log)")
    axis.set_title(f"Ingest, {ingest['file']['contacts']:,} contacts")
    for index, value in enumerate(values):
        axis.text(index, value, f"{value:,.0f}", ha="center", va="bottom", fontsize=8)
    return _save(figure, "ingest_rows_per_s.png", plt, folder)


def _chart_rss(ingest: dict[str, Any], plt: Any, folder: Path) -> str | None:
    points = ingest.get("worker_rss") or []
    if not points:
        return None
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.plot([p["chunk_mib"] for p in points], [p["peak_rss_mib"] for p in points], marker="o")
    axis.set_xlabel("chunk size (MiB)")
    axis.set_ylabel("peak RSS (MiB)")
    axis.set_title("Chunk worker peak memory vs chunk size")
    return _save(figure, "chunk_worker_rss.png", plt, folder)


def _chart_search(search: dict[str, Any], plt: Any, folder: Path) -> str | None:
    """Page and count p95 of every query shape against their targets (log scale)."""
    shapes = search.get("shapes") or {}
    if not shapes:
        return None
    names = list(shapes)
    targets = search.get("targets_ms", {"page_p95": 50, "count_p95": 150})
    figure, axis = plt.subplots(figsize=(9, max(4.0, 0.13 * len(names))))
    positions = range(len(names))
    axis.barh(
        [p + 0.2 for p in positions],
        [shapes[n]["page"]["p95_ms"] for n in names],
        height=0.4,
        label="page p95",
        color="#2b7bba",
    )
    axis.barh(
        [p - 0.2 for p in positions],
        [shapes[n]["count_time"]["p95_ms"] for n in names],
        height=0.4,
        label="count p95",
        color="#d95f02",
    )
    axis.set_yticks(list(positions), names, fontsize=4)
    axis.set_xscale("log")
    axis.set_xlabel("p95 latency (ms, log)")
    axis.axvline(targets["page_p95"], color="#2b7bba", linestyle="--", linewidth=1)
    axis.axvline(targets["count_p95"], color="#d95f02", linestyle="--", linewidth=1)
    axis.legend(fontsize=7)
    axis.set_title(f"Search p95 per query shape, {search.get('contacts', 0):,} contacts")
    figure.tight_layout()
    return _save(figure, "search_p95.png", plt, folder)


def _chart_load(load: dict[str, Any], plt: Any, folder: Path) -> str | None:
    levels = load.get("levels") or []
    if not levels:
        return None
    figure, left = plt.subplots(figsize=(6, 3.5))
    concurrency = [level["concurrency"] for level in levels]
    left.plot(
        concurrency, [level["throughput_rps"] for level in levels], marker="o", color="#2b7bba"
    )
    left.set_xlabel("concurrent clients")
    left.set_ylabel("requests/s", color="#2b7bba")
    right = left.twinx()
    right.plot(concurrency, [level["p95_ms"] for level in levels], marker="s", color="#d95f02")
    right.set_ylabel("p95 ms", color="#d95f02")
    left.set_title("Search API under load (127.0.0.1)")
    return _save(figure, "load.png", plt, folder)


def _save(figure: Any, name: str, plt: Any, folder: Path) -> str:
    figure.savefig(folder / name, dpi=110)
    plt.close(figure)
    return name


def _load_section(body: dict[str, Any]) -> list[str]:
    lines = [
        "## load",
        "",
        f"Closed-loop clients against the API on 127.0.0.1 over {body.get('database', '?')}, "
        f"{body.get('seconds_per_level')} s per level (the load generator shares the 2 CPUs).",
        "",
        "Overload must shed load as fast 503s with Retry-After (`503`); `other ≥500` counts "
        "any other 5xx or transport error, and must be 0.",
        "",
        "| clients | requests | ok req/s | vs 1 client | not 200 | 503 | other ≥500 "
        "| p50 ms | p95 ms | p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in body.get("levels", []):
        lines.append(
            f"| {level['concurrency']} | {level['requests']} | {level['throughput_rps']} | "
            f"{level['throughput_vs_1_client']} | {level['error_rate']:.2%} | "
            f"{level.get('shed_503', '?')} | {level.get('unacceptable', '?')} | "
            f"{level['p50_ms']} | {level['p95_ms']} | {level['p99_ms']} |"
        )
    return [*lines, ""]


def _section(name: str, body: dict[str, Any], folder: Path) -> list[str]:
    markdown = folder / f"{name}.md"
    if "error" in body:
        return [f"## {name}", "", f"Failed: `{body['error']}`", ""]
    if name == "load":
        return _load_section(body)
    if markdown.exists():
        text = markdown.read_text().strip().splitlines()
        # demote the benchmark's own title one level under the report
        return [("#" + line if line.startswith("#") else line) for line in text] + [""]
    lines = [f"## {name}", "", "| metric | value |", "|---|---|"]
    for key, value in _flatten(body):
        lines.append(f"| {key} | {value} |")
    return [*lines, ""]


def _flatten(body: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(body, dict):
        items: list[tuple[str, Any]] = []
        for key, value in body.items():
            if key == "machine":
                continue
            items.extend(_flatten(value, f"{prefix}{key}."))
        return items
    if isinstance(body, list):
        return [(prefix.rstrip("."), ", ".join(str(item) for item in body))]
    return [(prefix.rstrip("."), body)]


def _projection_section(ingest: dict[str, Any]) -> list[str]:
    if "ours" not in ingest:
        return []
    configurations = ingest.get("configurations", {})
    bytes_per_row = ingest["file"]["bytes"] / max(1, ingest["file"]["contacts"])
    lines = ["## Projection for AWS", ""]
    opensearch = configurations.get("opensearch", ingest)["ours"]
    chosen = None
    if "database_cpu_us_per_row" in opensearch:
        chosen = smallest_rds_class_for_target(bytes_per_row, opensearch["database_cpu_us_per_row"])
    nodes = fewest_opensearch_nodes_for_target(bytes_per_row)
    assumptions = Assumptions(
        rds_instance_class=chosen or "db.r6g.16xlarge", opensearch_data_nodes=nodes
    )
    lines += [
        f"RDS class: **{assumptions.rds_instance_class}** "
        + (
            f"(the smallest whose CPU carries the rate a {TARGET_GIB} GiB import in "
            f"≤ {TARGET_MINUTES:g} min needs, at the OpenSearch configuration's database CPU "
            "per row measured here; the wall times below also depend on the Lambda workers)."
            if chosen
            else f"(no class in the model carries a {TARGET_GIB} GiB import in "
            f"≤ {TARGET_MINUTES:g} min at the database CPU per row measured here: the "
            "largest is shown)."
        ),
        f"OpenSearch: {assumptions.opensearch_data_nodes} × "
        f"{assumptions.opensearch_instance_type} data nodes, "
        f"{assumptions.opensearch_replicas} replica (the fewest whose bulk rate makes a "
        f"{TARGET_GIB} GiB import searchable in ≤ {TARGET_MINUTES:g} min).",
        "",
    ]
    # Each backend's projection starts from the rates measured on its own table configuration.
    for backend, configuration in (("postgres", "postgres_search"), ("opensearch", "opensearch")):
        measured = configurations.get(configuration)
        if measured is None or "database_cpu_us_per_row" not in measured["ours"]:
            lines += [f"Search backend `{backend}`: not measured in the last run.", ""]
            continue
        ours = measured["ours"]
        per_worker = ours["rows_per_s"] / max(1, ours.get("workers", 1))
        model = project(
            per_worker, bytes_per_row, 64 * MIB, backend, ours["database_cpu_us_per_row"],
            assumptions, ours.get("worker_cpu_us_per_row"),
        )  # fmt: skip
        inputs = model["inputs"]
        worker_cpu = inputs["worker_us_per_row_measured_here"]
        lines += [
            f"Search backend `{backend}`: per-worker rate measured here "
            f"{inputs['per_worker_rows_s_measured_here']:,} rows/s"
            + (
                f" (the worker's own CPU {worker_cpu} µs per row; on Lambda, in turn with its "
                f"database session: {inputs['lambda_worker_rows_s']:,} rows/s per worker)"
                if worker_cpu is not None
                else ""
            )
            + ", database CPU "
            f"{inputs['database_us_per_row_measured_here']} µs per row (→ RDS "
            f"{inputs['rds_rows_s']:,} rows/s), {inputs['bytes_per_row']} bytes/row, 64 MiB "
            f"chunks ({inputs['chunk_seconds_on_lambda']} s each on Lambda).",
            "",
            "| file | rows | chunks | workers | rows/s | bottleneck | import wall time "
            "| search caught up |",
            "|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for case in model["cases"]:
            caught_up = case.get("search_caught_up_minutes")
            lines.append(
                f"| {case['file_gib']} GiB | {case['rows']:,} | {case['chunks']} | "
                f"{case['parallel_workers']} | {case['rows_per_second']:,} | "
                f"{case['bottleneck']} | {case['wall_minutes']} min | "
                f"{f'{caught_up} min' if caught_up is not None else 'n/a (PostgreSQL search)'} |"
            )
        lines.append("")
    lines.append(
        "Assumptions: "
        + "; ".join(f"{key} = {value}" for key, value in asdict(assumptions).items())
        + f"; rds_vcpus = {assumptions.rds_vcpus}. With OpenSearch the import is done when "
        "PostgreSQL has committed; the search outbox drains at the bulk rate of the "
        "OpenSearch sizing above."
    )
    return [*lines, ""]


def write_report(results: dict[str, Any]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benchmarks = results.get("benchmarks", {})
    ingest, search = benchmarks.get("ingest", {}), benchmarks.get("search", {})
    folder = results_dir(bool(results.get("quick")))
    charts = [
        _chart_ingest(ingest, plt, folder),
        _chart_rss(ingest, plt, folder),
        _chart_search(search, plt, folder),
        _chart_load(benchmarks.get("load", {}), plt, folder),
    ]
    machine = results.get("machine", {})
    lines = [
        "# Connectra benchmarks",
        "",
        f"{'Quick' if results.get('quick') else 'Full'} run on {machine.get('cpus')} CPUs, "
        f"Python {machine.get('python')}, {machine.get('when')}. Every figure is set against a "
        "baseline measured in the same run.",
        "",
    ]
    lines += [f"![{chart}]({chart})" for chart in charts if chart]
    lines.append("")
    for name, body in benchmarks.items():
        lines += _section(name, body, folder)
    lines += _projection_section(ingest)
    report = folder / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report
