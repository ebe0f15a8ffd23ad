"""bench/direct_split.py reads the direct statement's plans back from the server log: its
parts must be the statement's CTEs (a renamed CTE would silently count as "the rest"),
and a logged plan must split into parts that add up to the statement's duration."""

from __future__ import annotations

import inspect

from bench.direct_split import FOREIGN_KEYS, PARTS, REST, markdown, split
from connectra.ingest import staged_direct


def _cte(name: str, milliseconds: float, rows: int) -> str:
    """A CTE's lines as auto_explain logs them (tab-indented, actual time and rows)."""
    return (
        f"\t  CTE {name}\n"
        f"\t    ->  Insert  (cost=1..2 rows=1 width=8) "
        f"(actual time=0.5..{milliseconds} rows={rows} loops=1)\n"
    )


_PLAN = (
    "2026-11-30 23:51:28.940 UTC [8425] LOG:  duration: 100.000 ms  plan:\n"
    "\tQuery Text: WITH checked AS (...)\n"
    "\tResult  (cost=1..2 rows=1 width=104) (actual time=80.0..80.0 rows=1 loops=1)\n"
    + _cte("checked", 20.0, 5000)
    + _cte("typed", 10.0, 5000)
    + _cte("batch", 3.0, 5000)
    + _cte("recorded", 17.0, 5000)
    + _cte("kept", 2.0, 5000)
    + _cte("inserted", 25.0, 5000)
    + _cte("queued_0", 1.0, 1)
    + "\tTrigger for constraint contacts_company_id_fkey on contacts: time=15.000 calls=5000\n"
    "2026-11-30 23:51:29.078 UTC [8425] LOG:  duration: 70.000 ms  plan:\n"
    "\tQuery Text: COPY ingest_raw FROM STDIN\n"
    "\tResult  (cost=1..2 rows=1 width=104) (actual time=70.0..70.0 rows=1 loops=1)\n"
)


def test_every_part_is_a_cte_of_the_direct_statement() -> None:
    source = inspect.getsource(staged_direct._statement)
    for name in PARTS:
        assert f"{name} AS (" in source or f"{name}_{{index}} AS (" in source, name


def test_a_logged_plan_splits_into_parts_that_add_up_to_its_duration() -> None:
    result = split(_PLAN)
    assert (result.statements, result.rows) == (1, 5000)
    per_row = result.us_per_row()
    assert per_row[PARTS["checked"]] == 4.0  # 20 ms over 5,000 rows
    assert per_row[FOREIGN_KEYS] == 3.0
    assert per_row[REST] == (100 - 78 - 15) * 1000 / 5000
    assert abs(sum(per_row.values()) - 20.0) < 1e-9  # the 100 ms duration
    assert "| the job's key ledger (import_keys upsert) | 3.40 | 17% |" in markdown(result, None)
