"""Search, count and CRUD routes, one router per entity built by `build_router`.

Routes stay thin: parse VQL, call the search engine or the repository, keep filters_data
current, shape the response. FastAPI needs the record model of each entity at definition
time, so this module does not postpone annotations.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status
from psycopg import Connection, DataError, errors
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectra.api.deps import (
    RECORD_REPOSITORIES,
    ConnDep,
    CursorSecretDep,
    GateDep,
    SettingsDep,
    requires,
)
from connectra.api.errors import shorten
from connectra.api.field_access import FieldAccessDep
from connectra.api.legacy import LEGACY_WARNINGS, legacy_alias
from connectra.consumers.access import Scope
from connectra.db.filter_counts import FilterChanges, apply_filter_changes
from connectra.db.records import RecordRepository, missing_companies
from connectra.errors import Conflict, PayloadTooLarge, ValidationFailed
from connectra.models.fields import Entity
from connectra.models.records import RECORD_MODELS, RecordIn
from connectra.search.engine import CountResult, SearchEngine, SearchPage
from connectra.search.factory import get_search_engine
from connectra.search.result_cache import get_result_cache
from connectra.settings import get_settings
from connectra.vql.models import VQLQuery
from connectra.vql.parse import error_path, parse_query, validation_failed


class ErrorBody(BaseModel):
    error: str
    message: str
    details: Any = None


# OpenAPI responses by status code (FastAPI's `responses`).
Responses = dict[int | str, dict[str, Any]]

# The error responses most routers document; the app adds them when it includes a router.
ERROR_RESPONSES: Responses = {
    code: {"model": ErrorBody, "description": description}
    for code, description in (
        (400, "Invalid request: `details` lists each offending path"),
        (401, "Missing or invalid X-API-Key"),
        (403, "The key lacks the route's scope, or the plan a premium field"),
        (404, "Not found"),
        (409, "Conflict with an existing record"),
        (413, "Too many records in one call, or a body over API_MAX_BODY_BYTES"),
        (429, "Rate limited: see Retry-After"),
        (
            503,
            "Overloaded (no database connection within 1 s), database unavailable, or the "
            "query ran out of time: retry after Retry-After seconds",
        ),
    )
}


class SearchResponse(SearchPage):
    warnings: list[str] = LEGACY_WARNINGS


COUNT_DESCRIPTION = (
    "Exact up to 1,000 matches (setting COUNT_EXACT_UP_TO): "
    '`{"count": N, "relation": "eq"}`. Beyond that the count stops and answers '
    '`{"count": 1000, "relation": "gte"}` '
    "(at least that many), as OpenSearch's `track_total_hits` does, so that every "
    'count stays fast. `"exact_count": true` in the body counts every match '
    "(slower on large result sets; bounded by the statement timeout)."
)


class CountResponse(CountResult):
    warnings: list[str] = LEGACY_WARNINGS


class RecordEnvelope(BaseModel):
    data: dict[str, Any]


class UpsertResponse(BaseModel):
    data: dict[str, Any]
    status: Literal["inserted", "updated"]


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] = Field(
        description="Records to upsert (by uuid or natural key); at most BULK_MAX_RECORDS."
    )


class BulkItem(BaseModel):
    index: int
    uuid: UUID | None = None
    status: Literal["inserted", "updated", "error"]
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BulkResponse(BaseModel):
    inserted: int
    updated: int
    failed: int
    results: list[BulkItem]


# Each entity's bulk upsert endpoint, also behind `POST /common/batch-upsert`.
BULK_UPSERTS: dict[Entity, Callable[..., BulkResponse]] = {}


@lru_cache(maxsize=1)
def _default_engine() -> SearchEngine:
    return get_search_engine(get_settings())


def get_engine() -> SearchEngine:
    return _default_engine()


EngineDep = Annotated[SearchEngine, Depends(get_engine)]


def _record_problems(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    return [
        {
            "path": error_path([*([prefix] if prefix else []), *error["loc"]]),
            "message": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors()
    ]


def _missing_companies(conn: Connection[Any], records: list[RecordIn]) -> set[uuid.UUID]:
    wanted = {company for r in records if (company := getattr(r, "company_id", None))}
    return missing_companies(conn, wanted)


@contextmanager
def readable_data_errors() -> Iterator[None]:
    """Values PostgreSQL cannot store (a NUL character in text) are the caller's 400."""
    try:
        yield
    except DataError as exc:
        raise ValidationFailed(
            f"a value cannot be stored: {exc}",
            [{"path": "body", "message": str(exc), "type": "invalid_value"}],
        ) from None


