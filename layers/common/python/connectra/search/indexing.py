"""Keeping the OpenSearch indices equal to PostgreSQL: bulk indexing, the outbox drain,
rebuilds and reconciliation. Nothing is silently lost:

* `BulkIndexer.run` sends actions with opensearch-py's `streaming_bulk` in bodies of at
  most `max_bytes` (≤ 9 MiB: some AWS instance types reject 10 MiB with a 413), reads
  EVERY per-item result (`raise_on_error=False`), retries the items refused with 429,
  5xx or a transport error with exponential back-off, and reports the rest as permanent
  failures (4xx: mapping errors and the like). A delete of an absent document is done.
* `drain_outbox` claims due `search_outbox` rows with `FOR UPDATE SKIP LOCKED` (two
  drainers never take the same row), builds each record's document from PostgreSQL as it
  is NOW (a live row is indexed; a soft-deleted or missing one is deleted, whatever the
  queued operation said), and in the same transaction deletes only the rows OpenSearch
  acknowledged. The others keep their row with `attempts` + 1, `last_error` and a later
  `next_attempt_at` (exponential, capped); a permanent failure is parked
  (`next_attempt_at` 100 years ahead, `last_error` starting `permanent:`) until a reindex or
  `reconcile --repair` re-queues it, and `reconcile` counts parked rows.
  A writer committing a change to a claimed record waits on the row lock and re-queues
  it after this drain commits, so a concurrent change is never dropped.
* Batch entries (`search_outbox_batches`, an import batch's uuids in one row: db/outbox.py)
  are drained first, one per transaction: claimed with SKIP LOCKED, their records indexed
  `batch_size` at a time as above, the records not acknowledged turned into ordinary
  outbox rows (retried or parked), the entry deleted. A crash re-sends the entry whole.
  A later change to one of its records queues its own entry or row, drained with a later
  version, so the newest document wins whatever order two drainers finish in.
* Every write carries the version of what it was built from (`version_type:
  external_gte`): the PostgreSQL clock read before the documents were loaded. A late
  bulk (a retry after a timeout) cannot overwrite a newer document: OpenSearch answers
  409, which means the index already holds something at least as new (acknowledged).
* Writes go to the alias with `require_alias`: a missing alias is an error, never an
  auto-created, dynamically mapped index. `ensure_index` creates the first index under a
  fixed name (`<alias>-000001`) with the alias in the same request, so two sweepers
  racing to create it end with one index (the loser gets resource_already_exists).
* `reindex` builds a new concrete index from a REPEATABLE READ snapshot, waits for the
  index to be green (replicas allocated), swaps the alias in one request, deletes the old
  index, and re-queues every record changed since the start of the OLDEST transaction
  running when it began (`updated_at` is a writer's transaction start, so a writer that
  began before the rebuild and committed after its snapshot is re-queued too).
* `reconcile` merges PostgreSQL's live (uuid, version) stream with the index's (scrolled
  with `search_after`, `_source` limited to uuid and version), both in uuid order, and
  reports ids missing from the index, stale in it, and orphaned in it; `repair` queues
  them in the outbox and drains it.

With SEARCH_BACKEND=postgres there is no indexer (`indexer_from_settings` is None): the
writers enqueue nothing and a drain does nothing.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import RequestError
from psycopg import Connection, sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from connectra.db import outbox
from connectra.models.fields import COMPANY_FIELDS, TABLE_COLUMNS, Entity
from connectra.observability import logger
from connectra.search.index_model import (
    VERSION_FIELD,
    build_document,
    document_id,
    index_alias,
    index_body,
    source_version,
)
from connectra.settings import MIB, Settings
from connectra.vql.field_paths import to_micros

GREEN_TIMEOUT = "120s"  # how long a rebuild waits for its new index to be green
FIRST_INDEX_SUFFIX = "000001"  # the first concrete index behind an alias
MAX_BULK_BYTES = 9 * MIB  # hard ceiling: bodies over 10 MiB get a 413 on some AWS types
DEFAULT_DRAIN_BATCH = 1_000
SCROLL_PAGE = 5_000
REPORT_SAMPLE = 100
REPAIR_BATCH = 5_000  # ids listed per kind of drift (the counts are exact)
RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 3_600

Key = tuple[str, str]  # (index, document id)


class IndexLayoutError(RuntimeError):
    """The indices are not as the indexer keeps them (an alias over one index)."""


OpType = Literal["index", "delete"]


@dataclass(frozen=True)
class IndexAction:
    op: OpType
    index: str
    doc_id: str
    document: Mapping[str, Any] | None = None
    # External version: epoch microseconds of the PostgreSQL clock read before the
    # document was loaded (None: unversioned, tests of the raw transport only).
    version: int | None = None

    @property
    def key(self) -> Key:
        return (self.index, self.doc_id)

    def to_bulk(self) -> dict[str, Any]:
        action: dict[str, Any] = {"_op_type": self.op, "_index": self.index, "_id": self.doc_id}
        if self.version is not None:
            action.update(version=self.version, version_type="external_gte")
        if self.op == "index":
            action["_source"] = self.document
        return action


@dataclass
class BulkOutcome:
    acknowledged: int = 0
    acknowledged_keys: list[Key] = field(default_factory=list)
    retryable: dict[Key, str] = field(default_factory=dict)  # still failing after retries
    permanent: dict[Key, str] = field(default_factory=dict)
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return not self.retryable and not self.permanent


def _describe(info: Mapping[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, Mapping):
        detail = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
    else:
        detail = str(error or "no error detail")
    return f"status {info.get('status')}: {detail}"[:1000]


def _retryable(status: Any) -> bool:
    """429, 5xx, and transport failures (status "N/A") are worth another try."""
    return not isinstance(status, int) or status == 429 or status >= 500


def _superseded(info: Mapping[str, Any]) -> bool:
    """A versioned write refused because the index holds a newer version: nothing to do."""
    error = info.get("error")
    return (
        info.get("status") == 409
        and isinstance(error, Mapping)
        and error.get("type") == "version_conflict_engine_exception"
    )


def _alias_missing(info: Mapping[str, Any]) -> bool:
    error = info.get("error")
    return isinstance(error, Mapping) and error.get("type") == "index_not_found_exception"


class BulkIndexer:
    """Bulk writes to one deployment's indices (`{prefix}-{entity}` aliases)."""

    def __init__(
        self,
        client: OpenSearch,
        prefix: str,
        *,
        max_bytes: int = 8 * MIB,
        chunk_size: int = 2_000,
        max_attempts: int = 5,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        shards: int = 1,
        replicas: int = 1,
        green_timeout: str = GREEN_TIMEOUT,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.client = client
        self.prefix = prefix
        self.max_bytes = min(max_bytes, MAX_BULK_BYTES)
        self.chunk_size = chunk_size
        self.max_attempts = max_attempts
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.shards = shards
        self.replicas = replicas
        self.green_timeout = green_timeout

    def alias(self, entity: Entity) -> str:
        return index_alias(self.prefix, entity)

    def run(
        self,
        actions: Iterable[IndexAction],
        *,
        keep_keys: bool = True,
        require_alias: bool = True,
    ) -> BulkOutcome:
        """Send `actions`; every item ends acknowledged, retryable or permanent.

        `require_alias`: the targets must be aliases (a missing one fails the items,
        retryable, instead of auto-creating an index); off only for a rebuild's writes
        to its own new concrete index."""
        outcome = BulkOutcome()
        pending: Iterable[IndexAction] = actions
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1)))
            outcome.attempts = attempt + 1
            last = attempt == self.max_attempts - 1
            failed = self._send(pending, outcome, keep_keys, last, require_alias)
            if not failed:
                break
            pending = failed
        return outcome

    def _send(
        self,
        actions: Iterable[IndexAction],
        outcome: BulkOutcome,
        keep_keys: bool,
        last: bool,
        require_alias: bool,
    ) -> list[IndexAction]:
        sent: deque[IndexAction] = deque()

        def feed() -> Iterator[dict[str, Any]]:
            for action in actions:
                sent.append(action)
                yield action.to_bulk()

        to_retry: list[IndexAction] = []
        # Passed on to each bulk request (opensearch-py's `bulk` query parameters).
        request_params: dict[str, Any] = {"require_alias": "true"} if require_alias else {}
        results = helpers.streaming_bulk(
            self.client,
            feed(),
            chunk_size=self.chunk_size,
            max_chunk_bytes=self.max_bytes,
            raise_on_error=False,
            raise_on_exception=False,
            max_retries=0,  # retried here, with 5xx and transport errors too
            yield_ok=True,
            **request_params,
        )
        for ok, item in results:  # every per-item result is consumed
            action = sent.popleft()
            info = next(iter(item.values()))
            status = info.get("status")
            if ok or _superseded(info) or (action.op == "delete" and status == 404):
                outcome.acknowledged += 1
                outcome.retryable.pop(action.key, None)
                if keep_keys:
                    outcome.acknowledged_keys.append(action.key)
            elif _retryable(status) or _alias_missing(info):
                outcome.retryable[action.key] = _describe(info)
                to_retry.append(action)
            else:
                outcome.retryable.pop(action.key, None)
                outcome.permanent[action.key] = _describe(info)
        if sent:  # the helper yields one result per action; anything else is a bug
            raise RuntimeError(f"{len(sent)} bulk actions got no result")
        if to_retry and not last:
            logger.warning("bulk items to retry", extra={"count": len(to_retry)})
        return to_retry

    # -- indices ----------------------------------------------------------------------

    def ensure_index(self, entity: Entity) -> str:
        """Create the entity's first concrete index behind its alias when there is none.

        Asked every time (no per-process cache: the alias can be removed under a running
        process). The first index has a fixed name and gets the alias in its creation
        request, so concurrent callers cannot end with two indices under one alias.
        """
        alias = self.alias(entity)
        if self.client.indices.exists_alias(name=alias):
            return alias
        if self.client.indices.exists(index=alias):
            raise IndexLayoutError(
                f"{alias!r} is a concrete index, not an alias: run a reindex to replace it"
            )
        body = index_body(entity, self.shards, self.replicas)
        body["aliases"] = {alias: {}}
        try:
            self.client.indices.create(index=f"{alias}-{FIRST_INDEX_SUFFIX}", body=body)
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
            if not self.client.indices.exists_alias(name=alias):
                raise IndexLayoutError(
                    f"{alias}-{FIRST_INDEX_SUFFIX} exists without the alias {alias!r}: "
                    "run a reindex"
                ) from exc
        return alias

    def refresh(self, entity: Entity) -> None:
        self.client.indices.refresh(index=self.alias(entity))


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]


