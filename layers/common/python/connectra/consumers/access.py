"""Who is calling and what they may do: scopes and the consumer behind an API key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from connectra.consumers.plans import PlanSettings
from connectra.errors import Forbidden


class Scope(StrEnum):
    """`read`: search, count, aggregate, filters, exports. `write`: create, update, delete,
    upsert, bulk, uploads and imports. `admin`: keys, usage, reindex, reconcile."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


ALL_SCOPES: frozenset[Scope] = frozenset(Scope)


def parse_scopes(values: object) -> frozenset[Scope]:
    """`["read", "write"]` or `"read,write"` → scopes; unknown names are a ValueError."""
    items = values.split(",") if isinstance(values, str) else values
    if not isinstance(items, list | tuple | set | frozenset):
        raise ValueError("scopes: expected a list such as ['read', 'write']")
    names = [str(item).strip().lower() for item in items if str(item).strip()]
    unknown = sorted(set(names) - {scope.value for scope in Scope})
    if unknown:
        raise ValueError(f"scopes: unknown {unknown}; scopes are read, write, admin")
    return frozenset(Scope(name) for name in names)


@dataclass(frozen=True)
class Consumer:
    """The caller. `key_id` owns jobs (locally the consumer name, in AWS the API Gateway
    key id); `name` is the consumer usage is metered for."""

    key_id: str
    name: str
    plan: PlanSettings
    scopes: frozenset[Scope]

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(
                f"this API key lacks the {scope.value!r} scope",
                {"scope": scope.value, "granted": sorted(s.value for s in self.scopes)},
            )
