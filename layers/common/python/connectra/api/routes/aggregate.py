"""`POST /contacts/aggregate` and `POST /companies/aggregate`: terms, range and date
histogram aggregations over a VQL where, on whichever search engine is configured.

The request's fields and the answer's bucket keys pass through `FieldAccess` (the
caller's plan); answers come from the per-container result cache when an identical
(plan, query) was answered within its TTL.
"""

from typing import Any

from fastapi import APIRouter

from connectra.api.deps import CallerDep, ConnDep, get_meter, requires
from connectra.api.field_access import FieldAccess, FieldAccessDep
from connectra.api.routes.records import ERROR_RESPONSES, EngineDep, ErrorBody, Responses
from connectra.consumers.access import Scope
from connectra.consumers.plans import Metric
from connectra.models.fields import Entity
from connectra.search.engine import AggregateResult
from connectra.search.result_cache import get_result_cache
from connectra.vql.aggregation import MAX_AGGREGATIONS, MAX_TERMS_SIZE, AggregateQuery
from connectra.vql.aggregation_request import AggregateRequest, parse_aggregate

DESCRIPTION = f"""Aggregations over the records a VQL `where` matches (at most
{MAX_AGGREGATIONS} a request):

* `terms` (text and keyword fields, arrays): `size` (≤ {MAX_TERMS_SIZE}, default 10) keys,
  trimmed and lower-cased, by count descending then key ascending; an array counts each
  distinct value once per record. `other_count`: records with a value outside the
  returned buckets; `missing_count`: records with none.
* `range` (number and date fields): `ranges` of `gte` (inclusive) and/or `lt`
  (exclusive), answered in request order with the bounds echoed.
* `date_histogram` (date fields): `interval` day, week (from Monday), month or year in
  UTC; buckets keyed by their start date, ascending, empty ones omitted.

Contacts aggregate on their company's fields too (`company_employees_count`). A bad
field, type or option is a 400 naming its path. `cached` is true when the answer came
from the container's result cache (identical query within its TTL, 30 s by default)."""


def visible(result: AggregateResult, query: AggregateQuery, access: FieldAccess) -> AggregateResult:
    """The answer with each bucket key as the caller's plan may see it."""
    answers: dict[str, dict[str, Any]] = {}
    for item in query.aggregations:
        answer = result.aggregations[item.name]
        if "other_count" in answer:  # terms
            buckets = [
                {**bucket, "key": access.key(item.field, bucket["key"])}
                for bucket in answer["buckets"]
            ]
            answer = {**answer, "buckets": buckets}
        answers[item.name] = answer
    return result.model_copy(update={"aggregations": answers})


# The error responses of the aggregate routes (the app adds them when it includes a router).
AGGREGATE_RESPONSES: Responses = {
    **ERROR_RESPONSES,
    403: {"model": ErrorBody, "description": "A field the caller's plan may not use"},
}


def build_aggregate_router(entity: Entity) -> APIRouter:
    read = requires(Scope.READ)
    router = APIRouter(prefix=f"/{entity.value}", tags=[entity.value])

    @router.post(
        "/aggregate",
        summary=f"Aggregate {entity.value} matching a VQL query",
        response_model=AggregateResult,
        **{**read, "description": f"{read['description']}\n\n{DESCRIPTION}"},
    )
    def aggregate(
        body: AggregateRequest,
        conn: ConnDep,
        engine: EngineDep,
        caller: CallerDep,
        access: FieldAccessDep,
    ) -> AggregateResult:
        query = parse_aggregate(body, entity)
        access.check(query.field_uses())
        # Metered per consumer per day (429 `aggregation_calls` past the plan's allowance),
        # cached answers included: the allowance counts calls, not database work.
        get_meter().charge(conn, caller, Metric.AGGREGATION_CALLS, 1)
        result, cached = get_result_cache().fetch(
            ("aggregate", access.plan, engine.name, query),
            lambda: engine.aggregate(conn, query),
        )
        return visible(result, query, access).model_copy(update={"cached": cached})

    return router


contacts_aggregate_router = build_aggregate_router(Entity.CONTACTS)
companies_aggregate_router = build_aggregate_router(Entity.COMPANIES)
