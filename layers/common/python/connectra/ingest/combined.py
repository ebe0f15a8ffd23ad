"""Combined rows: a contact row that carries its company upserts the company and links it.

Identity of the company (models/identity.py keys): its normalized domain, from a domain
or website column, else from the contact's email when that is not a free-mail address;
else its name + LinkedIn URL. A live company that already holds the domain under another
uuid is the one updated and linked.

What is written: only the company columns the file has (plus the domain its identity
came from). A column the file lacks is left as stored, so a contacts file with just
`Company` never blanks a company's firmographics; a blank cell in a column the file has
clears it, as in a companies import. The row last in the file wins for each company.

Concurrency (chunks load in parallel, and several may name the same company):

* a chunk records each company's row in the job's ledger (`import_company_keys`: the
  latest file position seen so far and its values) and creates the companies that do
  not exist yet (`ON CONFLICT DO NOTHING`), in a short transaction of its own committed
  before the chunk's contacts reference them. Were it part of the chunk's long
  transaction, its locks would be held until the chunk commits: every chunk naming a
  popular company would wait for the others, and two chunks taking two companies in
  opposite batch orders would deadlock. It takes no lock on existing companies (the
  contacts' foreign key checks hold KEY SHARE locks on them until their chunks commit);
* finalize, once the whole file is read, writes each company's last row where it differs
  from the stored one (`apply_final_values`): the file's last row wins whatever order
  chunks ran in, an earlier row never overwrites a company for a while, and re-importing
  a file writes nothing. The ledger's `created` flag counts the companies the job created;
* a domain claimed meanwhile under another uuid (UniqueViolation) or a deadlock between
  two such short transactions is retried: they are idempotent.

`POST /common/batch-upsert` (one request, one transaction) upserts its rows' companies
directly (`upsert_companies` without a job): last row per company wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection, errors, sql
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from connectra.db.filter_counts import FilterChanges
from connectra.db.pool import connection
from connectra.db.upsert import array_literal
from connectra.models.fields import FIELDS_BY_ENTITY, WRITABLE_COLUMNS, Entity, FieldKind
from connectra.models.identity import normalize_domain
from connectra.models.records import CompanyIn

# Providers of personal mailboxes: their domain says nothing about the employer.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
        "ymail.com", "rocketmail.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr",
        "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com",
        "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de",
        "mail.com", "mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com",
        "zoho.com", "fastmail.com", "hey.com", "tutanota.com", "comcast.net", "verizon.net",
        "att.net", "btinternet.com", "orange.fr", "free.fr", "libero.it", "t-online.de",
    }
)  # fmt: skip

LEDGER_TABLE = "import_company_keys"
ATTEMPTS = 5
_ARRAY_COLUMNS = {
    name for name, spec in FIELDS_BY_ENTITY[Entity.COMPANIES].items() if spec.is_array
}


def email_domain(email: str | None) -> str | None:
    """The employer's domain an email names, None for free-mail and malformed addresses."""
    if not email or "@" not in email:
        return None
    domain = normalize_domain(email.rsplit("@", 1)[1])
    return domain if domain and domain not in FREE_MAIL_DOMAINS else None


def with_identity(values: dict[str, Any], email: Any) -> dict[str, Any]:
    """The company's values with the email's domain as its domain when it has none."""
    if values.get("normalized_domain") or values.get("website"):
        return values
    domain = email_domain(email if isinstance(email, str) else None)
    return {**values, "normalized_domain": domain} if domain else values


@dataclass(frozen=True, slots=True)
class CompanyRow:
    """One row's company: its natural uuid, the columns written, its file position."""

    uuid: uuid.UUID
    values: Mapping[str, Any]  # the written columns (and normalized_domain) → values
    position: int


def company_row(reference: Mapping[str, Any], email: Any, position: int) -> CompanyRow:
    """A row's company: validated (CompanyIn; a ValidationError names the field), keyed,
    with the row's company columns (blank ones too: they clear) and its domain."""
    given = {name: value for name, value in reference.items() if value not in (None, "", [])}
    company = CompanyIn.model_validate(with_identity(given, email))
    stored = company.__dict__
    written = {name: stored[name] for name in reference}
    written["normalized_domain"] = stored["normalized_domain"]
    return CompanyRow(company.record_uuid(), written, position)


