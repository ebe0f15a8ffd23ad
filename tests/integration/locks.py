"""Waiting for one PostgreSQL backend to block on a lock another one holds.

A test that races two transactions must know the second is really waiting on the
first's lock before it lets the first commit; "some backend waits on a lock" could be
another xdist worker's, and "the thread is still alive after a while" proves nothing.
`pg_blocking_pids` names exactly who blocks whom.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

POLL_SECONDS = 0.02


def wait_until_blocked_by(
    url: str, waiter_pid: int, holder_pid: int, thread: threading.Thread, timeout: float = 15
) -> None:
    """Until backend `waiter_pid` waits on a lock of `holder_pid`; fails the test if
    `thread` (the waiter's) ends first or the timeout passes."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as probe:
        while time.monotonic() < deadline:
            row = probe.execute("SELECT %s = ANY(pg_blocking_pids(%s))", (holder_pid, waiter_pid))
            blocked = row.fetchone()
            if blocked and blocked[0]:
                return
            if not thread.is_alive():
                pytest.fail("the racing transaction ended without waiting for the lock holder")
            time.sleep(POLL_SECONDS)  # polling an observed condition, bounded by the deadline
    pytest.fail(f"backend {waiter_pid} never waited on a lock of backend {holder_pid}")
