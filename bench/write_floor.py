"""Where the PostgreSQL-search configuration's write floor goes, structure by structure.

The ingest bench's "database floor" (bench/ingest.py `measure_insert_floor`) is one
`INSERT … SELECT` of 100k typed rows into the loaded, fully indexed contacts table. This
bench splits that cost: a scratch database on the private cluster, migrated to head with
the PostgreSQL search set, gets `--contacts` generated contacts (bench/search.py's data)
and the same 100k floor rows (copies under new keys), then times the insert with parts of
the set removed inside a transaction that is rolled back:

* `full`: everything (what the ingest bench measures);
* `keys only`: the keys of the OpenSearch configuration (no trigger, no search index);
* `trigger, no search index`: the search columns computed, nothing indexed;
* `precomputed, no trigger`: every index, the search columns given by the INSERT (as if
  the application folded at write time), the trigger disabled;
* `without <group>`: one group of the set's indexes dropped (trigram GIN, sort btrees,
  keyword `lower()` btrees and array GIN);
* `only <index>` (`--each`): the trigger and that one search index.

Variants alternate round by round (the cores are shared: all see the same load) and the
table is vacuumed after each rolled-back insert, so every round starts from the same
table. Reported per row: the best wall time, the best CPU time of the inserting backend
(/proc: steadier than wall under load) and the shared buffers it read and wrote (EXPLAIN
BUFFERS: index pages that were not in shared_buffers).

    .venv/bin/python -m bench.write_floor [--contacts N] [--rounds N] [--each] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.common import RESULTS, machine
from bench.search import _company_records, _contact_records, _copy
from connectra.db import migrate, search_structures
from connectra.local import postgres, sample
from connectra.models.fields import TABLE_COLUMNS, Entity

NAME = "connectra_write_floor"
FLOOR_ROWS = 100_000
TRIGGER = "connectra_search_columns"
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
CONTACT_INDEXES = [index for index in search_structures.INDEXES if index.table == "contacts"]
GROUPS: dict[str, Callable[[str], bool]] = {
    "trigram GIN": lambda name: name.endswith("_trgm"),
    "sort btrees": lambda name: name.endswith("_sort"),
    "keyword lower() btrees and array GIN": lambda name: name.endswith(("_lower", "_any")),
    "CJK-rows partial btrees": lambda name: name.endswith("_cjk"),
}


def _drop(names: list[str]) -> list[str]:
    return [index.drop(concurrently=False) for index in CONTACT_INDEXES if index.name in names]


def variants(each: bool) -> dict[str, list[str]]:
    every = [index.name for index in CONTACT_INDEXES]
    disable = f"ALTER TABLE contacts DISABLE TRIGGER {TRIGGER}"
    found = {
        "full": [],
        "keys only": [*_drop(every), disable],
        "trigger, no search index": _drop(every),
        "precomputed, no trigger": [disable],
    }
    for group, member in GROUPS.items():
        found[f"without {group}"] = _drop([name for name in every if member(name)])
    if each:  # the trigger and one index: its own cost over "trigger, no search index"
        for name in every:
            found[f"only {name}"] = _drop([other for other in every if other != name])
    return found


def _backend_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def _load(conn: psycopg.Connection[Any], contacts: int) -> None:
    """Contacts by COPY with the search indexes built once after, then the floor rows."""
    companies = sample.company_rows(max(contacts // 10, 1))
    _copy(conn, Entity.COMPANIES, _company_records(len(companies)))
    for index in CONTACT_INDEXES:
        conn.execute(index.drop(concurrently=False))
    _copy(conn, Entity.CONTACTS, _contact_records(contacts, companies))
    for index in CONTACT_INDEXES:
        conn.execute(index.create(concurrently=False))
    conn.execute("VACUUM ANALYZE contacts")
    conn.execute("VACUUM ANALYZE companies")
    # As bench/ingest.py: loaded rows under new keys, search columns included (the
    # precomputed variant inserts them; the others leave them to the trigger).
    conn.execute(
        "CREATE UNLOGGED TABLE floor_rows AS SELECT * FROM contacts LIMIT %s", (FLOOR_ROWS,)
    )
    conn.execute("UPDATE floor_rows SET uuid = gen_random_uuid(), email = 'floor.' || email")
    conn.execute("ANALYZE floor_rows")


def _insert(precomputed: bool) -> str:
    columns = list(TABLE_COLUMNS[Entity.CONTACTS])
    if precomputed:
        columns += [column[0] for column in search_structures.search_columns("contacts")]
    listed = ", ".join(columns)
    return f"INSERT INTO contacts ({listed}) SELECT {listed} FROM floor_rows"


def _timed(conn: psycopg.Connection[Any], pid: int, name: str, setup: list[str]) -> list[float]:
    """(wall s, backend CPU s, blocks read, blocks written) of one rolled-back insert."""
    with conn.transaction(force_rollback=True):
        for statement in setup:
            conn.execute(statement)
        explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + _insert(name.startswith("pre"))
        cpu, started = _backend_cpu_seconds(pid), time.perf_counter()
        row = conn.execute(explain).fetchone()
        wall, cpu = time.perf_counter() - started, _backend_cpu_seconds(pid) - cpu
    conn.execute("VACUUM contacts")  # the rolled-back rows' dead entries, for the next round
    plan = row[0][0]["Plan"] if row else {}
    return [wall, cpu, plan.get("Shared Read Blocks", 0), plan.get("Shared Written Blocks", 0)]


def run(contacts: int, rounds: int, keep: bool, each: bool) -> dict[str, Any]:
    server = postgres.server_url()
    url = postgres.with_database(server, NAME)
    admin = postgres.with_database(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        shared_buffers = conn.execute("SHOW shared_buffers").fetchone()
    postgres.ensure_database(url)
    samples: dict[str, list[list[float]]] = {}
    try:
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            _load(conn, contacts)
            sizes = conn.execute(
                "SELECT pg_relation_size('contacts'), pg_indexes_size('contacts')"
            ).fetchone()
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
            chosen = variants(each)
            for number in range(rounds):
                names = list(chosen) if number % 2 == 0 else list(reversed(chosen))
                for name in names:
                    samples.setdefault(name, []).append(_timed(conn, pid, name, chosen[name]))
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    per_row = {
        name: {
            "wall_us": round(min(s[0] for s in runs) / FLOOR_ROWS * 1e6, 1),
            "cpu_us": round(min(s[1] for s in runs) / FLOOR_ROWS * 1e6, 1),
            "blocks_read": round(min(s[2] for s in runs) / FLOOR_ROWS, 2),
            "blocks_written": round(min(s[3] for s in runs) / FLOOR_ROWS, 2),
            "cpu_us_all": [round(s[1] / FLOOR_ROWS * 1e6, 1) for s in runs],
        }
        for name, runs in samples.items()
    }
    return {
        "contacts": contacts,
        "floor_rows": FLOOR_ROWS,
        "rounds": rounds,
        "shared_buffers": shared_buffers[0] if shared_buffers else None,
        "heap_mib": round(sizes[0] / 2**20) if sizes else None,
        "indexes_mib": round(sizes[1] / 2**20) if sizes else None,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "per_row": per_row,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Write floor of the PostgreSQL search set ({result['contacts']:,} contacts)",
        "",
        f"`INSERT … SELECT` of {result['floor_rows']:,} rows into the loaded contacts table "
        f"(heap {result['heap_mib']} MiB, indexes {result['indexes_mib']} MiB, shared_buffers "
        f"{result['shared_buffers']}), each variant in a rolled-back transaction, best of "
        f"{result['rounds']} alternating rounds. Measured {result['measured_at']}, load "
        f"average {result['load_average']}. `python -m bench.write_floor`.",
        "",
        "| variant | wall µs/row | backend CPU µs/row | blocks read/row | blocks written/row |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in result["per_row"].items():
        lines.append(
            f"| {name} | {row['wall_us']} | {row['cpu_us']} | {row['blocks_read']} | "
            f"{row['blocks_written']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--each", action="store_true", help="also each index alone")
    args = parser.parse_args()
    result = run(args.contacts, args.rounds, args.keep, args.each)
    (RESULTS / "write_floor.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "write_floor.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
