"""Real services for the fault tests: a Redis server, a PostgreSQL cluster, the app under
gunicorn and a Celery worker, each started on 127.0.0.1 in its own process group and
stopped by that group's id (never by name), with bounded waits everywhere.

Every process is started with `start_new_session=True`, so its pid is also the id of a
process group holding it and its children (gunicorn's and Celery's workers); `stop_group`
signals that group and waits for it, then SIGKILLs what is left.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from core.redis_circuit import cache_options

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CELERY = str(Path(sys.executable).with_name("celery"))
PG_BIN = Path("/usr/lib/postgresql/15/bin")
HOST = "127.0.0.1"
# The key the test settings sign JWTs with: the servers use it too, so tokens minted by a
# test are valid for the server it started.
# Production settings refuse the keys that ship with the repository: these are the tests' own.
SECRET_KEY = "faults-only-" + "7Qm2vX9kLp" * 5
JWT_SIGNING_KEY = "faults-jwt-" + "Hs8Wd3Nq" * 5

_handed_out: set[int] = set()


# --- waiting -------------------------------------------------------------------------


def wait_until(condition: Callable[[], object], *, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll `condition` until it returns something truthy (returned); AssertionError after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except Exception:  # a service that is still starting refuses connections
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --- ports ---------------------------------------------------------------------------


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def spare_port() -> int:
    """A free TCP port on 127.0.0.1 below the kernel's ephemeral range (32768+), so no
    outgoing connection takes it meanwhile. Each xdist worker draws from its own slice,
    so two workers never hand out the same port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    low = 20000 + (index % 12) * 1000
    for _ in range(200):
        port = random.randrange(low, low + 1000)  # noqa: S311
        if port not in _handed_out and _port_is_free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port in {low}-{low + 999}")


def port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((HOST, port)) == 0


# --- processes -----------------------------------------------------------------------


