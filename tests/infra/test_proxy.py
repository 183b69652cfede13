"""Several web instances behind nginx (docker-compose.yml, deploy/nginx/nginx.conf). No
Docker engine runs here, so: the compose file's references resolve and `web` can be scaled;
nginx's own `nginx -t` accepts the config; and a real nginx started by the test on a spare
port serves static and media files and proxies to the app under gunicorn."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from tests.faults.services import HOST, base_env, spare_port, start, stop_group, tail, wait_until

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
NGINX_MISSING = "needs the nginx service binary on PATH (apt-get install nginx)"
# What production settings refuse to start without (ecommerce/settings/production.py).
PRODUCTION_REQUIRES = {"SECRET_KEY", "JWT_SIGNING_KEY", "ALLOWED_HOSTS", "REDIS_URL", "DATABASE_URL"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_reference_in_compose_resolves(compose):
    services, volumes = compose["services"], set(compose.get("volumes") or {})
    networks = set(compose.get("networks") or {}) | {"default"}
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for mount in service.get("volumes") or []:
            source = mount.split(":")[0] if isinstance(mount, str) else mount["source"]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing file {source}"
            else:
                assert source in volumes, f"{name} mounts undeclared volume {source}"
        for network in service.get("networks") or []:
            assert network in networks, f"{name} joins unknown network {network}"


def test_web_scales_behind_the_proxy(compose):
    services = compose["services"]
    web, proxy = services["web"], services["proxy"]
    # A fixed host port or container name would make a second instance fail to start.
    assert "ports" not in web and "container_name" not in web
    assert proxy["image"].startswith("nginx:")
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    mounts = {m.split(":")[0]: m.split(":")[1] for m in proxy["volumes"]}
    assert mounts["./deploy/nginx/nginx.conf"] == "/etc/nginx/nginx.conf"
    conf = NGINX_CONF.read_text()
    # The upstream is the web service on gunicorn's port, re-resolved as instances change.
    assert re.search(r"upstream web_app \{[^}]*server web:8000 resolve", conf)
    assert re.search(r"resolver 127\.0\.0\.11", conf)
    assert "proxy_pass http://web_app;" in conf
    # Static files from the collectstatic volume, media from the volume web and worker write.
    assert re.search(rf"location /static/ \{{\s*alias {mounts['static']}/;", conf)
    assert re.search(rf"location /media/ \{{\s*alias {mounts['media']}/;", conf)
    assert "media:/app/media" in web["volumes"] and "media:/app/media" in services["worker"]["volumes"]
    assert "static:/app/staticfiles" in services["collectstatic"]["volumes"]
    assert services["collectstatic"]["command"] == ["python", "manage.py", "collectstatic", "--noinput"]
    assert proxy["depends_on"]["collectstatic"]["condition"] == "service_completed_successfully"


def test_the_app_trusts_exactly_the_one_proxy(compose):
    web = compose["services"]["web"]
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    conf = NGINX_CONF.read_text()
    for header in ("X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme", "X-Forwarded-Host $host"):
        assert f"proxy_set_header {header};" in conf


def test_production_settings_get_what_they_require(compose):
    for name in ("web", "worker", "beat", "migrate", "collectstatic"):
        environment = compose["services"][name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "ecommerce.settings.production"
        missing = PRODUCTION_REQUIRES - set(environment)
        assert not missing, f"{name} lacks {sorted(missing)}"
        # Secrets come from .env; compose stops with a message when one is unset.
        for secret in ("SECRET_KEY", "JWT_SIGNING_KEY", "ALLOWED_HOSTS"):
            assert environment[secret] == f"${{{secret}:?set {secret} in .env}}"


def test_healthchecks_probe_the_health_endpoints(compose):
    services = compose["services"]
    for name in ("web", "proxy"):
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert re.search(r"http://127\.0\.0\.1(:8000)?/health/(live|ready)\b", probe), probe


def nginx_version() -> tuple[int, ...]:
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr  # noqa: S607
    return tuple(int(x) for x in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out).groups())


def render(prefix: Path, *, listen: int = 80, upstream: str = "127.0.0.1:8000") -> Path:
    """The config as it runs in the container, for this machine: the upstream and listen
    port given (the name `web` only resolves on the compose network), the pid, static and
    media paths under `prefix`, and the `resolve` flag dropped on an nginx older than
    1.27.3 (the image pins 1.28, which has it)."""
    conf = NGINX_CONF.read_text()
    conf = conf.replace(
        "server web:8000 resolve", f"server {upstream}" + (" resolve" * (nginx_version() >= (1, 27, 3)))
    )
    conf = conf.replace("pid /var/run/nginx.pid;", f"pid {prefix}/nginx.pid;")
    conf = conf.replace("listen 80 default_server;", f"listen {HOST}:{listen} default_server;")
    conf = conf.replace("alias /srv/static/;", f"alias {prefix}/static/;")
    conf = conf.replace("alias /srv/media/;", f"alias {prefix}/media/;")
    path = prefix / "nginx.conf"
    path.write_text(conf)
    return path


def require_nginx() -> None:
    if shutil.which("nginx") is None:
        pytest.skip(NGINX_MISSING)


def test_nginx_accepts_the_config(tmp_path):
    require_nginx()
    config = render(tmp_path)
    result = subprocess.run(  # noqa: S603
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(config)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@pytest.mark.postgres
def test_nginx_serves_files_and_proxies_to_the_app(tmp_path, shared_database_url):
    require_nginx()
    from tests.faults.services import AppServer, app_env

    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "static" / "css" / "site.3f2a.css").write_text("body{}")
    (tmp_path / "media" / "products").mkdir(parents=True)
    (tmp_path / "media" / "products" / "p.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    env = app_env(database_url=shared_database_url, TRUSTED_PROXY_COUNT="1", CATALOG_CACHE_ENABLED="false")
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # required by production; a down cache is fine here
    app = AppServer(env, tmp_path)
    port = spare_port()
    config = render(tmp_path, listen=port, upstream=f"{HOST}:{app.port}")
    # Run as root here, nginx's workers would be `nobody`, who cannot read pytest's tmp_path.
    args = ["nginx", "-p", str(tmp_path), "-c", str(config), "-g", "daemon off; user root;"]
    nginx = None
    try:
        app.start()
        nginx = start(args, env=base_env(), log=tmp_path / "nginx.log", cwd=tmp_path)
        base = f"http://{HOST}:{port}"
        wait_until(
            lambda: requests.get(base + "/health/live", timeout=1).ok, timeout=10, what=tail(tmp_path / "nginx.log")
        )

        static = requests.get(base + "/static/css/site.3f2a.css", timeout=5)
        assert static.status_code == 200 and static.text == "body{}"
        assert "immutable" in static.headers["Cache-Control"]
        media = requests.get(base + "/media/products/p.png", timeout=5)
        assert media.status_code == 200 and media.headers["Content-Type"] == "image/png"
        assert (
            media.headers["X-Content-Type-Options"] == "nosniff"
            and "sandbox" in media.headers["Content-Security-Policy"]
        )

        api = requests.get(base + "/api/v1/products/", headers={"X-Request-ID": "via-proxy-1"}, timeout=10)
        assert api.status_code == 200, api.text
        assert api.headers["X-Request-ID"] == "via-proxy-1"
        assert requests.get(base + "/health/ready", timeout=10).json()["checks"]["database"]["status"] == "ok"
        # nginx gave a request without an id one of its own, which the app kept.
        generated = requests.get(base + "/health/live", timeout=5).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated), generated

        # No instance answering: the API's JSON error, not nginx's HTML page.
        app.stop()
        down = requests.get(base + "/api/v1/products/", timeout=10)
        assert down.status_code == 503 and down.headers["Content-Type"] == "application/json"
        assert down.json()["errors"][0]["code"] == "service_unavailable"
        too_large = requests.post(base + "/api/v1/orders/", data=b"x" * (26 * 1024 * 1024), timeout=30)
        assert too_large.status_code == 413 and too_large.json()["errors"][0]["code"] == "request_too_large"
    finally:
        if nginx is not None:
            stop_group(nginx)
        app.stop()
