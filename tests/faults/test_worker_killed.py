"""A worker killed in the middle of a job (API.md, "Faults": it is run again), with real
prefork Celery workers on a Redis broker. The settings ack late and reject a job whose
worker process was lost:

- the pool's child is SIGKILLed (the task's own process dies, the worker survives): the
  worker requeues the job at once and a new child runs it to the end;
- the whole worker is SIGKILLed (OOM kill, lost host): nothing is left to requeue it, so the
  job waits in the broker's unacked set until its visibility timeout
  (CELERY_VISIBILITY_TIMEOUT, an hour by default; 2 s here) and is delivered again by the
  next worker that starts after that.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from celery import Celery

from tests.faults.jobs import SLOW_JOB
from tests.faults.services import ROOT, CeleryWorker, app_env, running, wait_until

pytestmark = pytest.mark.faults

JOB_SECONDS = 1.5
VISIBILITY_TIMEOUT = 2


def markers(folder, kind: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(kind + "-"))


def test_a_job_whose_worker_is_killed_runs_again(redis_server, workdir):
    env = app_env(
        database_url=f"sqlite:///{workdir / 'unused.sqlite3'}",  # the job uses no database
        redis_url=redis_server.url(0),
        broker_url=redis_server.url(1),
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        PYTHONPATH=str(ROOT),  # for -I tests.faults.jobs
    )
    first = CeleryWorker(env, workdir, name="first", pool="prefork", include="tests.faults.jobs")
    second = CeleryWorker(env, workdir, name="second", pool="prefork", include="tests.faults.jobs")
    # Not the process's current app: a Celery() made current would take over every task of
    # the tests after this one in the same process (eager off, this broker, gone by then).
    client = Celery(broker=redis_server.url(1), set_as_current=False)
    with running(first, second), client:
        first.start()

        # 1. The child running the job is killed; the worker lives on.
        child_killed = workdir / "child-killed"
        child_killed.mkdir()
        client.send_task(SLOW_JOB, args=[str(child_killed), JOB_SECONDS])
        started = wait_until(lambda: markers(child_killed, "start"), timeout=20, what="the job to start")
        os.kill(int(started[0].split("-")[1]), signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: markers(child_killed, "done"), timeout=20, what="the job to run again\n" + first.log.name)
        print(f"child killed: the job ran again and finished {time.monotonic() - killed_at:.2f} s later")
        assert len(markers(child_killed, "start")) == 2 and len(markers(child_killed, "done")) == 1

        # 2. The whole worker is killed mid-job; a worker started later runs the job.
        worker_killed = workdir / "worker-killed"
        worker_killed.mkdir()
        client.send_task(SLOW_JOB, args=[str(worker_killed), JOB_SECONDS])
        wait_until(lambda: markers(worker_killed, "start"), timeout=20, what="the job to start")
        first.kill()
        killed_at = time.monotonic()
        time.sleep(VISIBILITY_TIMEOUT + 0.5)  # the next worker restores what is older than it
        assert markers(worker_killed, "done") == []
        second.start()
        wait_until(lambda: markers(worker_killed, "done"), timeout=20, what="the new worker to run the job")
        print(f"worker killed: a new worker finished the job {time.monotonic() - killed_at:.2f} s after the kill")
        assert len(markers(worker_killed, "start")) == 2 and len(markers(worker_killed, "done")) == 1
    from celery import current_app

    assert current_app.main == "ecommerce" and current_app.conf.task_always_eager  # the tests' own app still