def start(args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    """Start `args` in a new session (its pid is its process group id), output to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def stop_group(process: subprocess.Popen, *, grace: float = 5.0) -> None:
    """SIGTERM the process group `process` leads, wait up to `grace` s, then SIGKILL it."""
    if process.poll() is None:
        signal_group(process, signal.SIGCONT)  # a stopped process cannot handle SIGTERM
        signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    signal_group(process, signal.SIGKILL)  # children that outlived their leader
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment for a child process: nothing from the pytest process (whose
    DJANGO_SETTINGS_MODULE is the test settings) but PATH, HOME and the locale."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ") if k in os.environ}
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


def app_env(*, database_url: str, redis_url: str = "", broker_url: str = "", **extra: str) -> dict[str, str]:
    """The production settings, as the image runs them, pointed at the test's services."""
    env = base_env(
        DJANGO_SETTINGS_MODULE="ecommerce.settings.production",
        SECRET_KEY=SECRET_KEY,
        JWT_SIGNING_KEY=JWT_SIGNING_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url,
        LOG_JSON="false",
        LOG_LEVEL="WARNING",
        CACHE_KEY_PREFIX=f"faults-{os.getpid()}",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    env.update(extra)
    return env


# --- Redis ---------------------------------------------------------------------------


def redis_cache_setting(url: str, *, prefix: str, timeout: float = 0.5) -> dict:
    """CACHES for the test process on `url`: the production cache configuration
    (django-redis, short socket timeouts, errors answered as misses), its own key prefix."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
            "OPTIONS": cache_options(url, timeout=timeout),
        }
    }


class RedisServer:
    """`redis-server` without persistence on a port of its own; stop/start keep the port."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or spare_port()
        self.workdir = workdir
        self.log = workdir / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        args += ["--daemonize", "no", "--dir", str(self.workdir)]
        self.process = start(args, env=base_env(), log=self.log, cwd=self.workdir)
        wait_until(lambda: self.ping(), timeout=10, what=f"redis on port {self.port}\n{tail(self.log)}")
        return self

    def ping(self) -> bool:
        import redis

        return redis.Redis(host=HOST, port=self.port, socket_timeout=0.3, socket_connect_timeout=0.3).ping()

    def kill(self) -> None:
        """Redis dies (SIGKILL): its port refuses connections at once."""
        if self.process is not None:
            signal_group(self.process, signal.SIGKILL)
            self.process.wait(timeout=5)
            self.process = None

    def freeze(self) -> None:
        """Redis hangs (SIGSTOP): connections are accepted by the kernel, never answered."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.process = None


# --- PostgreSQL ----------------------------------------------------------------------


def postgres_runner() -> list[str] | None:
    """How to run the PostgreSQL binaries: as `postgres` when we are root (initdb refuses
    root), as ourselves otherwise. None when that is impossible here."""
    if not (PG_BIN / "initdb").is_file():
        return None
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        return None
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return [runuser, "-u", "postgres", "--"]


class PostgresCluster:
    """A throw-away cluster (initdb, trust auth, no fsync) in a temporary folder owned by
    the user that runs it, listening on 127.0.0.1 only (its socket in that folder too)."""

    def __init__(self, port: int | None = None) -> None:
        runner = postgres_runner()
        assert runner is not None, "PostgreSQL binaries unavailable"
        self.runner = runner
        self.port = port or spare_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"faults-pg-{self.port}-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        if runner:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.started = False

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603
            [*self.runner, *args], cwd=self.root, capture_output=True, text=True, timeout=timeout, env=base_env()
        )
        assert result.returncode == 0, f"{args[0]} failed: {result.stdout}\n{result.stderr}\n{tail(self.log)}"
        return result

    def url(self, database: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{database}"

    def init(self) -> PostgresCluster:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        return self

    def clone_from(self, primary: PostgresCluster) -> PostgresCluster:
        """Make this cluster a streaming standby of `primary` instead of init(): a base
        backup with `-R` (standby.signal and the primary_conninfo it replays from); then
        start() it. Needs the primary's default wal_level=replica and replication trust."""
        backup = [str(PG_BIN / "pg_basebackup"), "-h", HOST, "-p", str(primary.port), "-U", "postgres"]
        self._run(*backup, "-D", str(self.data), "-R", "-X", "stream", "-c", "fast")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c fsync=off -c full_page_writes=off"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30", "start"
        )
        self.started = True

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: the server dies at once (as on a crash); clients see their
        connections drop and new ones refused."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")
        self.started = False

    def create_database(self, name: str) -> None:
        self._run(str(PG_BIN / "createdb"), "-h", HOST, "-p", str(self.port), "-U", "postgres", name)

    def destroy(self) -> None:
        if self.started or (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except (AssertionError, subprocess.TimeoutExpired):
                pid_file = self.data / "postmaster.pid"
                with contextlib.suppress(OSError, ValueError, ProcessLookupError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


# --- the app -------------------------------------------------------------------------


class AppServer:
    """The app under gunicorn (gunicorn.conf.py, one worker with four threads)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = spare_port()
        self.env = {
            **env,
            "GUNICORN_BIND": f"{HOST}:{self.port}",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "4",
            "GUNICORN_GRACEFUL_TIMEOUT": "3",
        }
        self.log = workdir / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.http = requests.Session()

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> AppServer:
        args = [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "ecommerce.wsgi:application"]
        self.process = start(args, env=self.env, log=self.log)
        wait_until(self._live, timeout=30, what=f"gunicorn on port {self.port}\n{tail(self.log)}")
        return self

    def _live(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{tail(self.log)}")
        return requests.get(self.base + "/health/live", timeout=1).status_code == 200

    def request(self, method: str, path: str, *, timeout: float = 15, **kwargs) -> tuple[requests.Response, float]:
        """(response, seconds it took)."""
        started = time.perf_counter()
        response = self.http.request(method, self.base + path, timeout=timeout, **kwargs)
        return response, time.perf_counter() - started

    def stop(self) -> None:
        self.http.close()
        if self.process is not None:
            stop_group(self.process)
            self.process = None


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """`manage.py <args>` under `env`; its stdout (AssertionError with the output if it fails)."""
    result = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# --- Celery --------------------------------------------------------------------------


class CeleryWorker:
    """`celery -A ecommerce worker`, without mingle/gossip/heartbeats (faster start)."""

    def __init__(self, env: dict[str, str], workdir: Path, *, name: str, pool: str = "solo", include: str = "") -> None:
        self.env = {**env, "LOG_LEVEL": "INFO"}  # "ready." and "succeeded in" are INFO lines
        self.name = name
        self.pool = pool
        self.include = include
        self.log = workdir / f"celery-{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> CeleryWorker:
        args = [CELERY, "-A", "ecommerce", "worker", f"--pool={self.pool}", "--concurrency=1", "--loglevel=INFO"]
        args += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"{self.name}@%h"]
        if self.include:
            args += ["-I", self.include]
        self.process = start(args, env=self.env, log=self.log)
        wait_until(self._ready, timeout=40, what=f"celery worker {self.name}\n{tail(self.log)}")
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"celery worker exited:\n{tail(self.log)}")
        return " ready." in tail(self.log, 20000)

    def succeeded(self, task_id_prefix: str = "") -> int:
        """Tasks this worker finished (celery.app.trace's "Task <name>[<id>] succeeded")."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return sum(1 for line in text.splitlines() if "] succeeded in " in line and f"[{task_id_prefix}" in line)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once (an OOM kill, a lost node)."""
        if self.process is not None:
            signal_group(self.process, signal.SIGKILL)
            self.process.wait(timeout=5)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, grace=10)
            self.process = None


@contextlib.contextmanager
def running(*services) -> Iterator[None]:
    """Stop every service given (in reverse order) on the way out, whatever happened."""
    try:
        yield
    finally:
        for service in reversed(services):
            with contextlib.suppress(Exception):
                service.stop()
