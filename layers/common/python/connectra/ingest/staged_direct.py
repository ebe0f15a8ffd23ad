"""The SQL path's common case in one statement: a batch's raw records to stored rows.

When every record of a batch entered the COPY (no record was left to Python before it)
and the chunk has not met a missing company, one statement over the raw table converts
the records (staged.py's checks and typed values), keeps the last row of each key, records
the keys in the job's ledger, inserts the new records, queues them for search (one batch
entry, db/outbox.py) and counts
their filter values, without materializing the typed rows (staged_load.py's steps 1, 2,
4-6, fused: data-modifying CTEs feeding each other). The same rows, counts and ledger
entries as the two-step way (convert into the typed table, then `StagedLoader.load`):

* a record the conversion flags (Python must parse it) stops the load: the statement then
  only fills the typed table, and the batch goes the two-step way from there;
* the rows whose record already exists (ON CONFLICT (uuid) DO NOTHING left them out) are
  put in the winners table, and `StagedLoader.update_winners` locks those records in uuid
  order, updates them and uncounts their replaced filter values (a batch of new keys,
  the common case, has none);
* a refusal (a unique email another record holds, a missing company, …) raises: the
  caller rolls the savepoint back and takes the two-step way, which knows those cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row

from connectra.db import outbox
from connectra.ingest.load import BatchCounts
from connectra.ingest.staged import TYPED_TABLE, StagedConverter
from connectra.ingest.staged_load import (
    INSERTED,
    PREVIOUS,
    WINNERS,
    StagedLoader,
    filter_deltas_query,
)


@dataclass
class DirectOutcome:
    """What the statement did: loaded the batch (`counts`), or only converted it
    (`flagged`: the offsets Python must parse; the typed table holds the other rows)."""

    flagged: list[int] = field(default_factory=list)
    counts: BatchCounts = field(default_factory=BatchCounts)


class DirectLoad:
    """The one-statement load of a chunk's batches (call `run` inside a savepoint)."""

    def __init__(self, conn: Connection[Any], converter: StagedConverter, loader: StagedLoader):
        self.conn = conn
        self.converter = converter
        self.loader = loader
        self.revision = converter.source.revision
        self.statement = _statement(converter, loader)

    def run(self) -> DirectOutcome:
        if self.loader.holds_rows:  # the two-step way left its last batch there
            self.conn.execute(f"TRUNCATE {WINNERS}, {PREVIOUS}, {INSERTED}")
        if self.revision != self.converter.source.revision:  # the cells' SQL changed
            self.revision = self.converter.source.revision
            self.statement = _statement(self.converter, self.loader)
        cursor = self.conn.cursor(row_factory=tuple_row)
        row = cursor.execute(self.statement).fetchone()
        assert row is not None
        flagged, in_batch, seen_before, first_seen, inserted, existing, deltas, displays = row
        if flagged:
            return DirectOutcome(flagged=list(flagged))
        if existing:
            self.loader.update_winners()
        self.loader.filter_changes.add_deltas(tuple(delta) for delta in deltas or [])
        self.loader.filter_changes.add_displays(tuple(shown) for shown in displays or [])
        counts = BatchCounts(
            inserted=inserted,
            updated=max(0, first_seen - inserted),
            duplicates=in_batch + seen_before,
        )
        return DirectOutcome(counts=counts)


def _statement(converter: StagedConverter, loader: StagedLoader) -> str:
    """Built from constants, the cell source's layout and the job's uuid (no cell values);
    sent without parameters (the conversion's LIKE patterns hold `%`)."""
    columns = ", ".join(converter.columns)
    written = ", ".join(f"k.{name}" for name in loader.written)
    queued = outbox.import_statements(loader.table, "SELECT uuid FROM kept")
    enqueue = "".join(
        f", queued_{index} AS ({statement} RETURNING 1)"
        for index, statement in enumerate(queued if loader.enqueue_search else [])
    )
    deltas = filter_deltas_query(loader.filter_delta_parts("kept", 1))
    displays = loader.displays_query("kept")
    shown = (
        f"(SELECT json_agg(json_build_array(d.key, d.value, d.display)) "
        f"FROM ({displays}) AS d(key, value, display))"
        if displays
        else "NULL::json"
    )
    # `typed` is read by three parts: PostgreSQL materializes it once (a tuplestore, not a
    # table). The EXISTS conditions on `flagged` are evaluated once per statement.
    return f"""
        WITH checked AS ({converter.checked_query()}),
        flagged AS (SELECT pos FROM checked WHERE NOT ok),
        typed AS (SELECT v.line, v.pos, {converter.typed_values()} FROM checked AS v WHERE v.ok),
        held AS (
            INSERT INTO {TYPED_TABLE} (line, pos, {columns})
            SELECT * FROM typed WHERE EXISTS (SELECT FROM flagged)
            RETURNING 1
        ), batch AS (
            SELECT DISTINCT ON (uuid) * FROM typed WHERE NOT EXISTS (SELECT FROM flagged)
            ORDER BY uuid, pos DESC
        ), recorded AS (
            INSERT INTO import_keys (job_id, record_uuid, position)
            SELECT '{loader.job_id}'::uuid AS job_id, b.uuid, b.pos FROM batch AS b ORDER BY b.uuid
            ON CONFLICT (job_id, record_uuid) DO UPDATE
            SET position = greatest(import_keys.position, excluded.position)
            RETURNING record_uuid, position, (xmax = 0) AS first_seen
        ), kept AS (
            SELECT b.*, r.first_seen FROM batch AS b
            JOIN recorded AS r ON r.record_uuid = b.uuid
            WHERE r.first_seen OR r.position = b.pos
        ), inserted AS (
            INSERT INTO {loader.table} (uuid, {", ".join(loader.written)}, created_at, updated_at)
            SELECT k.uuid, {written}, now(), now() FROM kept AS k ORDER BY k.uuid
            ON CONFLICT (uuid) DO NOTHING
            RETURNING uuid
        ), existing AS (
            INSERT INTO {WINNERS}
            SELECT k.*, k.uuid, true FROM kept AS k
            WHERE NOT EXISTS (SELECT FROM inserted AS i WHERE i.uuid = k.uuid)
            RETURNING 1
        ){enqueue}
        SELECT (SELECT array_agg(pos) FROM flagged),
               (SELECT count(*) FROM typed) - (SELECT count(*) FROM batch),
               (SELECT count(*) FROM recorded WHERE NOT first_seen),
               (SELECT count(*) FROM kept WHERE first_seen),
               (SELECT count(*) FROM kept WHERE first_seen AND uuid IN (SELECT uuid FROM inserted)),
               (SELECT count(*) FROM existing),
               (SELECT json_agg(json_build_array(d.key, d.value, d.sum)) FROM ({deltas}) AS d),
               {shown}
    """
