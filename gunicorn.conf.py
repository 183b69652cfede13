"""gunicorn settings, used by the image, docker-compose.yml and the benchmarks
(`gunicorn -c gunicorn.conf.py ecommerce.wsgi:application`). Every value can be set from
the environment; the defaults suit a 2-core host behind a load balancer.
See docs/operations.md, "gunicorn"."""

import glob
import os
import shutil
import tempfile


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 4)
# Threads need the gthread worker; with one thread the sync worker is leaner. The gthread
# worker used is gunicorn's own with a thread pool that times how long each request queued,
# so that past capacity a request is answered 503 at once rather than late
# (LOAD_SHED_QUEUE_MS; docs/operations.md, "Load shedding").
worker_class = os.environ.get(
    "GUNICORN_WORKER_CLASS", "ecommerce.gunicorn_worker.QueueTimingThreadWorker" if threads > 1 else "sync"
)
# Connections one gthread worker holds open (idle keep-alive ones included).
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000)
# Longer than any load balancer's idle timeout in front (AWS ALB 60 s, nginx 75 s): the
# balancer, not gunicorn, closes idle connections, so no request is sent on a connection
# the server is closing at that instant (gunicorn's default of 2 s reset 5.5% of requests
# under load). Only the gthread worker keeps connections alive.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Pending connections the kernel queues while every thread is busy.
backlog = _int("GUNICORN_BACKLOG", 2048)
# Recycle workers now and then (a leak cannot grow forever), staggered by the jitter so
# that they do not all restart at once. Rarely, though: a recycling worker closes its idle
# kept-alive connections 2 s after it stops, and under load a request sent on one at that
# instant is lost (the client sees the connection closed without an answer; clients retry
# a GET on a new connection, never a POST). At 2000 requests each worker recycled about
# once a minute under the 400-shopper load test and lost a few cart and order POSTs per
# minute; at 20000 a worker serving 40 requests/s recycles every ~8 minutes.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)
# A request stuck longer than this kills its worker; on SIGTERM, in-flight requests get
# graceful_timeout seconds to finish.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Load the app once in the master, then fork: workers share its memory and start warm.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() == "true"
# The worker heartbeat file in memory, not on a possibly slow container overlay disk.
# (gunicorn's own advice for containers; the file holds no data.)
if os.path.isdir("/dev/shm"):  # noqa: S108 - heartbeat file only  # nosec B108
    worker_tmp_dir = "/dev/shm"  # noqa: S108 - heartbeat file only  # nosec B108

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Client, request line, status, size, duration in microseconds, and the request id that
# the app puts on every response and log line (X-Request-ID).
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(D)sus rid=%({x-request-id}o)s ua="%(a)s"'
# Trust X-Forwarded-* only from these addresses (the proxy in docker-compose.yml).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def pre_fork(server, worker):
    """With DB_POOL and preload_app, a connection pool that the master opened while loading
    the app would be copied into every worker, its connections and threads with it, and
    neither survives a fork: close it in the master first (workers open their own)."""
    import sys

    if "django.db" not in sys.modules:
        return
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        pool = getattr(type(conn), "_connection_pools", {}).get(conn.alias)
        if pool is not None and not pool.closed:
            conn.close()
            conn.close_pool()


# Prometheus metrics of all workers (prometheus_client's multiprocess mode, core/metrics.py):
# each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR and /metrics, served by
# any worker, adds them up. Set here, before the app (and prometheus_client) is imported.
# One directory per gunicorn instance; without one, a fresh temporary directory.
_metrics_dir_made = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir_made:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ecommerce-metrics-")


def on_starting(server):
    # Values a previous run of this instance left behind would be added to this one's. (The
    # preloaded master's own files go too: it serves no request, and workers write their own.)
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def on_exit(server):
    if _metrics_dir_made:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server, worker):
    # A dead worker's counters keep counting in the totals; its live gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
