"""Expensive operations metered per consumer per UTC day, in PostgreSQL (`consumer_usage`).

Counting in the database makes a plan's daily allowance hold across processes and Lambda
containers. `charge` adds an amount and refuses it (nothing recorded) when it would take
the day's total over the plan's allowance: a 429 naming the metric, with `Retry-After`
until the next UTC midnight.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import Connection
from psycopg.rows import dict_row

from connectra.consumers.access import Consumer
from connectra.consumers.limiter import DAY_SECONDS
from connectra.consumers.plans import Metric
from connectra.errors import RateLimited

_CHARGE = """
INSERT INTO consumer_usage (consumer, day, metric, amount) VALUES (%s, %s, %s, %s)
ON CONFLICT (consumer, day, metric) DO UPDATE SET amount = consumer_usage.amount + EXCLUDED.amount
RETURNING amount
"""


class _OverAllowance(psycopg.Rollback):
    pass


class UsageMeter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def charge(self, conn: Connection[Any], consumer: Consumer, metric: Metric, amount: int) -> int:
        """Record `amount` of `metric` for today; the day's new total. Raises RateLimited
        (and records nothing) when the plan's allowance would be exceeded."""
        allowance = consumer.plan.allowance(metric)
        total = 0
        with conn.transaction():
            params = (consumer.name, self.today(), metric.value, amount)
            row = conn.execute(_CHARGE, params).fetchone()
            total = int(row["amount"] if isinstance(row, dict) else row[0]) if row else 0
            if allowance is not None and total > allowance:
                raise _OverAllowance()
        if allowance is not None and total > allowance:
            self._refuse(consumer, metric, amount, total - amount, allowance)
        return total

    def record(
        self, conn: Connection[Any], consumer_name: str, metric: Metric, amount: int
    ) -> None:
        """Add `amount` without checking an allowance (it was bounded before, e.g. by the
        size limit of an upload's presigned POST)."""
        conn.execute(_CHARGE, (consumer_name, self.today(), metric.value, amount))

    def used(self, conn: Connection[Any], consumer_name: str, metric: Metric) -> int:
        row = conn.execute(
            "SELECT amount FROM consumer_usage WHERE consumer = %s AND day = %s AND metric = %s",
            (consumer_name, self.today(), metric.value),
        ).fetchone()
        return int(row["amount"] if isinstance(row, dict) else row[0]) if row else 0

    def remaining(self, conn: Connection[Any], consumer: Consumer, metric: Metric) -> int | None:
        allowance = consumer.plan.allowance(metric)
        if allowance is None:
            return None
        return max(0, allowance - self.used(conn, consumer.name, metric))

    def usage(self, conn: Connection[Any], day: date | None = None) -> list[dict[str, Any]]:
        """Every consumer's metered amounts of one day (today by default)."""
        cursor = conn.cursor(row_factory=dict_row)
        rows = cursor.execute(
            "SELECT consumer, metric, amount FROM consumer_usage WHERE day = %s "
            "ORDER BY consumer, metric",
            (day or self.today(),),
        ).fetchall()
        return list(rows)

    def seconds_to_midnight(self) -> int:
        now = self.clock()
        return max(1, math.ceil(DAY_SECONDS - now % DAY_SECONDS))

    def _refuse(
        self, consumer: Consumer, metric: Metric, amount: int, used: int, allowance: int
    ) -> None:
        retry_after = self.seconds_to_midnight()
        raise RateLimited(
            f"the {consumer.plan.name} plan allows {allowance} {metric.value} a day; "
            f"{used} used today, this request needs {amount}",
            {
                "level": metric.value,
                "limit": allowance,
                "used": used,
                "requested": amount,
                "retry_after_seconds": retry_after,
                "headers": {"Retry-After": str(retry_after)},
            },
        )


def record_uploaded_bytes(conn: Connection[Any], job_data: dict[str, Any], size: int) -> None:
    """An upload arrived for a job: its bytes count for the consumer that asked for the
    upload URL (recorded in the job's `data` by `GET /common/upload-url`)."""
    consumer = (job_data or {}).get("consumer")
    if consumer and size > 0:
        UsageMeter().record(conn, str(consumer), Metric.IMPORT_BYTES, size)