def _natural_key_column(entity: Entity) -> str:
    return "email" if entity is Entity.CONTACTS else "normalized_domain"


def _claimed_by_others(
    conn: Connection[Any], repository: RecordRepository, records: list[RecordIn]
) -> dict[int, uuid.UUID]:
    """Records with an explicit uuid whose email/domain belongs to another live record:
    position → that record's uuid (issue 11 D5: such an upsert would overwrite it)."""
    column = repository.natural_key_column
    keys = {
        index: str(value).lower()
        for index, record in enumerate(records)
        if record.uuid is not None and (value := getattr(record, column, None))
    }
    owner = repository.owners_by_natural_key(conn, set(keys.values()))
    return {
        index: owner[key]
        for index, key in keys.items()
        if key in owner and owner[key] != records[index].uuid
    }


def _claim_problem(entity: Entity, owner: uuid.UUID, prefix: str = "") -> dict[str, Any]:
    column = _natural_key_column(entity)
    return {
        "path": f"{prefix}{column}",
        "message": f"belongs to another record ({owner}); the uuid and the {column} disagree",
        "type": "conflict",
        "uuid": str(owner),
    }


def _reject_redirected(records: list[RecordIn], written: list[uuid.UUID]) -> None:
    """A record with an explicit uuid must be written under it. A concurrent call may have
    committed its email/domain under another uuid after `_claimed_by_others` looked; the
    upsert then resolved to that record: refuse, rolling the write back (D5, D6)."""
    ids = set(written)
    for record in records:
        if record.uuid is not None and record.uuid not in ids:
            raise Conflict(
                "another record took this email or domain meanwhile; nothing was written",
                [
                    {
                        "path": "uuid",
                        "message": "email or domain now owned by another record",
                        "type": "conflict",
                    }
                ],
            )


def _require_companies(conn: Connection[Any], record: RecordIn) -> None:
    if _missing_companies(conn, [record]):
        raise ValidationFailed(
            "company_id: no such company",
            [{"path": "company_id", "message": "no such company", "type": "not_found"}],
        )


def _validate_bulk(
    record_model: type[RecordIn], raws: list[dict[str, Any]], results: dict[int, BulkItem]
) -> list[tuple[int, RecordIn]]:
    """The records that validate, by their index in the batch; the others' errors go to
    `results`."""
    valid: list[tuple[int, RecordIn]] = []
    for index, raw in enumerate(raws):
        try:
            valid.append((index, record_model.model_validate(raw)))
        except ValidationError as exc:
            results[index] = BulkItem(
                index=index, status="error", errors=_record_problems(exc, f"records[{index}]")
            )
    return valid


def _drop_missing_companies(
    conn: Connection[Any], valid: list[tuple[int, RecordIn]], results: dict[int, BulkItem]
) -> None:
    """Records naming no live company leave `valid` with a not_found error."""
    missing = _missing_companies(conn, [record for _, record in valid])
    for index, record in list(valid):
        if getattr(record, "company_id", None) in missing:
            results[index] = BulkItem(
                index=index,
                uuid=record.record_uuid(),
                status="error",
                errors=[
                    {
                        "path": f"records[{index}].company_id",
                        "message": "no such company",
                        "type": "not_found",
                    }
                ],
            )
            valid.remove((index, record))


def _drop_claimed(
    conn: Connection[Any],
    repository: RecordRepository,
    valid: list[tuple[int, RecordIn]],
    results: dict[int, BulkItem],
) -> None:
    """Records whose uuid and email/domain name two records leave `valid` with a conflict."""
    claimed = _claimed_by_others(conn, repository, [record for _, record in valid])
    for position, (index, record) in reversed(list(enumerate(valid))):
        if position in claimed:
            problem = _claim_problem(repository.entity, claimed[position], f"records[{index}].")
            results[index] = BulkItem(
                index=index, uuid=record.record_uuid(), status="error", errors=[problem]
            )
            del valid[position]


def build_router(entity: Entity) -> APIRouter:
    router = APIRouter(prefix=f"/{entity.value}", tags=[entity.value])
    _add_query_routes(router, entity)
    _add_single_write_routes(router, entity)
    _add_bulk_route(router, entity)
    _add_record_routes(router, entity)
    return router