def indexer_from_settings(
    settings: Settings, client: OpenSearch | None = None
) -> BulkIndexer | None:
    """The deployment's indexer; None with SEARCH_BACKEND=postgres (the outbox is unused)."""
    if settings.search_backend != "opensearch":
        return None
    if client is None:
        from connectra.search.opensearch import create_client

        client = create_client(settings)
    return BulkIndexer(
        client,
        settings.opensearch_index_prefix,
        max_bytes=settings.opensearch_bulk_max_bytes,
        shards=settings.opensearch_shards,
        replicas=settings.opensearch_replicas,
    )


# -- documents from PostgreSQL ---------------------------------------------------------------


def documents_query(entity: Entity, *, by_ids: bool) -> sql.Composed:
    """Live records with what their documents need (contacts: + `company__*` columns)."""
    where = sql.SQL(
        "WHERE r.deleted_at IS NULL AND r.uuid = ANY(%(ids)s::uuid[])"
        if by_ids
        else "WHERE r.deleted_at IS NULL"
    )
    own = sql.SQL(", ").join(
        sql.SQL("r.{}").format(sql.Identifier(c)) for c in TABLE_COLUMNS[entity]
    )
    if entity is Entity.COMPANIES:
        return sql.SQL("SELECT {own} FROM companies r {where} ORDER BY r.uuid").format(
            own=own, where=where
        )
    company = sql.SQL(", ").join(
        sql.SQL("co.{} AS {}").format(sql.Identifier(c), sql.Identifier(f"company__{c}"))
        for c in (*COMPANY_FIELDS, "deleted_at")
    )
    return sql.SQL(
        "SELECT {own}, {company} FROM contacts r "
        "LEFT JOIN companies co ON co.uuid = r.company_id {where} ORDER BY r.uuid"
    ).format(own=own, company=company, where=where)


