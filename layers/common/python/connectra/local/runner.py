"""`python -m connectra.local.runner`: the local stand-in for EventBridge + Step Functions.

Polls the local bucket's `uploads/` prefix (moto server at S3_ENDPOINT_URL); for each new
object it builds the EventBridge "Object Created" event S3 would send and hands it to the
same start logic as functions/ingest_chunk/start.py. The launcher runs the import's steps
(plan → parallel counts → boundaries → parallel chunks → finalize) with `--workers`
processes. Runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from connectra.local.launcher import LocalLauncher
from connectra.local.pipeline import make_executor
from connectra.observability import logger
from connectra.orchestration.start import handle_object_created
from connectra.settings import get_settings
from connectra.storage.s3 import ObjectInfo, get_store

MAX_CONCURRENT_JOBS = 4


def object_created_event(info: ObjectInfo, region: str) -> dict[str, Any]:
    """The EventBridge event S3 sends for a new object (the shape of events/)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{info.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": info.bucket},
            "object": {"key": info.key, "size": info.size, "etag": info.etag},
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": "000000000000",
            "reason": "PostObject",
        },
    }


class Runner:
    def __init__(self, workers: int, interval: float) -> None:
        self.interval = interval
        self.stop = threading.Event()
        self.workers = make_executor(workers)
        self.job_threads = ThreadPoolExecutor(MAX_CONCURRENT_JOBS, thread_name_prefix="import")
        self.launcher = LocalLauncher(self.workers, self.job_threads)
        self.seen: set[tuple[str, str]] = set()

    def poll_once(self) -> int:
        """Emit an event for every object not seen yet; returns how many were emitted."""
        settings = get_settings()
        emitted = 0
        for info in get_store().list_objects(settings.s3_bucket, settings.upload_prefix + "/"):
            if (info.key, info.etag) in self.seen:
                continue
            self.seen.add((info.key, info.etag))
            event = S3EventNotificationEventBridgeModel.model_validate(
                object_created_event(info, settings.aws_region)
            )
            outcome = handle_object_created(event, self.launcher)
            logger.info(
                "upload seen",
                extra={"key": info.key, "accepted": outcome.accepted, "reason": outcome.reason},
            )
            emitted += 1
        return emitted

    def run_forever(self) -> None:
        settings = get_settings()
        logger.info(
            "runner watching",
            extra={"bucket": settings.s3_bucket, "prefix": settings.upload_prefix + "/"},
        )
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception:  # S3 or the database may be restarting: keep watching
                logger.exception("poll failed")
            self.stop.wait(self.interval)
        logger.info("runner stopping")
        self.job_threads.shutdown(wait=False, cancel_futures=True)
        self.workers.shutdown(wait=False, cancel_futures=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    args = parser.parse_args(argv)
    runner = Runner(args.workers, args.interval)

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal received", extra={"signal": signum})
        runner.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
