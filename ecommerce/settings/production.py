"""Production: everything from the environment, nothing insecure by default.

Refuses to start without SECRET_KEY, JWT_SIGNING_KEY, ALLOWED_HOSTS and REDIS_URL, or with a
secret that is short or ships with the repository, and with a weak PAYMENT_WEBHOOK_SECRET
(empty is allowed: webhooks are then off).
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import KNOWN_PLACEHOLDER_SECRETS, REDIS_URL, SIMPLE_JWT, STORAGES, database_settings, env

DEBUG = False
# Connections from Django's psycopg pool, one per process shared by its threads, unless
# DB_POOL=false (then one persistent connection per thread). docs/operations.md, "Pool".
DATABASES = database_settings(pool_default=True)


def _strong_secret(name: str, *, min_length: int, required: bool = True) -> str:
    """The secret `name`, refused when it ships with the code (a placeholder), or is shorter
    than `min_length` bytes; when not `required`, empty is allowed (the feature is off)."""
    value = env(name, default="")
    hint = " (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
    if not value:
        if not required:
            return value
        raise ImproperlyConfigured(f"{name} must be set in production{hint}.")
    lowered = value.lower()
    if (
        value in KNOWN_PLACEHOLDER_SECRETS
        or lowered.startswith("django-insecure-")
        or any(marker in lowered for marker in ("change-me", "changeme"))
    ):
        raise ImproperlyConfigured(f"{name} is a placeholder that ships with the code; generate a random one{hint}.")
    if len(value.encode()) < min_length:
        raise ImproperlyConfigured(f"{name} must be at least {min_length} bytes long{hint}.")
    return value


SECRET_KEY = _strong_secret("SECRET_KEY", min_length=50)
JWT_SIGNING_KEY = _strong_secret("JWT_SIGNING_KEY", min_length=32)
if JWT_SIGNING_KEY == SECRET_KEY:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from SECRET_KEY.")
SIMPLE_JWT["SIGNING_KEY"] = JWT_SIGNING_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production.")
# Rate-limit counters, anonymous carts and the catalog cache must be shared by every worker
# and host; a per-process fallback would silently multiply every limit.
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production (shared cache, limits, carts).")

# Whoever knows the webhook secret can confirm payments: a placeholder copied from
# .env.example, or a short secret, must not reach production. Empty = webhooks off.
PAYMENT_WEBHOOK_SECRET = _strong_secret("PAYMENT_WEBHOOK_SECRET", min_length=32, required=False)
# Whoever knows the metrics token reads the shop's traffic and sales: same rule. Empty = no /metrics.
METRICS_TOKEN = _strong_secret("METRICS_TOKEN", min_length=32, required=False)

# TLS. Set SECURE_SSL_REDIRECT=false when TLS ends at a proxy that does not send
# X-Forwarded-Proto (otherwise every request would redirect forever).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# X-Forwarded-Proto is trusted only behind a proxy we were told about (TRUSTED_PROXY_COUNT,
# as for the client IP): otherwise any client could claim https and skip the redirect.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT > 0 else None
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}

LOG_JSON = env.bool("LOG_JSON", default=True)
from ecommerce.logging import build_logging  # noqa: E402

LOGGING = build_logging(json=LOG_JSON, level=env("LOG_LEVEL", default="INFO"))
