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


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing):
    env = {
        "DJANGO_SETTINGS_MODULE": "ecommerce.settings.production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "shop.example.com",
    }
    env.pop(missing)
    result = run_manage("check", env_extra=env, drop=(missing,))
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_passes_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={
            "DJANGO_SETTINGS_MODULE": "ecommerce.settings.production",
            "SECRET_KEY": "prod-" + "k3y!" * 20,
            "ALLOWED_HOSTS": "shop.example.com",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_argon2_is_the_default_password_hasher():
    from ecommerce.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert any(h.endswith("PBKDF2PasswordHasher") for h in base.PASSWORD_HASHERS)


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "ecommerce.settings.production",
    "SECRET_KEY": "prod-" + "k3y!" * 20,
    "ALLOWED_HOSTS": "shop.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/0",  # production wants a shared cache (not contacted by check)
}


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
