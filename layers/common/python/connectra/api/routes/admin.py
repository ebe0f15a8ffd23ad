"""`GET /admin/keys` and `GET /admin/usage`: who may call, and what they used (admin scope)."""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from connectra.api.deps import ConnDep, SettingsDep, get_meter, requires
from connectra.consumers import key_table
from connectra.consumers.access import Scope
from connectra.consumers.keys import local_keys

router = APIRouter(prefix="/admin", tags=["admin"])


class KeyView(BaseModel):
    """A key without its value: local `API_KEYS` entries have no id (source `settings`)."""

    key_id: str | None
    name: str
    consumer: str
    plan: str
    scopes: list[str]
    source: str
    revoked: bool = False
    created_at: datetime | None = None


class KeyList(BaseModel):
    data: list[KeyView]


class UsageRow(BaseModel):
    consumer: str
    metric: str
    amount: int


class UsageReport(BaseModel):
    day: date
    data: list[UsageRow]


@router.get("/keys", summary="The API keys (never their values)", **requires(Scope.ADMIN))
def list_keys(conn: ConnDep, settings: SettingsDep) -> KeyList:
    views = [
        KeyView(
            key_id=None,
            name=entry.consumer,
            consumer=entry.consumer,
            plan=entry.plan,
            scopes=sorted(scope.value for scope in entry.scopes),
            source="settings",
        )
        for entry in local_keys(settings).values()
    ]
    views.extend(
        KeyView(
            key_id=record.key_id,
            name=record.name,
            consumer=record.consumer,
            plan=record.plan,
            scopes=sorted(scope.value for scope in record.scopes),
            source="key_table",
            revoked=record.revoked,
            created_at=record.created_at,
        )
        for record in key_table.list_keys(conn)
    )
    return KeyList(data=views)


@router.get(
    "/usage",
    summary="Metered operations per consumer for one UTC day (default today)",
    **requires(Scope.ADMIN),
)
def usage(conn: ConnDep, day: date | None = None) -> UsageReport:
    meter = get_meter()
    chosen = day or meter.today()
    rows = meter.usage(conn, chosen)
    return UsageReport(day=chosen, data=[UsageRow.model_validate(row) for row in rows])
