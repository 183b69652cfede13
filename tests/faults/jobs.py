"""A test-only Celery task for the worker-crash test (loaded into the worker with `-I`).
Each run leaves a `start-<pid>-<ns>` file, and a `done-<pid>` file when it finishes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import shared_task

SLOW_JOB = "tests.faults.slow_job"


@shared_task(name=SLOW_JOB)
def slow_job(marker_dir: str, seconds: float) -> None:
    Path(marker_dir, f"start-{os.getpid()}-{time.time_ns()}").touch()
    time.sleep(seconds)
    Path(marker_dir, f"done-{os.getpid()}").touch()
