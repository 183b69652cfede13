"""No Docker engine runs here, so check what can be checked without one: the compose file
parses and wires the services as documented, every variable it sets is read by the
settings and documented in .env.example, the commands it runs exist, and the Dockerfile
keeps its promises (multi-stage, slim 3.11, non-root, collectstatic, healthcheck)."""

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SOURCE = "\n".join(p.read_text() for p in (ROOT / "ecommerce" / "settings").glob("*.py"))
ENV_READ_BY_SETTINGS = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z0-9_]+)\"", SETTINGS_SOURCE))
# Read by something other than settings/*.py: manage.py/wsgi (settings module), the image's
# gunicorn command, Django's createsuperuser --noinput.
ENV_READ_ELSEWHERE = {
    "DJANGO_SETTINGS_MODULE",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "PORT",
    "DJANGO_SUPERUSER_EMAIL",
    "DJANGO_SUPERUSER_PASSWORD",
    "PROMETHEUS_MULTIPROC_DIR",  # read by prometheus_client and gunicorn.conf.py
}


def env_example_names() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_documented_services(compose):
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("db", "redis", "web"):
        assert "healthcheck" in services[name], name


def test_compose_waits_for_healthy_dependencies(compose):
    services = compose["services"]
    for name in ("web", "worker"):
        deps = services[name]["depends_on"]
        assert deps["db"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_every_variable_compose_sets_is_read_and_documented(compose):
    documented = env_example_names()
    for name, service in compose["services"].items():
        if name in ("db", "redis", "rabbitmq", "proxy"):
            continue
        assert service.get("env_file") == ".env", name
        for var in service.get("environment", {}):
            assert var in ENV_READ_BY_SETTINGS | ENV_READ_ELSEWHERE, f"{name} sets {var}, which nothing reads"
            assert var in documented, f"{var} is missing from .env.example"


def test_env_example_documents_every_setting_and_nothing_else():
    documented = env_example_names()
    missing = ENV_READ_BY_SETTINGS - documented
    assert not missing, f"settings read variables not in .env.example: {sorted(missing)}"
    unknown = documented - ENV_READ_BY_SETTINGS - ENV_READ_ELSEWHERE
    assert not unknown, f".env.example lists variables nothing reads: {sorted(unknown)}"
    lines = (ROOT / ".env.example").read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert i > 0 and lines[i - 1].startswith("#"), f"{line.split('=')[0]} has no comment"


def test_readme_configuration_table_lists_every_variable():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in env_example_names() if f"`{name}`" not in readme)
    assert not missing, f"README's configuration table misses: {missing}"


def test_commands_compose_runs_exist(compose):
    services = compose["services"]
    assert services["migrate"]["command"][:3] == ["python", "manage.py", "migrate"]
    assert "migrate" in get_commands()
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "ecommerce"] and command[3] == name
    from ecommerce.celery import app

    assert app.main == "ecommerce"
    from ecommerce.wsgi import application

    assert callable(application)


def test_dockerfile_is_multistage_slim_non_root_with_healthcheck():
    dockerfile = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.M)
    assert len(froms) >= 2 and all(f.startswith("python:3.11-slim") for f in froms)
    assert re.search(r"^USER\s+app\b", dockerfile, flags=re.M)
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r"^HEALTHCHECK .*\n?.*/health/live", dockerfile, flags=re.M)
    assert '"gunicorn", "-c", "gunicorn.conf.py", "ecommerce.wsgi:application"' in dockerfile
    assert "WEB_CONCURRENCY=" in dockerfile and "GUNICORN_THREADS=" in dockerfile


def test_gunicorn_config_loads_and_outlives_a_load_balancer_idle_timeout(monkeypatch):
    """The image, compose and benchmarks all start gunicorn with gunicorn.conf.py; gunicorn
    itself parses it here, and the app it names loads (`--check-config`)."""
    import os
    import subprocess
    import sys

    from gunicorn.config import Config

    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_KEEPALIVE", "PORT"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    config = Config()
    for key, value in namespace.items():
        if key in config.settings:
            config.set(key, value)
    assert config.keepalive > 60  # longer than an AWS ALB's 60 s idle timeout
    from gunicorn.workers.gthread import ThreadWorker

    assert issubclass(config.worker_class, ThreadWorker) and config.threads >= 2
    assert config.max_requests > 0 and config.max_requests_jitter > 0
    assert "x-request-id" in config.access_log_format
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ecommerce.settings.test"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--check-config", "ecommerce.wsgi:application"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for needed in ("requirements.txt", "manage.py"):
        assert (ROOT / needed).is_file()
