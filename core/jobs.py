"""Enqueueing jobs: the one entry point every app uses.

Tasks are enqueued after the surrounding transaction commits (so a worker never sees rows
that were rolled back) and a broker outage never fails the request that enqueued them: the
error is logged and the caller goes on (the periodic jobs and resend endpoints recover).
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args, **kwargs) -> None:
    def _send() -> None:
        try:
            task.delay(*args, **kwargs)
        except Exception:  # broker down: log it, do not fail a committed request
            logger.exception("could not enqueue task %s", getattr(task, "name", task))

    transaction.on_commit(_send)
