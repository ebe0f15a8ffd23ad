"""From an API key (or API Gateway key id) to the consumer: `API_KEYS`, then the key table.

Locally `API_KEYS` holds keys by value: `{"key": "consumer"}` (every scope, plan
`enterprise`) or `{"key": {"consumer": "alice", "scopes": ["read"], "plan": "free"}}`;
a key not listed there is looked up in the key table by the sha256 of its value. In AWS
the key table is looked up by the API Gateway key id. Table lookups, found or not, are
cached per process (per Lambda container) for `KEY_CACHE_TTL_SECONDS`: a revocation, a
plan or a scope change takes effect within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectra.consumers import key_table
from connectra.consumers.access import ALL_SCOPES, Consumer, Scope, parse_scopes
from connectra.consumers.key_table import KeyRecord
from connectra.consumers.plans import PlanName, get_plan
from connectra.db.pool import connection
from connectra.settings import Settings


class LocalKey(BaseModel):
    """One entry of `API_KEYS`."""

    model_config = ConfigDict(extra="forbid")

    consumer: str = Field(min_length=1, max_length=200)
    scopes: frozenset[Scope] = ALL_SCOPES
    plan: str = PlanName.ENTERPRISE

    @field_validator("scopes", mode="before")
    @classmethod
    def _scopes(cls, value: Any) -> frozenset[Scope]:
        return parse_scopes(value)


def local_keys(settings: Settings) -> dict[str, LocalKey]:
    """`API_KEYS`, both forms, validated (a bad entry fails at startup, naming the key's
    consumer rather than the key)."""
    keys: dict[str, LocalKey] = {}
    for value, entry in settings.api_keys.items():
        keys[value] = (
            LocalKey(consumer=entry) if isinstance(entry, str) else LocalKey.model_validate(entry)
        )
        get_plan(settings, keys[value].plan)  # an unknown plan is a startup error
    return keys


class TtlCache:
    """Key-table answers (including "no such key") for `ttl` seconds, thread-safe."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, KeyRecord | None]] = {}  # key → (loaded, record)
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], KeyRecord | None]) -> KeyRecord | None:
        now = self._clock()
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        record = load()
        with self._lock:
            if len(self._entries) > 10_000:  # bounded: wrong keys must not grow it forever
                self._entries.clear()
            self._entries[key] = (now, record)
        return record


class KeyResolver:
    """Resolves keys to consumers; one per process (see `connectra.api.deps`)."""

    def __init__(self, settings: Settings, cache: TtlCache | None = None) -> None:
        self._settings = settings
        self._local = local_keys(settings)
        self.cache = cache or TtlCache(settings.key_cache_ttl_seconds)

    def by_value(self, value: str) -> Consumer | None:
        """A key sent in X-API-Key (local mode); None when unknown or revoked."""
        local = self._local.get(value)
        if local is not None:
            plan = get_plan(self._settings, local.plan)
            return Consumer(
                key_id=local.consumer, name=local.consumer, plan=plan, scopes=local.scopes
            )
        digest = key_table.key_hash(value)
        return self._consumer(self.cache.get("h:" + digest, lambda: self._load_by_value(value)))

    def by_gateway_key_id(self, key_id: str) -> Consumer | None:
        """The API Gateway key id of an authorized request; None when not in the table."""
        return self._consumer(self.cache.get("i:" + key_id, lambda: self._load_by_id(key_id)))

    def _consumer(self, record: KeyRecord | None) -> Consumer | None:
        if record is None or record.revoked:
            return None
        return Consumer(
            key_id=record.key_id,
            name=record.consumer,
            plan=get_plan(self._settings, record.plan),
            scopes=record.scopes,
        )

    @staticmethod
    def _load_by_value(value: str) -> KeyRecord | None:
        with connection() as conn:
            return key_table.find_by_value(conn, value)

    @staticmethod
    def _load_by_id(key_id: str) -> KeyRecord | None:
        with connection() as conn:
            return key_table.find_by_id(conn, key_id)
