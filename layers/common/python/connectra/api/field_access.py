"""What the caller's plan lets a count or aggregation read and see: the one place the
fields a request uses and the bucket keys it returns pass through.

`FieldAccess.check` turns a use of a hidden field into a 403 naming the field and the
request path; `FieldAccess.key` blanks a bucket key of a hidden field. The hidden fields
are the caller's plan's premium fields (connectra.consumers.gating, the one place plans
are decided). The plan also partitions the result cache.
"""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from connectra.api.deps import Caller, CallerDep
from connectra.consumers.gating import gate_for
from connectra.errors import Forbidden
from connectra.models.fields import Entity, Field


@dataclass(frozen=True)
class FieldAccess:
    plan: str
    hidden_fields: frozenset[str] = field(default_factory=frozenset)

    def check(self, uses: Iterable[tuple[str, Field]]) -> None:
        """403 on the first use (request path, field) of a field the plan hides."""
        for path, used in uses:
            if used.name in self.hidden_fields:
                raise Forbidden(
                    f"{path}: the {self.plan!r} plan cannot filter or aggregate on {used.name!r}",
                    {"field": used.name, "path": path, "plan": self.plan},
                )

    def key(self, source: Field, key: str | None) -> str | None:
        """A bucket key as this plan may see it (null for a hidden field)."""
        return None if source.name in self.hidden_fields else key


def get_field_access(caller: CallerDep) -> FieldAccess:
    return access_for(caller)


def access_for(caller: Caller) -> FieldAccess:
    # Both entities' premium names: a contact's company fields carry the `company_` prefix,
    # so the names never collide (contacts have no `phone` of their own).
    gate = gate_for(caller)
    hidden = gate.hidden(Entity.CONTACTS) | gate.hidden(Entity.COMPANIES)
    return FieldAccess(plan=caller.plan.name, hidden_fields=hidden)


FieldAccessDep = Annotated[FieldAccess, Depends(get_field_access)]