def load_documents(
    conn: Connection[Any], entity: Entity, ids: Sequence[uuid.UUID]
) -> dict[str, dict[str, Any]]:
    """Documents of the live records among `ids`, by document id."""
    if not ids:
        return {}
    rows = conn.cursor(row_factory=dict_row).execute(
        documents_query(entity, by_ids=True), {"ids": list(ids)}
    )
    return {document_id(row): build_document(entity, row) for row in rows}


# -- the outbox drain ------------------------------------------------------------------------

_CLAIM = """
SELECT entity, record_uuid, operation, attempts FROM search_outbox
WHERE next_attempt_at <= now()
ORDER BY next_attempt_at, entity, record_uuid
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

_REMOVE = """
DELETE FROM search_outbox o
USING unnest(%(entities)s::text[], %(ids)s::uuid[]) AS done(entity, id)
WHERE o.entity = done.entity AND o.record_uuid = done.id
"""

_POSTPONE = """
UPDATE search_outbox o
SET attempts = o.attempts + 1,
    last_error = f.error,
    next_attempt_at = CASE WHEN f.permanent THEN now() + interval '100 years'
        ELSE clock_timestamp() + make_interval(
            secs => least(%(cap)s, %(base)s * power(2, least(o.attempts, 20))))
        END
FROM unnest(%(entities)s::text[], %(ids)s::uuid[], %(errors)s::text[], %(permanent)s::bool[])
    AS f(entity, id, error, permanent)
