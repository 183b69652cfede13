"""Production: everything from the environment, nothing insecure by default.

Refuses to start without SECRET_KEY and ALLOWED_HOSTS, and with a weak
PAYMENT_WEBHOOK_SECRET (empty is allowed: webhooks are then off).
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import PAYMENT_WEBHOOK_SECRET, SIMPLE_JWT, STORAGES, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production.")
SIMPLE_JWT["SIGNING_KEY"] = SECRET_KEY

# Whoever knows the webhook secret can confirm payments: a placeholder copied from
# .env.example, or a short secret, must not reach production. Empty = webhooks off.
_MIN_WEBHOOK_SECRET_BYTES = 32
if PAYMENT_WEBHOOK_SECRET and (
    len(PAYMENT_WEBHOOK_SECRET.encode()) < _MIN_WEBHOOK_SECRET_BYTES
    or any(marker in PAYMENT_WEBHOOK_SECRET.lower() for marker in ("change-me", "changeme"))
):
    raise ImproperlyConfigured(
        f"PAYMENT_WEBHOOK_SECRET must be at least {_MIN_WEBHOOK_SECRET_BYTES} random bytes and not a placeholder "
        "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), or empty to turn webhooks off."
    )

# TLS. Set SECURE_SSL_REDIRECT=false when TLS ends at a proxy that does not send
# X-Forwarded-Proto (otherwise every request would redirect forever).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
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
