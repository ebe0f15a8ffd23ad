"""`python -m connectra.local.sweeper`: the local stand-in for the sweeper's schedule.

Runs `connectra.orchestration.sweeper.sweep` every SWEEPER_INTERVAL_SECONDS with the local
launcher: exports and retried imports run here, their chunks in worker processes.
Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from connectra.local.launcher import LocalLauncher
from connectra.local.pipeline import make_executor
from connectra.observability import logger
from connectra.orchestration.sweeper import sweep
from connectra.settings import get_settings

WORKERS = 2


def main() -> int:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal received", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    executor = make_executor(WORKERS)
    launcher = LocalLauncher(executor)
    interval = get_settings().sweeper_interval_seconds
    logger.info("sweeper running", extra={"interval_seconds": interval})
    while not stop.is_set():
        try:
            sweep(launcher)
        except Exception:  # the database may be restarting: try again next round
            logger.exception("sweep failed")
        stop.wait(interval)
    executor.shutdown(wait=False, cancel_futures=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