def _add_query_routes(router: APIRouter, entity: Entity) -> None:
    """Search and count: VQL through the search engine."""
    read = requires(Scope.READ)

    @router.post(
        "/", summary=f"Search {entity.value} with VQL", response_model=SearchResponse, **read
    )
    def search(
        body: VQLQuery,
        conn: ConnDep,
        engine: EngineDep,
        gate: GateDep,
        cursor_secret: CursorSecretDep,
    ) -> SearchResponse:
        query = parse_query(body, entity, cursor_secret=cursor_secret)
        gate.check_query(query)
        page = engine.search(conn, entity, query)
        data = gate.blank_rows(entity, page.data)
        return SearchResponse(**{**dict(page), "data": data}, warnings=body.warnings)

    @router.post(
        "/count",
        summary=f"Count {entity.value} matching a VQL query",
        **{**read, "description": f"{read['description']} {COUNT_DESCRIPTION}"},
    )
    def count(
        body: VQLQuery,
        conn: ConnDep,
        engine: EngineDep,
        gate: GateDep,
        access: FieldAccessDep,
        settings: SettingsDep,
        cursor_secret: CursorSecretDep,
    ) -> CountResponse:
        query = parse_query(body, entity, cursor_secret=cursor_secret)
        gate.check_query(query)
        up_to = None if body.exact_count else settings.count_exact_up_to
        result, cached = get_result_cache().fetch(
            ("count", access.plan, engine.name, entity, query.filter, up_to),
            lambda: engine.count_up_to(conn, entity, query, up_to),
        )
        return CountResponse(**{**dict(result), "cached": cached}, warnings=body.warnings)

    legacy_alias(router, "/filter", search, "POST /" + entity.value + "/", options=read)


def _add_single_write_routes(router: APIRouter, entity: Entity) -> None:
    """Create and upsert one record."""
    record_model = RECORD_MODELS[entity]
    singular = entity.value[:-1]
    RepoDep = Annotated[RecordRepository, Depends(RECORD_REPOSITORIES[entity])]  # noqa: N806
    write = requires(Scope.WRITE)

    @router.post(
        "/create", status_code=status.HTTP_201_CREATED, summary=f"Create a {singular}", **write
    )
    def create(
        body: record_model,  # type: ignore[valid-type]
        conn: ConnDep,
        repository: RepoDep,
        gate: GateDep,
    ) -> RecordEnvelope:
        _require_companies(conn, body)
        with readable_data_errors():
            row = repository.create(conn, body)
        apply_filter_changes(conn, entity, added=[row])
        return RecordEnvelope(data=gate.blank_row(entity, row))

    @router.post(
        "/upsert", summary=f"Create or update a {singular} by uuid or natural key", **write
    )
    def upsert(
        body: record_model,  # type: ignore[valid-type]
        conn: ConnDep,
        repository: RepoDep,
        gate: GateDep,
    ) -> UpsertResponse:
        _require_companies(conn, body)
        claimed = _claimed_by_others(conn, repository, [body])
        if claimed:
            problem = _claim_problem(entity, claimed[0])
            raise Conflict(f"{problem['path']}: {problem['message']}", [problem])
        changes = FilterChanges.for_entity(conn, entity)
        try:
            with readable_data_errors(), conn.transaction():
                result = repository.upsert_many(conn, [body], previous_columns=changes.columns)
                _reject_redirected([body], result.inserted + result.updated)
        except errors.UniqueViolation as exc:
            # A concurrent call committed the same email/domain under another uuid (D6).
            raise Conflict("another record already has this email or domain") from exc
        record_id = (result.inserted or result.updated)[0]
        row = repository.require(conn, record_id)
        changes.count_upsert(result)
        changes.apply(conn)
        return UpsertResponse(
            data=gate.blank_row(entity, row), status="inserted" if result.inserted else "updated"
        )


