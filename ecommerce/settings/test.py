"""pytest settings. PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI), else
SQLite and local memory. Each xdist worker gets its own cache key prefix."""

import os

from .base import *  # noqa: F403
from .base import CACHES, SILENCED_SYSTEM_CHECKS, SIMPLE_JWT

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef0123456789"
SIMPLE_JWT["SIGNING_KEY"] = "test-jwt-signing-key-not-for-production-0123456789abcdef0123"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
# Hashing is not what the tests measure; Argon2 stays the production default (tested).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOG_LEVEL = "WARNING"
from ecommerce.logging import build_logging  # noqa: E402

LOGGING = build_logging(json=False, level="WARNING")

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}-{_worker}"
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    CACHES["default"]["LOCATION"] = f"test-{_worker}"
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "django_ratelimit.E003", "django_ratelimit.W001"]
# Tests that exercise limits turn them on explicitly; elsewhere they would only add noise.
RATELIMIT_ENABLE = False
# Uploaded media of a test run go to a temporary directory, removed when the process ends
# (tests of files set their own per-test MEDIA_ROOT on top).
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

MEDIA_ROOT = tempfile.mkdtemp(prefix="ecommerce-test-media-")
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
