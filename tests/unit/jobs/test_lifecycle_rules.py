"""The job state machine as a table, and the retry back-off."""

from __future__ import annotations

import pytest

from connectra.jobs.lifecycle import (
    MAX_BACKOFF_SECONDS,
    TRANSITIONS,
    backoff_seconds,
    can_transition,
    sources_of,
)
from connectra.jobs.models import FINISHED_STATUSES, JobStatus

S = JobStatus


def test_every_state_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(JobStatus)


def test_ended_jobs_never_move_except_failed_ones_which_retry_or_cancel() -> None:
    for status in FINISHED_STATUSES - {S.FAILED}:
        assert TRANSITIONS[status] == frozenset()
    assert TRANSITIONS[S.FAILED] == {S.RETRY_IN_QUEUE, S.CANCELLED}


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.OPEN, S.IN_QUEUE),
        (S.AWAITING_UPLOAD, S.IN_QUEUE),
        (S.IN_QUEUE, S.PROCESSING),
        (S.PROCESSING, S.COMPLETED_WITH_ERRORS),
        (S.FAILED, S.RETRY_IN_QUEUE),
        (S.RETRY_IN_QUEUE, S.RETRYING),
        (S.RETRYING, S.COMPLETED),
        (S.RETRYING, S.FAILED),
    ],
)
def test_the_documented_path_is_allowed(source: JobStatus, target: JobStatus) -> None:
    assert can_transition(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.OPEN, S.COMPLETED),
        (S.IN_QUEUE, S.RETRYING),
        (S.COMPLETED, S.RETRY_IN_QUEUE),
        (S.CANCELLED, S.IN_QUEUE),
        (S.FAILED, S.PROCESSING),
    ],
)
def test_shortcuts_are_refused(source: JobStatus, target: JobStatus) -> None:
    assert not can_transition(source, target)


def test_sources_of_is_the_inverse_of_the_table() -> None:
    assert sources_of(S.RETRYING) == {S.RETRY_IN_QUEUE}
    assert sources_of(S.CANCELLED) == {
        S.AWAITING_UPLOAD,
        S.OPEN,
        S.IN_QUEUE,
        S.PROCESSING,
        S.FAILED,
        S.RETRY_IN_QUEUE,
        S.RETRYING,
    }


def test_backoff_doubles_with_each_retry_and_is_capped() -> None:
    assert [backoff_seconds(30, n) for n in range(4)] == [30, 60, 120, 240]
    assert backoff_seconds(30, 40) == MAX_BACKOFF_SECONDS
    assert backoff_seconds(0, 5) == 0