WHERE o.entity = f.entity AND o.record_uuid = f.id
"""

PERMANENT_PREFIX = "permanent: "

_CLAIM_ENTRY = """
SELECT id, entity, record_uuids FROM search_outbox_batches
ORDER BY id LIMIT 1
FOR UPDATE SKIP LOCKED
"""

# A batch entry's records OpenSearch did not acknowledge: ordinary outbox rows, as if
# they had failed once (a record already queued keeps its row: it is drained anyway).
_KEEP_FAILED = """
INSERT INTO search_outbox AS o (entity, record_uuid, operation, attempts, last_error,
                                next_attempt_at)
SELECT f.entity, f.id, 'upsert', 1, f.error,
       CASE WHEN f.permanent THEN now() + interval '100 years'
           ELSE clock_timestamp() + make_interval(secs => least(%(cap)s, %(base)s)) END
FROM unnest(%(entities)s::text[], %(ids)s::uuid[], %(errors)s::text[], %(permanent)s::bool[])
    AS f(entity, id, error, permanent)
ON CONFLICT (entity, record_uuid) DO NOTHING
"""


@dataclass
class DrainResult:
    claimed: int = 0  # outbox rows taken (locked) by this drain
    removed: int = 0  # outbox rows acknowledged by OpenSearch and deleted
    indexed: int = 0
    deleted: int = 0
    retrying: int = 0  # kept, with a later next_attempt_at
    parked: int = 0  # permanent failures, kept until re-queued
    batches: int = 0

    def add(self, other: DrainResult) -> None:
        for name in ("claimed", "removed", "indexed", "deleted", "retrying", "parked", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def drain_outbox(
    conn: Connection[Any],
    indexer: BulkIndexer | None,
    batch_size: int = DEFAULT_DRAIN_BATCH,
    *,
    max_batches: int = 100,
) -> DrainResult:
    """Index what the outbox holds, batch by batch, until nothing is due (or max_batches).

    `conn` must not be inside a transaction: each batch is its own transaction (claim,
    index, remove or postpone, commit), so its row locks end with it.
    """
    total = DrainResult()
    if indexer is None:
        return total  # SEARCH_BACKEND=postgres
    _require_idle(conn)
    for _ in range(max_batches):  # batch entries: at most max_batches * batch_size records
        entry = _drain_entry(conn, indexer, batch_size)
        total.add(entry)
        if not entry.batches or total.claimed >= max_batches * batch_size:
            break
    for _ in range(max_batches):
        batch = _drain_batch(conn, indexer, batch_size)
        total.add(batch)
        if batch.claimed < batch_size:
            break
    return total


def _require_idle(conn: Connection[Any]) -> None:
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ValueError("pass a connection outside any transaction (commit or roll back first)")


def _drain_batch(conn: Connection[Any], indexer: BulkIndexer, batch_size: int) -> DrainResult:
    result = DrainResult()
    with conn.transaction():
        claimed = (
            conn.cursor(row_factory=dict_row).execute(_CLAIM, {"limit": batch_size}).fetchall()
        )
        if not claimed:
            return result
        result.batches = 1
        result.claimed = len(claimed)
        version = _clock_micros(conn)  # read before the documents: never newer than them
        actions, owner = _bulk_actions(conn, indexer, claimed, version)
        outcome = _send_actions(indexer, actions)
        done = [owner[key] for key in outcome.acknowledged_keys]
        conn.execute(_REMOVE, {"entities": [e for e, _ in done], "ids": [i for _, i in done]})
        failures = [(key, message, False) for key, message in outcome.retryable.items()]
        failures += [(key, PERMANENT_PREFIX + m, True) for key, m in outcome.permanent.items()]
        if failures:
            _postpone(conn, owner, failures)
    by_key = {action.key: action for action in actions}
    result.removed = len(done)
    result.indexed = sum(1 for key in outcome.acknowledged_keys if by_key[key].op == "index")
    result.deleted = result.removed - result.indexed
    result.retrying = len(outcome.retryable)
    result.parked = len(outcome.permanent)
    if failures:
        logger.warning(
            "outbox rows kept for retry",
            extra={"retrying": result.retrying, "parked": result.parked},
        )
    return result


def _drain_entry(conn: Connection[Any], indexer: BulkIndexer, batch_size: int) -> DrainResult:
    """Index the records of one batch entry (search_outbox_batches), `batch_size` at a
    time, and delete it, in one transaction: a crash re-sends it whole (the writes are
    versioned, so a repeat changes nothing). The records not acknowledged are kept as
    per-record rows (retried later, or parked when permanent)."""
    result = DrainResult()
    with conn.transaction():
        entry = conn.cursor(row_factory=dict_row).execute(_CLAIM_ENTRY).fetchone()
        if entry is None:
            return result
        result.batches = 1
        entity = entry["entity"]
        ids = sorted(set(entry["record_uuids"]), key=lambda record_id: record_id.int)
        for start in range(0, len(ids), batch_size):
            piece = ids[start : start + batch_size]
            claimed = [{"entity": entity, "record_uuid": record_id} for record_id in piece]
            result.add(_index_claimed(conn, indexer, claimed, keep_failed=True))
        conn.execute("DELETE FROM search_outbox_batches WHERE id = %s", (entry["id"],))
    return result


def _index_claimed(
    conn: Connection[Any],
    indexer: BulkIndexer,
    claimed: list[dict[str, Any]],
    *,
    keep_failed: bool,
) -> DrainResult:
    """Send the claimed records' current documents (or deletes); tally the outcome. With
    `keep_failed` (a batch entry's records) the failed ones become outbox rows."""
    result = DrainResult(claimed=len(claimed))
    version = _clock_micros(conn)  # read before the documents: never newer than them
    actions, owner = _bulk_actions(conn, indexer, claimed, version)
    outcome = _send_actions(indexer, actions)
    by_key = {action.key: action for action in actions}
    result.removed = len(outcome.acknowledged_keys)
    result.indexed = sum(1 for key in outcome.acknowledged_keys if by_key[key].op == "index")
    result.deleted = result.removed - result.indexed
    result.retrying = len(outcome.retryable)
    result.parked = len(outcome.permanent)
    failures = [(key, message, False) for key, message in outcome.retryable.items()]
    failures += [(key, PERMANENT_PREFIX + m, True) for key, m in outcome.permanent.items()]
    if failures and keep_failed:
        conn.execute(_KEEP_FAILED, _failure_params(owner, failures))
        logger.warning(
            "batch entry records kept for retry",
            extra={"retrying": result.retrying, "parked": result.parked},
        )
    return result


def _failure_params(
    owner: dict[Key, tuple[str, uuid.UUID]], failures: list[tuple[Key, str, bool]]
) -> dict[str, Any]:
    return {
        "entities": [owner[key][0] for key, _, _ in failures],
        "ids": [owner[key][1] for key, _, _ in failures],
        "errors": [message for _, message, _ in failures],
        "permanent": [permanent for _, _, permanent in failures],
        "base": RETRY_BASE_SECONDS,
        "cap": RETRY_CAP_SECONDS,
    }


def _bulk_actions(
    conn: Connection[Any], indexer: BulkIndexer, claimed: list[dict[str, Any]], version: int
) -> tuple[list[IndexAction], dict[Key, tuple[str, uuid.UUID]]]:
    """One action per claimed row (index its document, or delete it when it is gone) and
    the outbox row `(entity, record_uuid)` each action's key came from."""
    owner: dict[Key, tuple[str, uuid.UUID]] = {}
    actions: list[IndexAction] = []
    for entity in Entity:
        ids = [row["record_uuid"] for row in claimed if row["entity"] == entity.value]
        if not ids:
            continue
        documents = load_documents(conn, entity, ids)
        alias = indexer.alias(entity)
        for record_id in ids:
            doc_id = str(record_id)
            document = documents.get(doc_id)
            action = (
                IndexAction("index", alias, doc_id, document, version)
                if document is not None
                else IndexAction("delete", alias, doc_id, version=version)
            )
            actions.append(action)
            owner[action.key] = (entity.value, record_id)
    return actions, owner


def _send_actions(indexer: BulkIndexer, actions: list[IndexAction]) -> BulkOutcome:
    try:
        for entity in Entity:
            indexer.ensure_index(entity)  # a bulk write must never auto-create an index
        return indexer.run(actions)
    except Exception as exc:  # the cluster is gone: every row stays, with the reason
        logger.warning("outbox drain failed", extra={"error": repr(exc)})
        return BulkOutcome(retryable={a.key: repr(exc)[:1000] for a in actions})


def _postpone(
    conn: Connection[Any],
    owner: dict[Key, tuple[str, uuid.UUID]],
    failures: list[tuple[Key, str, bool]],
) -> None:
    """Keeps the failed rows with their reason: retried later, or parked when permanent."""
    conn.execute(_POSTPONE, _failure_params(owner, failures))


# -- reindex -------------------------------------------------------------------------------


@dataclass
class ReindexResult:
    entity: str
    index: str
    indexed: int
    failed: dict[str, str]  # document id → permanent error (queued in the outbox)
    requeued_changes: int  # records changed while the rebuild ran, queued for the drain


def _stream_documents(
    conn: Connection[Any], entity: Entity, index: str, version: int, itersize: int = 2_000
) -> Iterator[IndexAction]:
    with conn.cursor(name=f"reindex_{entity.value}", row_factory=dict_row) as cursor:
        cursor.itersize = itersize
        cursor.execute(documents_query(entity, by_ids=False))
        for row in cursor:
            document = build_document(entity, row)
            yield IndexAction("index", index, document_id(row), document, version)


def reindex(conn: Connection[Any], indexer: BulkIndexer, entity: Entity) -> ReindexResult:
    """Rebuild the entity's index from PostgreSQL and swap the alias to it."""
    _require_idle(conn)
    client = indexer.client
    alias = indexer.alias(entity)
    name = f"{alias}-{_stamp()}"
    started = _oldest_running_start(conn)  # before the snapshot: see the module docs
    body = index_body(entity, indexer.shards, 0)
    body["settings"]["index"]["refresh_interval"] = "-1"  # bulk load, then refresh once
    client.indices.create(index=name, body=body)
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            documents = _stream_documents(conn, entity, name, to_micros(started))
            outcome = indexer.run(documents, keep_keys=False, require_alias=False)
        if outcome.retryable:
            raise RuntimeError(
                f"reindex of {entity.value} aborted: {len(outcome.retryable)} documents "
                f"still failing after retries, e.g. {next(iter(outcome.retryable.values()))}"
            )
        client.indices.put_settings(
            index=name,
            body={"index": {"refresh_interval": "1s", "number_of_replicas": indexer.replicas}},
        )
        client.indices.refresh(index=name)
        _wait_for_green(client, name, indexer.green_timeout)
    except Exception:
        client.indices.delete(index=name, ignore=[404])
        raise
    _swap_alias(client, alias, name)
    failed = {doc_id: message for (_, doc_id), message in outcome.permanent.items()}
    changed = _changed_since(conn, entity, started)
    with conn.transaction():
        # Failed documents stay visible in the outbox (the drain records their error);
        # records written during the rebuild may have gone to the old index: queue them.
        outbox.enqueue(conn, entity.value, [uuid.UUID(i) for i in failed], "upsert")
        outbox.enqueue(conn, entity.value, changed, "upsert")
    return ReindexResult(entity.value, name, outcome.acknowledged, failed, len(changed))


def _wait_for_green(client: OpenSearch, index: str, timeout: str) -> None:
    """Every shard copy allocated before searches move to the index (a yellow index
    serves from primaries alone; a lost node would then lose the only copy)."""
    health = client.cluster.health(index=index, wait_for_status="green", timeout=timeout)
    if health.get("timed_out") or health.get("status") != "green":
        raise IndexLayoutError(
            f"{index} is {health.get('status')} after {timeout}: not every replica could be "
            "allocated (a single-node cluster needs OPENSEARCH_REPLICAS=0)"
        )


# The start of the oldest transaction running now (or now): every transaction that commits
# after a snapshot taken later started at or after it, and so stamped updated_at >= it.
# Needs pg_stat_activity's xact_start of the writers' sessions (the same role, or
# pg_read_all_stats).
_OLDEST_RUNNING = """
SELECT least(clock_timestamp(), (
    SELECT min(xact_start) FROM pg_stat_activity
    WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND datname = current_database()
)) AS since
"""


def _oldest_running_start(conn: Connection[Any]) -> datetime:
    with conn.transaction():
        row = conn.cursor(row_factory=dict_row).execute(_OLDEST_RUNNING).fetchone()
    assert row is not None and isinstance(row["since"], datetime)
    return row["since"]


def _clock_micros(conn: Connection[Any]) -> int:
    """The PostgreSQL clock now, in epoch microseconds (the external version of writes)."""
    row = conn.cursor(row_factory=dict_row).execute("SELECT clock_timestamp() AS now").fetchone()
    assert row is not None and isinstance(row["now"], datetime)
    return to_micros(row["now"])


def _changed_since(conn: Connection[Any], entity: Entity, since: datetime) -> list[uuid.UUID]:
    if entity is Entity.COMPANIES:
        statement = (
            "SELECT uuid FROM companies WHERE updated_at >= %(since)s OR deleted_at >= %(since)s"
        )
    else:
        statement = (
            "SELECT c.uuid FROM contacts c LEFT JOIN companies co ON co.uuid = c.company_id "
            "WHERE c.updated_at >= %(since)s OR c.deleted_at >= %(since)s "
            "OR co.updated_at >= %(since)s OR co.deleted_at >= %(since)s"
        )
    with conn.transaction():
        rows = conn.cursor(row_factory=dict_row).execute(statement, {"since": since}).fetchall()
    return [row["uuid"] for row in rows]


def _swap_alias(client: OpenSearch, alias: str, new_index: str) -> None:
    actions: list[dict[str, Any]] = []
    old: list[str] = []
    if client.indices.exists_alias(name=alias):
        old = sorted(client.indices.get_alias(name=alias))
        actions.extend({"remove": {"index": index, "alias": alias}} for index in old)
    elif client.indices.exists(index=alias):  # a concrete index squatting the alias name
        actions.append({"remove_index": {"index": alias}})
    actions.append({"add": {"index": new_index, "alias": alias}})
    client.indices.update_aliases(body={"actions": actions})
    for index in old:
        if index != new_index:
            client.indices.delete(index=index, ignore=[404])


# -- reconcile -----------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    entity: str
    live_rows: int = 0
    indexed_documents: int = 0
    missing: int = 0  # live in PostgreSQL, absent from the index
    stale: int = 0  # in both, built from an older version of the record
    orphans: int = 0  # in the index, not live in PostgreSQL
    samples: dict[str, list[str]] = field(
        default_factory=lambda: {"missing": [], "stale": [], "orphans": []}
    )
    outbox_pending: int = 0
    outbox_parked: int = 0
    repaired: int = 0  # ids queued (and drained) by --repair

    @property
    def drift(self) -> int:
        return self.missing + self.stale + self.orphans


def _pg_versions(conn: Connection[Any], entity: Entity) -> Iterator[tuple[str, str]]:
    with conn.cursor(name=f"reconcile_{entity.value}", row_factory=dict_row) as cursor:
        cursor.itersize = SCROLL_PAGE
        cursor.execute(documents_query(entity, by_ids=False))
        for row in cursor:
            yield document_id(row), source_version(entity, row)


def _index_versions(client: OpenSearch, alias: str) -> Iterator[tuple[str, str | None]]:
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "query": {"match_all": {}},
            "sort": [{"uuid": {"order": "asc"}}],
            "size": SCROLL_PAGE,
            "_source": ["uuid", VERSION_FIELD],
            "track_total_hits": False,
        }
        if after is not None:
            body["search_after"] = after
        hits = client.search(index=alias, body=body)["hits"]["hits"]
        for hit in hits:
            yield hit["_id"], hit.get("_source", {}).get(VERSION_FIELD)
        if len(hits) < SCROLL_PAGE:
            return
        after = hits[-1]["sort"]