def _add_bulk_route(router: APIRouter, entity: Entity) -> None:
    """Upsert many records, each with its own outcome (also `POST /common/batch-upsert`)."""
    record_model = RECORD_MODELS[entity]
    RepoDep = Annotated[RecordRepository, Depends(RECORD_REPOSITORIES[entity])]  # noqa: N806
    write = requires(Scope.WRITE)

    @router.post(
        "/bulk",
        summary=f"Upsert up to BULK_MAX_RECORDS {entity.value}; each record reports its outcome",
        **write,
    )
    def bulk(
        body: BulkRequest, conn: ConnDep, repository: RepoDep, settings: SettingsDep
    ) -> BulkResponse:
        if len(body.records) > settings.bulk_max_records:
            raise PayloadTooLarge(
                f"at most {settings.bulk_max_records} records per call",
                {"records": len(body.records), "max": settings.bulk_max_records},
            )
        results: dict[int, BulkItem] = {}
        valid = _validate_bulk(record_model, body.records, results)
        _drop_missing_companies(conn, valid, results)
        _drop_claimed(conn, repository, valid, results)
        records = [record for _, record in valid]
        ids = [record.record_uuid() for record in records]
        changes = FilterChanges.for_entity(conn, entity)
        try:
            with readable_data_errors(), conn.transaction():
                outcome = repository.upsert_many(conn, records, previous_columns=changes.columns)
                _reject_redirected(records, outcome.inserted + outcome.updated)
        except errors.UniqueViolation as exc:
            raise Conflict("two records of the batch share an email or domain") from exc
        inserted = set(outcome.inserted)
        written = set(outcome.inserted) | set(outcome.updated)
        resolved = _resolve_by_natural_key(conn, repository, records, written)
        for position, ((index, _record), record_id) in enumerate(zip(valid, ids, strict=True)):
            final = record_id if record_id in written else resolved.get(position, record_id)
            # Several records of one batch may be one record (same uuid or key, D10): the
            # first inserts it, the later ones update it; the totals count rows written.
            first = final in inserted
            inserted.discard(final)
            results[index] = BulkItem(
                index=index, uuid=final, status="inserted" if first else "updated"
            )
        changes.count_upsert(outcome)
        changes.apply(conn)
        ordered = [results[index] for index in sorted(results)]
        return BulkResponse(
            inserted=sum(item.status == "inserted" for item in ordered),
            updated=sum(item.status == "updated" for item in ordered),
            failed=sum(item.status == "error" for item in ordered),
            results=ordered,
        )

    legacy_alias(router, "/batch-upsert", bulk, "POST /" + entity.value + "/bulk", options=write)
    BULK_UPSERTS[entity] = bulk


def _add_record_routes(router: APIRouter, entity: Entity) -> None:
    """Get, update and delete one record by uuid."""
    record_model = RECORD_MODELS[entity]
    singular = entity.value[:-1]
    RepoDep = Annotated[RecordRepository, Depends(RECORD_REPOSITORIES[entity])]  # noqa: N806
    read, write = requires(Scope.READ), requires(Scope.WRITE)

    @router.get("/{record_id}", summary=f"Get a {singular}", **read)
    def get(
        record_id: uuid.UUID, conn: ConnDep, repository: RepoDep, gate: GateDep
    ) -> RecordEnvelope:
        return RecordEnvelope(data=gate.blank_row(entity, repository.require(conn, record_id)))

    @router.put("/{record_id}", summary=f"Update some fields of a {singular}", **write)
    def update(
        record_id: uuid.UUID,
        body: dict[str, Any],
        conn: ConnDep,
        repository: RepoDep,
        gate: GateDep,
    ) -> RecordEnvelope:
        unknown = [key for key in body if key not in record_model.model_fields or key == "uuid"]
        if unknown:
            raise validation_failed(
                [
                    {
                        "path": shorten(key),
                        "message": "unknown or read-only field",
                        "type": "extra_forbidden",
                    }
                    for key in unknown
                ]
            )
        before = repository.require(conn, record_id, lock=True)
        try:
            current = {k: v for k, v in before.items() if k not in ("created_at", "updated_at")}
            changed = record_model.model_validate({**current, **body, "uuid": record_id})
        except ValidationError as exc:
            raise validation_failed(_record_problems(exc)) from None
        _require_companies(conn, changed)
        with readable_data_errors():
            row = repository.update(conn, record_id, body)
        apply_filter_changes(conn, entity, removed=[before], added=[row])
        return RecordEnvelope(data=gate.blank_row(entity, row))

    @router.delete(
        "/{record_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary=f"Delete a {singular}",
        **write,
    )
    def delete(record_id: uuid.UUID, conn: ConnDep, repository: RepoDep) -> Response:
        before = repository.require(conn, record_id, lock=True)
        repository.soft_delete(conn, record_id)
        apply_filter_changes(conn, entity, removed=[before])
        return Response(status_code=status.HTTP_204_NO_CONTENT)


def _resolve_by_natural_key(
    conn: Connection[Any],
    repository: RecordRepository,
    records: list[RecordIn],
    written: set[uuid.UUID],
) -> dict[int, uuid.UUID]:
    """Records merged into an existing record with the same email/domain: that record's id,
    by position in `records`."""
    column = repository.natural_key_column
    keys = {
        index: str(getattr(record, column)).lower()
        for index, record in enumerate(records)
        if record.record_uuid() not in written and getattr(record, column, None)
    }
    owner = repository.owners_by_natural_key(conn, set(keys.values()))
    return {index: owner[key] for index, key in keys.items() if key in owner}


contacts_router = build_router(Entity.CONTACTS)
companies_router = build_router(Entity.COMPANIES)