@dataclass
class CompanyOutcome:
    owners: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # natural → stored
    written: list[uuid.UUID] = field(default_factory=list)  # the rows this call applied


def last_per_company(rows: Iterable[CompanyRow]) -> list[CompanyRow]:
    """One row per company, the last in the file; in uuid order (the lock order)."""
    latest: dict[uuid.UUID, CompanyRow] = {}
    for row in rows:
        seen = latest.get(row.uuid)
        if seen is None or row.position >= seen.position:
            latest[row.uuid] = row
    return sorted(latest.values(), key=lambda row: row.uuid.int)


class _RaceLost(Exception):
    """A company created by another transaction between our lock and our write: its
    previous version is unknown to our filter counts, so the attempt starts again."""


_RETRIED = (errors.UniqueViolation, errors.DeadlockDetected, errors.SerializationFailure, _RaceLost)


def upsert_companies_apart(job_id: uuid.UUID, rows: list[CompanyRow]) -> CompanyOutcome:
    """`upsert_companies` in a transaction of its own, committed now (see the module doc)."""
    with connection() as conn:
        return upsert_companies(conn, rows, job_id=job_id)


def upsert_companies(
    conn: Connection[Any], rows: list[CompanyRow], *, job_id: uuid.UUID | None = None
) -> CompanyOutcome:
    """Upsert the companies of `rows` (last per company wins) in the caller's transaction,
    retried in a savepoint after a lost race. With a `job_id`, the job's ledger decides
    which rows are the file's latest so far."""
    unique = last_per_company(rows)
    if not unique:
        return CompanyOutcome()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with conn.transaction():
                return _upsert_once(conn, unique, job_id)
        except _RETRIED:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _upsert_once(
    conn: Connection[Any], unique: list[CompanyRow], job_id: uuid.UUID | None
) -> CompanyOutcome:
    owners = _domain_owners(conn, unique)
    stored = last_per_company([_stored_as(row, owners) for row in unique])
    if job_id is not None:
        return _record_and_create(conn, stored, job_id, owners)
    winners = stored
    outcome = CompanyOutcome(owners=owners, written=[row.uuid for row in winners])
    changes = FilterChanges.for_entity(conn, Entity.COMPANIES)
    previous = _lock_previous(conn, [row.uuid for row in winners], changes.columns)
    for columns, group in _by_columns(winners).items():
        written = _write(conn, columns, group, changes.columns)
        if any(not row["_inserted"] and row["uuid"] not in previous for row in written):
            raise _RaceLost
        changes.remove(previous[row["uuid"]] for row in written if row["uuid"] in previous)
        changes.add(written)
    changes.apply(conn)
    return outcome


def _record_and_create(
    conn: Connection[Any],
    rows: list[CompanyRow],
    job_id: uuid.UUID,
    owners: dict[uuid.UUID, uuid.UUID],
) -> CompanyOutcome:
    """An import's companies: the ledger keeps each one's latest row so far; the ones that
    do not exist yet are created (their contacts must reference them now). Existing
    companies are not touched here: `apply_final_values` writes each company's last row
    once the whole file is read, so a re-import writes nothing and an earlier row never
    overwrites a company for a moment."""
    _record_latest(conn, job_id, rows)
    changes = FilterChanges.for_entity(conn, Entity.COMPANIES)
    created: list[uuid.UUID] = []
    for columns, group in _by_columns(rows).items():
        written = _write(conn, columns, group, changes.columns, create_only=True)
        changes.add(written)
        created.extend(row["uuid"] for row in written)
    if created:
        conn.execute(
            f"UPDATE {LEDGER_TABLE} SET created = true WHERE job_id = %s AND record_uuid = ANY(%s)",
            (job_id, created),
        )
    changes.apply(conn)
    return CompanyOutcome(owners=owners, written=created)


def _domain_owners(conn: Connection[Any], rows: list[CompanyRow]) -> dict[uuid.UUID, uuid.UUID]:
    """Natural uuid → the live company already holding its domain under another uuid."""
    by_domain = {row.values["normalized_domain"]: row.uuid for row in rows if _domain(row)}
    if not by_domain:
        return {}
    found = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            "SELECT normalized_domain, uuid FROM companies "
            "WHERE normalized_domain = ANY(%s) AND deleted_at IS NULL",
            (list(by_domain),),
        )
        .fetchall()
    )
    return {by_domain[domain]: owner for domain, owner in found if by_domain[domain] != owner}