def reconcile(
    conn: Connection[Any], indexer: BulkIndexer, entity: Entity, *, repair: bool = False
) -> ReconcileReport:
    """Compare PostgreSQL's live records with the index; with `repair`, queue and drain."""
    _require_idle(conn)
    report = ReconcileReport(entity.value)
    alias = indexer.ensure_index(entity)
    indexer.client.indices.refresh(index=alias)
    drift = _DriftNotes(conn, entity, report, repair)
    with conn.transaction():
        pg = _pg_versions(conn, entity)
        index = _index_versions(indexer.client, alias)
        _compare(report, drift, pg, index)
        drift.flush()  # repairs commit with the scan's transaction
        counts = _outbox_counts(conn, entity)
    if counts is not None:
        report.outbox_pending, report.outbox_parked = int(counts["pending"]), int(counts["parked"])
    if report.repaired:
        drain_outbox(conn, indexer)
    return report


class _DriftNotes:
    """Counts and samples each drifted id; with `repair`, queues its fix in the outbox."""

    def __init__(
        self, conn: Connection[Any], entity: Entity, report: ReconcileReport, repair: bool
    ) -> None:
        self.conn = conn
        self.entity = entity
        self.report = report
        self.repair = repair
        self.queued: dict[outbox.Operation, list[uuid.UUID]] = {"upsert": [], "delete": []}

    def note(self, kind: str, doc_id: str) -> None:
        report = self.report
        setattr(report, kind, getattr(report, kind) + 1)
        if len(report.samples[kind]) < REPORT_SAMPLE:
            report.samples[kind].append(doc_id)
        if self.repair:
            self.queued["delete" if kind == "orphans" else "upsert"].append(uuid.UUID(doc_id))
            if len(self.queued["upsert"]) + len(self.queued["delete"]) >= REPAIR_BATCH:
                self.flush()

    def flush(self) -> None:
        for operation, ids in self.queued.items():
            outbox.enqueue(self.conn, self.entity.value, ids, operation)
            self.report.repaired += len(ids)
            ids.clear()


