"""Stacked rate limits shared by every API process, counted in PostgreSQL.

Each level (`second`, `minute`, `day`) is a fixed window per subject, one row per
(subject, level) in `rate_limit_windows`. A request increments every level in one
statement inside a transaction; when any level is then over its limit the transaction
rolls back (a refused request costs nothing) and the answer names the exhausted level.
The row locks serialize concurrent requests of one subject, so processes can never
admit more than the limit between them (D7: a per-process bucket did).

Failed authentication is a level of its own, per client address: after
`AUTH_FAILURES_PER_MINUTE` wrong or missing keys in a minute the address gets 429s,
valid key or not, until the window ends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import Connection

from connectra.consumers.plans import PlanSettings

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Level:
    name: str
    window_seconds: int
    limit: int

    def window_start(self, now: float) -> float:
        return now - (now % self.window_seconds)


def plan_levels(plan: PlanSettings) -> tuple[Level, ...]:
    return (
        Level("second", 1, plan.per_second),
        Level("minute", 60, plan.per_minute),
        Level("day", DAY_SECONDS, plan.per_day),
    )


@dataclass(frozen=True)
class LevelState:
    level: Level
    hits: int
    reset_seconds: int  # until the window ends
    exhausted: bool  # this level refuses the request

    @property
    def remaining(self) -> int:
        return max(0, self.level.limit - self.hits)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    states: tuple[LevelState, ...]

    @property
    def tightest(self) -> LevelState:
        """The level the headers describe: fewest requests left, then the longest wait."""
        return min(self.states, key=lambda state: (state.remaining, -state.reset_seconds))

    @property
    def exhausted_level(self) -> LevelState | None:
        """Of the exhausted levels, the one that blocks longest."""
        exhausted = [state for state in self.states if state.exhausted]
        return max(exhausted, key=lambda state: state.reset_seconds) if exhausted else None

    @property
    def retry_after_seconds(self) -> int:
        blocking = self.exhausted_level
        return max(1, blocking.reset_seconds) if blocking else 0

    def headers(self) -> dict[str, str]:
        shown = self.exhausted_level or self.tightest
        headers = {
            "X-RateLimit-Limit": str(shown.level.limit),
            "X-RateLimit-Remaining": str(0 if shown.exhausted else shown.remaining),
            "X-RateLimit-Reset": str(max(1, shown.reset_seconds)),
            "X-RateLimit-Level": shown.level.name,
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers


_COUNT = """
INSERT INTO rate_limit_windows AS w (subject, level, window_start, hits)
SELECT %s, level, window_start, 1
FROM unnest(%s::text[], %s::timestamptz[]) WITH ORDINALITY AS t(level, window_start, n)
ORDER BY n
ON CONFLICT (subject, level) DO UPDATE SET
    hits = CASE WHEN EXCLUDED.window_start > w.window_start THEN 1 ELSE w.hits + 1 END,
    window_start = GREATEST(EXCLUDED.window_start, w.window_start)
RETURNING level, hits
"""

_PEEK = "SELECT hits, window_start FROM rate_limit_windows WHERE subject = %s AND level = %s"


class _Refused(psycopg.Rollback):
    """Rolls the counting transaction back: a refused request is not counted."""


class SharedLimiter:
    """Counts requests in PostgreSQL. `clock` is epoch seconds (tests freeze it)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def take(
        self,
        conn: Connection[Any],
        subject: str,
        levels: Sequence[Level],
        *,
        count_refused: bool = False,
    ) -> Decision:
        """Count one request against every level; a refused request is rolled back unless
        `count_refused` (failed authentications count even when refused)."""
        now = self.clock()
        starts = [datetime.fromtimestamp(level.window_start(now), UTC) for level in levels]
        decision = Decision(allowed=True, states=())
        with conn.transaction():
            rows = conn.execute(
                _COUNT, (subject, [level.name for level in levels], starts)
            ).fetchall()
            hits = {_value(row, 0, "level"): int(_value(row, 1, "hits")) for row in rows}
            decision = self._decide(levels, hits, now)
            if not decision.allowed and not count_refused:
                raise _Refused()
        return decision

    def peek(self, conn: Connection[Any], subject: str, level: Level) -> Decision:
        """The level's state without counting a request."""
        now = self.clock()
        row = conn.execute(_PEEK, (subject, level.name)).fetchone()
        start = level.window_start(now)
        hits = 0
        if row is not None and _value(row, 1, "window_start").timestamp() >= start:
            hits = int(_value(row, 0, "hits"))
        # A full window refuses what comes next: no further request may pass it.
        state = LevelState(level, hits, _reset(level, now), exhausted=hits >= level.limit)
        return Decision(allowed=not state.exhausted, states=(state,))

    @staticmethod
    def _decide(levels: Sequence[Level], hits: dict[str, int], now: float) -> Decision:
        states = tuple(
            LevelState(
                level,
                hits[level.name],
                _reset(level, now),
                exhausted=hits[level.name] > level.limit,
            )
            for level in levels
        )
        return Decision(allowed=not any(state.exhausted for state in states), states=states)


def _reset(level: Level, now: float) -> int:
    return math.ceil(level.window_start(now) + level.window_seconds - now)


def _value(row: Any, index: int, name: str) -> Any:
    return row[name] if isinstance(row, dict) else row[index]
