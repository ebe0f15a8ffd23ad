"""Write cost of the contacts sort indexes a migration adds (0014 unless told), in one run.

A scratch database at head gets 100k companies' worth of staging rows; then, alternating
the two variants round by round (the cores are shared: both see the same load), each
timed in a transaction that is rolled back:

* insert: `INSERT INTO contacts SELECT … FROM staging` of 100k new contacts;
* upsert: the same rows again over the committed ones, every title changed
  (`ON CONFLICT (uuid) DO UPDATE`, as bench/search.py `--write-cost`),

with every index of head ("with"), or with the indexes of 0014 dropped inside the
transaction ("without", restored by the rollback). Prints the best time of each and the
difference in microseconds per row. `--migration 0022` prices that migration's indexes.

    .venv/bin/python -m bench.sort_write_cost [--rounds N] [--migration NNNN]
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.common import machine
from bench.search import _company_records, _contact_records, _copy
from connectra.db import migrate
from connectra.local import postgres, sample
from connectra.models.fields import TABLE_COLUMNS, Entity

ROWS = 100_000
NAME = "connectra_sort_write_cost"
VERSIONS = "connectra.db.migrations.versions"
SORTS = importlib.import_module(f"{VERSIONS}.0014_sorts_contact_sort_indexes")


def _migration(number: str) -> Any:
    """The migration module whose file name starts with `number` (its indexes are priced)."""
    folder = Path(importlib.import_module(VERSIONS).__path__[0])
    (path,) = folder.glob(f"{number}_*.py")
    return importlib.import_module(f"{VERSIONS}.{path.stem}")


def _prepare(conn: psycopg.Connection[Any]) -> str:
    """Companies and a staging table of ROWS contacts; returns the column list."""
    columns = ", ".join(TABLE_COLUMNS[Entity.CONTACTS])
    companies = sample.company_rows(ROWS // 10)
    _copy(conn, Entity.COMPANIES, _company_records(ROWS // 10))
    conn.execute(f"CREATE UNLOGGED TABLE staging AS SELECT {columns} FROM contacts WITH NO DATA")
    with conn.cursor().copy(f"COPY staging ({columns}) FROM STDIN") as copy:
        for row in _contact_records(ROWS, companies):
            copy.write_row(row)
    conn.execute("ANALYZE staging")
    return columns


def _timed(
    conn: psycopg.Connection[Any], statement: str, with_indexes: bool, migration: Any = SORTS
) -> float:
    with conn.transaction(force_rollback=True):
        if not with_indexes:
            for index in migration.added_indexes():
                conn.execute(index.drop(concurrently=False))
        started = time.perf_counter()
        conn.execute(statement)
        return time.perf_counter() - started


def _alternate(
    conn: psycopg.Connection[Any],
    label: str,
    statement: str,
    rounds: int,
    migration: Any,
    samples: dict[str, list[float]],
) -> None:
    """Time `statement` with and without the indexes, alternating which goes first."""
    for number in range(rounds):
        order = (True, False) if number % 2 == 0 else (False, True)
        for with_indexes in order:
            variant = "with" if with_indexes else "without"
            samples.setdefault(f"{label} {variant}", []).append(
                _timed(conn, statement, with_indexes, migration)
            )


def run(rounds: int, migration: Any = SORTS) -> dict[str, Any]:
    server = postgres.server_url()
    url = postgres.with_database(server, NAME)
    admin = postgres.with_database(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    postgres.ensure_database(url)
    try:
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            columns = _prepare(conn)
            insert = f"INSERT INTO contacts ({columns}) SELECT {columns} FROM staging"
            updates = ", ".join(
                f"{c} = excluded.{c}" for c in TABLE_COLUMNS[Entity.CONTACTS] if c != "title"
            )
            upsert = (
                f"INSERT INTO contacts ({columns}) SELECT {columns} FROM staging "
                f"ON CONFLICT (uuid) DO UPDATE SET {updates}, title = excluded.title || ' ii'"
            )
            samples: dict[str, list[float]] = {}
            _alternate(conn, "insert", insert, rounds, migration, samples)
            conn.execute(insert)  # committed: the upserts update these rows
            conn.execute("VACUUM ANALYZE contacts")
            _alternate(conn, "upsert", upsert, rounds, migration, samples)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    best = {name: round(min(values), 2) for name, values in samples.items()}
    return {
        "rows": ROWS,
        "indexes": [index.name for index in migration.added_indexes()],
        "machine": machine(),
        "best_s": best,
        "samples_s": {name: [round(v, 2) for v in values] for name, values in samples.items()},
        "added_us_per_row": {
            kind: round((best[f"{kind} with"] - best[f"{kind} without"]) / ROWS * 1e6, 1)
            for kind in ("insert", "upsert")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    parser.add_argument("--migration", default="0014", help="whose indexes (default 0014)")
    args = parser.parse_args()
    print(json.dumps(run(args.rounds, _migration(args.migration)), indent=2))


if __name__ == "__main__":
    main()