def _domain(row: CompanyRow) -> str | None:
    domain = row.values.get("normalized_domain")
    return domain if isinstance(domain, str) and domain else None


def _stored_as(row: CompanyRow, owners: dict[uuid.UUID, uuid.UUID]) -> CompanyRow:
    owner = owners.get(row.uuid)
    return row if owner is None else CompanyRow(owner, row.values, row.position)


_LEDGER = f"""
INSERT INTO {LEDGER_TABLE} AS k (job_id, record_uuid, position, company)
SELECT %(job_id)s, key.record_uuid, key.position, key.company
FROM unnest(%(uuids)s::uuid[], %(positions)s::bigint[], %(companies)s::jsonb[])
     AS key(record_uuid, position, company)
ORDER BY key.record_uuid
ON CONFLICT (job_id, record_uuid) DO UPDATE
SET position = excluded.position, company = excluded.company
WHERE excluded.position > k.position
"""


def _record_latest(conn: Connection[Any], job_id: uuid.UUID, rows: list[CompanyRow]) -> None:
    """Each company's row in the ledger, where it is the latest of the job so far."""
    conn.execute(
        _LEDGER,
        {
            "job_id": job_id,
            "uuids": [row.uuid for row in rows],
            "positions": [row.position for row in rows],
            "companies": [Jsonb(dict(row.values)) for row in rows],
        },
    )


def _lock_previous(
    conn: Connection[Any], ids: list[uuid.UUID], columns: list[str]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The existing companies' filter columns, locked (NO KEY UPDATE: see the module doc)."""
    wanted = sql.SQL(", ").join(map(sql.Identifier, dict.fromkeys(["uuid", *columns])))
    statement = sql.SQL(
        "SELECT {wanted} FROM companies WHERE uuid = ANY(%s) ORDER BY uuid FOR NO KEY UPDATE"
    ).format(wanted=wanted)
    return {row["uuid"]: row for row in conn.execute(statement, (ids,)).fetchall()}


def _by_columns(rows: list[CompanyRow]) -> dict[tuple[str, ...], list[CompanyRow]]:
    """Rows grouped by the columns they write (one group for a CSV file)."""
    groups: dict[tuple[str, ...], list[CompanyRow]] = {}
    for row in rows:
        columns = tuple(sorted({*row.values, "normalized_domain"}))
        groups.setdefault(columns, []).append(row)
    return groups


def _write(
    conn: Connection[Any],
    columns: tuple[str, ...],
    rows: list[CompanyRow],
    returned: list[str],
    *,
    create_only: bool = False,
) -> list[dict[str, Any]]:
    """COPY the rows to a staging table, then one INSERT … ON CONFLICT DO UPDATE of the
    given columns; the rows inserted or changed come back with their `returned` columns."""
    staging = sql.Identifier("staging_combined_companies")
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE companies INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        ).format(staging)
    )
    conn.execute(sql.SQL("TRUNCATE {}").format(staging))
    names = ("uuid", *columns)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        staging, sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([row.uuid, *(_cell(name, row.values.get(name)) for name in columns)])
    return conn.execute(_upsert_statement(columns, returned, staging, create_only)).fetchall()


def _cell(name: str, value: Any) -> Any:
    if name in _ARRAY_COLUMNS:
        return array_literal(value or [])
    return value


def _upsert_statement(
    columns: tuple[str, ...], returned: list[str], staging: sql.Identifier, create_only: bool
) -> sql.Composed:
    ident = sql.Identifier
    names = sql.SQL(", ").join(map(ident, ("uuid", *columns)))
    back = sql.SQL(", ").join(
        sql.SQL("t.{}").format(ident(c)) for c in dict.fromkeys(["uuid", *returned])
    )
    if create_only:
        return sql.SQL(
            "INSERT INTO companies AS t ({names}, created_at, updated_at) "
            "SELECT {names}, now(), now() FROM {staging} ORDER BY uuid "
            "ON CONFLICT (uuid) DO NOTHING RETURNING {back}"
        ).format(names=names, staging=staging, back=back)
    # The domain is the identity: a row without one (name + LinkedIn) keeps the stored one.
    new = {
        name: sql.SQL("coalesce(excluded.normalized_domain, t.normalized_domain)")
        if name == "normalized_domain"
        else sql.SQL("excluded.{}").format(ident(name))
        for name in columns
    }
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(ident(name), value) for name, value in new.items()
    )
    mine = sql.SQL(", ").join(sql.SQL("t.{}").format(ident(name)) for name in columns)
    theirs = sql.SQL(", ").join(new.values())
    return sql.SQL(
        "INSERT INTO companies AS t ({names}, created_at, updated_at) "
        "SELECT {names}, now(), now() FROM {staging} ORDER BY uuid "
        "ON CONFLICT (uuid) DO UPDATE SET {assignments}, updated_at = now(), deleted_at = NULL "
        "WHERE ({mine}) IS DISTINCT FROM ({theirs}) OR t.deleted_at IS NOT NULL "
        "RETURNING {back}, (t.xmax = 0) AS _inserted"
    ).format(
        names=names,
        staging=staging,
        assignments=assignments,
        mine=mine,
        theirs=theirs,
        back=back,
    )


