"""Plan-based field gating: the one place that decides what a plan may see and query.

On a plan without premium fields (free):
* every record in a response or an export file has its premium fields null, including
  the populated `company` of a contact and `company_<premium>` export columns;
* a filter, sort or aggregation on a premium field is a 403 naming the field;
* an aggregation bucket keyed by a premium field's value has a null key.

Call sites: `gate_for(consumer)` then `check_query` / `check_fields` before running a
request, `blank_rows` / `blank_row` on what goes out, `bucket_key` for aggregation keys,
and `export_redactions` for an export job's file (`redact_rows` applies them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from connectra.consumers.access import Consumer
from connectra.consumers.plans import PREMIUM_FIELDS, PlanSettings, premium_fields
from connectra.errors import Forbidden
from connectra.models.fields import COMPANY_PREFIX, Entity
from connectra.vql.ast import Query

_TIE_BREAK = "uuid"


@dataclass(frozen=True)
class PlanGate:
    plan: PlanSettings

    def hidden(self, entity: Entity) -> frozenset[str]:
        """Field names this plan may not see or query (`company_phone` for contacts too)."""
        return frozenset() if self.plan.premium_fields else premium_fields(entity)

    def check_fields(self, entity: Entity, names: Iterable[str], purpose: str = "filter") -> None:
        """403 naming the first premium field among `names` (`purpose`: filter, sort or
        aggregate, for the message)."""
        hidden = self.hidden(entity)
        for name in names:
            if name in hidden:
                raise Forbidden(
                    f"{name}: the {self.plan.name} plan cannot {purpose} on the premium field "
                    f"{name!r}; upgrade the plan to use it",
                    {"field": name, "plan": self.plan.name, "purpose": purpose},
                )

    def check_query(self, query: Query) -> None:
        """A VQL query may neither filter nor sort on a premium field."""
        self.check_fields(query.entity, (field.name for field in query.filter.fields), "filter")
        sort = [key.field.name for key in query.sort if key.field.name != _TIE_BREAK]
        self.check_fields(query.entity, sort, "sort")

    def blank_row(self, entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
        if self.plan.premium_fields:
            return row
        return redact_row(row, self.hidden(entity))

    def blank_rows(self, entity: Entity, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.blank_row(entity, row) for row in rows]

    def bucket_key(self, entity: Entity, field: str, key: Any) -> Any:
        """An aggregation bucket's key, or None when `field` is premium on this plan."""
        return None if field in self.hidden(entity) else key

    def export_redactions(self, entity: Entity, header: Iterable[str]) -> list[str]:
        """The columns of an export's header that this plan gets empty."""
        hidden = self.hidden(entity)
        return [column for column in header if column in hidden]


def gate_for(consumer: Consumer) -> PlanGate:
    return PlanGate(consumer.plan)


def redact_row(row: dict[str, Any], columns: Iterable[str]) -> dict[str, Any]:
    """`row` with `columns` null where present: a contact's `company_x` column, or the `x`
    of its populated `company` object, counts as `company_x`."""
    names = set(columns)
    if not names:
        return row
    redacted = {key: (None if key in names else value) for key, value in row.items()}
    company = row.get("company")
    if isinstance(company, dict):
        company_hidden = {
            name[len(COMPANY_PREFIX) :] for name in names if name.startswith(COMPANY_PREFIX)
        }
        if company_hidden:
            redacted["company"] = {
                key: (None if key in company_hidden else value) for key, value in company.items()
            }
    return redacted


def redact_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    return [redact_row(row, columns) for row in rows] if columns else list(rows)


__all__ = ["PREMIUM_FIELDS", "PlanGate", "gate_for", "redact_row", "redact_rows"]
