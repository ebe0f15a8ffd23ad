"""A per-container cache of count and aggregation answers.

Keyed by (plan, operation, engine, entity, normalized query): the parsed AST, whose
values are already normalized (keywords lower-cased and deduplicated, text folded,
bounds parsed), so two spellings of one query share an entry; the plan is part of the
key because what a plan may see shapes the answer. Entries live `ttl_seconds` (a
count may lag a write by that much: SPEC §12 allows it, the response says `cached`),
at most `max_entries` of them (least recently used evicted first). A TTL of 0 turns the
cache off (the test suite runs that way). Thread-safe: FastAPI runs sync routes in a
thread pool. Two identical misses at once both compute; the later one's answer stays.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any, TypeVar

from connectra.settings import get_settings

T = TypeVar("T")


class ResultCache:
    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0 and self.max_entries > 0

    def fetch(self, key: Hashable, compute: Callable[[], T]) -> tuple[T, bool]:
        """(answer, cached): the live entry for `key`, or `compute()` stored under it."""
        if not self.enabled:
            return compute(), False
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                return entry[1], True
        value = compute()
        with self._lock:
            self._entries[key] = (self.clock() + self.ttl_seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value, False

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@lru_cache(maxsize=1)
def get_result_cache() -> ResultCache:
    settings = get_settings()
    return ResultCache(settings.result_cache_ttl_seconds, settings.result_cache_max_entries)