def _compare(
    report: ReconcileReport,
    drift: _DriftNotes,
    pg: Iterator[tuple[str, str]],
    index: Iterator[tuple[str, str | None]],
) -> None:
    """Merges the two id-ordered streams: missing, orphaned and stale ids."""
    pg_item, index_item = next(pg, None), next(index, None)
    while pg_item is not None or index_item is not None:
        if index_item is None or (pg_item is not None and pg_item[0] < index_item[0]):
            assert pg_item is not None
            report.live_rows += 1
            drift.note("missing", pg_item[0])
            pg_item = next(pg, None)
        elif pg_item is None or index_item[0] < pg_item[0]:
            report.indexed_documents += 1
            drift.note("orphans", index_item[0])
            index_item = next(index, None)
        else:
            report.live_rows += 1
            report.indexed_documents += 1
            if pg_item[1] != index_item[1]:
                drift.note("stale", pg_item[0])
            pg_item, index_item = next(pg, None), next(index, None)


def _outbox_counts(conn: Connection[Any], entity: Entity) -> dict[str, Any] | None:
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT count(*) FILTER (WHERE next_attempt_at < now() + interval '50 years') "
            "+ (SELECT coalesce(sum(cardinality(record_uuids)), 0) FROM search_outbox_batches "
            "WHERE entity = %(entity)s) AS pending, "
            "count(*) FILTER (WHERE next_attempt_at >= now() + interval '50 years') AS parked "
            "FROM search_outbox WHERE entity = %(entity)s",
            {"entity": entity.value},
        )
        .fetchone()
    )
