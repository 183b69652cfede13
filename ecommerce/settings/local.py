"""The embedded default: runs from a fresh clone with no external service.

SQLite, local-memory cache, Celery eager, console email, unless DATABASE_URL / REDIS_URL /
CELERY_BROKER_URL / EMAIL_BACKEND say otherwise.
"""

from .base import *  # noqa: F403
from .base import CACHES, SILENCED_SYSTEM_CHECKS, SIMPLE_JWT, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-dev-only-insecure-key-change-me-0123456789abcdef")
SIMPLE_JWT["SIGNING_KEY"] = env("JWT_SIGNING_KEY", default="local-dev-only-jwt-signing-key-change-me-0123456789abcdef")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=["http://localhost:3000"])
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)  # `make run` shows the demo images

if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # One `runserver` process: its local-memory cache IS shared by every request it serves,
    # which is all django-ratelimit needs here. Multi-process deployments set REDIS_URL.
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "django_ratelimit.E003", "django_ratelimit.W001"]
