"""One Logger, Tracer and Metrics for the whole service (Powertools).

The Tracer is built on the first invocation, not at import: building it imports
aws_xray_sdk (about 100 ms), which the API's cold import would otherwise pay before it can
answer anything. Handlers decorate with `tracer.capture_lambda_handler` as usual.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "connectra"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Connectra", service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def bind_job(job_id: object) -> None:
    """Every log line of this invocation names its job. Per thread: the local runner
    runs several jobs' steps in threads of one process."""
    logger.thread_safe_append_keys(job_id=str(job_id))


@functools.lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    return Tracer(service=SERVICE)


class DeferredTracer:
    """The service's Tracer, built when a handler first runs; anything else is delegated."""

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        traced: Callable[..., Any] | None = None

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = get_tracer().capture_lambda_handler(handler)
            return traced(event, context)

        return wrapper  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        return getattr(get_tracer(), name)


tracer = DeferredTracer()
