"""Settings load in every mode; production refuses to start unsafely and passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env_extra=None, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("mode", ["local", "test"])
def test_mode_loads(mode):
    result = run_manage("check", env_extra={"DJANGO_SETTINGS_MODULE": f"ecommerce.settings.{mode}"})
    assert result.returncode == 0, result.stderr


def test_local_needs_no_service():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.DATABASES['default']['OPTIONS'])",
        env_extra={"DJANGO_SETTINGS_MODULE": "ecommerce.settings.local"},
        drop=("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_BACKEND"),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sqlite3" in out and "LocMemCache" in out and "True" in out and "console" in out
    assert "IMMEDIATE" in out


def test_env_switches_to_postgres_and_redis():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; d=s.DATABASES['default']; print(d['ENGINE'], d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], s.CACHES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER)",
        env_extra={
            "DJANGO_SETTINGS_MODULE": "ecommerce.settings.local",
            "DATABASE_URL": "postgres://u@db.invalid:5432/shop",
            "REDIS_URL": "redis://cache.invalid:6379/0",
            "CELERY_BROKER_URL": "amqp://guest:guest@broker.invalid:5672//",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "django.db.backends.postgresql",
        "60",
        "True",
        "django_redis.cache.RedisCache",
        "False",
    ]


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "ecommerce.settings.production",
    "SECRET_KEY": "prod-" + "k3y!" * 20,
    "JWT_SIGNING_KEY": "jwt-" + "s1gn" * 12,
    "ALLOWED_HOSTS": "shop.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "JWT_SIGNING_KEY", "ALLOWED_HOSTS", "REDIS_URL"])
def test_production_refuses_to_start_without(missing):
    env = dict(PRODUCTION_ENV)
    env.pop(missing)
    result = run_manage("check", env_extra=env, drop=(missing,))
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", "change-me-to-a-long-random-string"),  # .env.example's
        ("SECRET_KEY", "local-dev-only-insecure-key-change-me-0123456789abcdef"),  # local mode's
        ("JWT_SIGNING_KEY", "change-me-jwt-signing-key"),
        ("JWT_SIGNING_KEY", "short-but-random-7Gx"),
        ("JWT_SIGNING_KEY", PRODUCTION_ENV["SECRET_KEY"]),  # the same as SECRET_KEY
    ],
)
def test_production_refuses_placeholder_short_or_shared_keys(name, value):
    result = run_manage("check", env_extra={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_wsgi_and_asgi_default_to_production_settings():
    """A server started without DJANGO_SETTINGS_MODULE must not run on local's public keys."""
    for module in ("wsgi", "asgi"):
        source = (ROOT / "ecommerce" / f"{module}.py").read_text()
        assert 'setdefault("DJANGO_SETTINGS_MODULE", "ecommerce.settings.production")' in source
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY")}
    result = subprocess.run(
        [sys.executable, "-c", "import ecommerce.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "SECRET_KEY must be set in production" in result.stderr


def test_forwarded_proto_is_trusted_only_behind_a_configured_proxy():
    shell = "from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER)"
    alone = run_manage("shell", "-c", shell, env_extra=PRODUCTION_ENV, drop=("TRUSTED_PROXY_COUNT",))
    proxied = run_manage("shell", "-c", shell, env_extra={**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "1"})
    assert alone.stdout.strip().splitlines()[-1] == "None", alone.stderr
    assert "HTTP_X_FORWARDED_PROTO" in proxied.stdout, proxied.stderr


def test_a_spoofed_forwarded_proto_is_redirected_without_a_trusted_proxy():
    code = (
        "from django.test import Client; c = Client(); "
        "print(c.get('/api/v1/products/', HTTP_X_FORWARDED_PROTO='https', HTTP_HOST='shop.example.com').status_code)"
    )
    result = run_manage("shell", "-c", code, env_extra=PRODUCTION_ENV, drop=("TRUSTED_PROXY_COUNT",))
    assert result.stdout.strip().splitlines()[-1] == "301", result.stdout + result.stderr


def test_production_passes_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra=PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_argon2_is_the_default_password_hasher():
    from ecommerce.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert any(h.endswith("PBKDF2PasswordHasher") for h in base.PASSWORD_HASHERS)


PRODUCTION = PRODUCTION_ENV  # production wants a shared cache (REDIS_URL; not contacted by check)


@pytest.mark.parametrize(
    "secret",
    [
        "change-me-webhook-secret",  # the placeholder .env.example ships
        "change-me-webhook-secret-but-longer-than-32-bytes",
        "short-but-real-9f8e7d",  # < 32 bytes
    ],
)
def test_production_refuses_a_weak_webhook_secret(secret):
    result = run_manage("check", env_extra={**PRODUCTION, "PAYMENT_WEBHOOK_SECRET": secret})
    assert result.returncode != 0
    assert "PAYMENT_WEBHOOK_SECRET" in result.stderr


@pytest.mark.parametrize("secret", ["", "whsec_" + "4f1c9a7e" * 5])
def test_production_accepts_no_webhook_secret_or_a_strong_one(secret):
    # Empty: webhooks are off (every delivery is rejected), which is allowed.
    result = run_manage("check", env_extra={**PRODUCTION, "PAYMENT_WEBHOOK_SECRET": secret})
    assert result.returncode == 0, result.stderr