def company_totals(conn: Connection[Any], job_id: uuid.UUID) -> dict[str, int]:
    """The companies a job's rows named: created by it, and existing ones it updated."""
    row = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            f"SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
            f"FROM {LEDGER_TABLE} WHERE job_id = %s",
            (job_id,),
        )
        .fetchone()
    )
    inserted, updated = row if row else (0, 0)
    return {"inserted": int(inserted), "updated": int(updated)}


def _from_ledger(name: str) -> sql.Composable:
    """A company column's value in the ledger's JSON, typed; the stored one when absent."""
    ident, key = sql.Identifier(name), sql.Literal(name)
    value: sql.Composable
    if name in _ARRAY_COLUMNS:
        value = sql.SQL("ARRAY(SELECT jsonb_array_elements_text(k.company -> {}))").format(key)
    elif FIELDS_BY_ENTITY[Entity.COMPANIES][name].kind is FieldKind.NUMBER:
        value = sql.SQL("(k.company ->> {})::bigint").format(key)
    else:
        value = sql.SQL("(k.company ->> {})").format(key)
    if name == "normalized_domain":  # the identity: a name-keyed row keeps the stored one
        return sql.SQL("coalesce({}, t.{})").format(value, ident)
    return sql.SQL("CASE WHEN k.company ? {} THEN {} ELSE t.{} END").format(key, value, ident)


def _columns_sql(prefix: str, names: Iterable[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(prefix + "{}").format(sql.Identifier(n)) for n in names)


def apply_final_values(conn: Connection[Any], job_id: uuid.UUID) -> list[uuid.UUID]:
    """Write each company the job's rows named with its last row's values (the ledger's),
    where they differ from the stored ones; returns the companies changed. Runs once the
    whole file is read (finalize), in the caller's transaction."""
    columns = list(WRITABLE_COLUMNS[Entity.COMPANIES])
    changes = FilterChanges.for_entity(conn, Entity.COMPANIES)
    wanted = list(dict.fromkeys(["uuid", *changes.columns]))
    lock = sql.SQL(
        "SELECT {wanted} FROM companies WHERE uuid IN "
        f"(SELECT record_uuid FROM {LEDGER_TABLE} WHERE job_id = %s) "
        "ORDER BY uuid FOR NO KEY UPDATE"
    ).format(wanted=_columns_sql("", wanted))
    previous = {row["uuid"]: row for row in conn.execute(lock, (job_id,)).fetchall()}
    new = {name: _from_ledger(name) for name in columns}
    statement = sql.SQL(
        "UPDATE companies AS t SET {assignments}, updated_at = now(), deleted_at = NULL "
        f"FROM (SELECT record_uuid, company FROM {LEDGER_TABLE} WHERE job_id = %s) AS k "
        "WHERE t.uuid = k.record_uuid "
        "AND (({mine}) IS DISTINCT FROM ({theirs}) OR t.deleted_at IS NOT NULL) "
        "RETURNING {back}"
    ).format(
        assignments=sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(name), value) for name, value in new.items()
        ),
        mine=_columns_sql("t.", columns),
        theirs=sql.SQL(", ").join(new.values()),
        back=_columns_sql("t.", wanted),
    )
    written = conn.execute(statement, (job_id,)).fetchall()
    changes.remove(previous[row["uuid"]] for row in written if row["uuid"] in previous)
    changes.add(written)
    changes.apply(conn)
    return [row["uuid"] for row in written]
