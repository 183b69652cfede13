"""Settings shared by every mode. Values come from the environment (django-environ).

`local` (the default of manage.py) runs with no external service; `production` refuses to
start without a secret key and allowed hosts; `test` is what pytest uses. Every variable read
here is listed, with a comment, in `.env.example`.
"""

from datetime import timedelta
from pathlib import Path

import environ

from core.redis_circuit import cache_options

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer's .env is read when present; real environment variables win over it.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    # django.contrib.admin with the shop's site (its name, the staff dashboard on the index).
    "ecommerce.apps.ShopAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    # third party
    "corsheaders",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt",
    # Not used by sign-in any more (sessions are accounts.RefreshTokenFamily), but kept: its
    # table has a foreign key to the users, which Django only honours (SET_NULL on user
    # deletion) while the app is installed. `manage.py flushexpiredtokens` empties it.
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_structlog",
    "django_ratelimit",
    # Product image thumbnails (catalog.images); its tables remember which thumbnails exist
    # on storages without modification times (S3).
    "easy_thumbnails",
    # ours
    "ecommerce.apps.EcommerceConfig",
    "core",
    "accounts",
    "catalog",
    "carts",
    "shipping",
    "promotions",
    "orders",
    "payments",
]

MIDDLEWARE = [
    # First: Server-Timing and request metrics cover everything below, every answer included.
    "ecommerce.telemetry.TelemetryMiddleware",
    "ecommerce.request_id.RequestIdMiddleware",
    # django-structlog's request lines (its RequestMiddleware, cheap when they are filtered out).
    "ecommerce.request_log.RequestLogMiddleware",
    # Past capacity, a quick 503 (logged, with its request id) before any other work.
    "ecommerce.middleware.LoadSheddingMiddleware",
    # gzip/br for JSON and HTML of 1 KB or more (cached catalog pages come stored compressed).
    "ecommerce.middleware.CompressionMiddleware",
    # Which reads of this request may go to the read replica (none without one).
    "ecommerce.db.ReplicaRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy: strict for HTML (admin, API docs), default-src 'none' for JSON.
    "ecommerce.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "ecommerce.middleware.CommonMiddleware",  # APPEND_SLASH answers 308 to a POST (body kept)
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # An anonymous visitor's cached catalog read is answered here, before the session, CSRF,
    # auth and message middleware and the view (where Django's FetchFromCacheMiddleware sits);
    # everything above still applies to it. Misses and everyone else go on.
    "catalog.middleware.CachedCatalogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Honours Idempotency-Key on every API POST; last, because it runs the view itself.
    "ecommerce.api.idempotency.IdempotencyMiddleware",
]

# Load shedding (ecommerce.middleware.LoadSheddingMiddleware, under gunicorn.conf.py's
# gthread worker): a request that waited longer than this for a thread answers 503 at once,
# with Retry-After in seconds. 0 turns shedding off. See docs/operations.md, "Load shedding".
LOAD_SHED_QUEUE_MS = env.int("LOAD_SHED_QUEUE_MS", default=1000)
LOAD_SHED_RETRY_AFTER = env.int("LOAD_SHED_RETRY_AFTER", default=1)

ROOT_URLCONF = "ecommerce.urls"
WSGI_APPLICATION = "ecommerce.wsgi.application"
ASGI_APPLICATION = "ecommerce.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------
# DATABASE_URL switches to PostgreSQL; without it the embedded SQLite file is used.
# IMMEDIATE transactions make concurrent SQLite writers queue on the lock instead of
# failing with "database is locked" half way through a transaction.
SQLITE_URL = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"


def database_settings(*, pool_default: bool) -> dict:
    """`DATABASES` from the environment: `default` (DATABASE_URL) and, with
    DATABASE_REPLICA_URL, a read-only `replica` that ecommerce.db.ReplicaRouter sends
    catalog reads and order history to (docs/operations.md, "Read replica").

    PostgreSQL connections come either from Django's psycopg pool (DB_POOL; production's
    default) shared by the threads of a process, or, without it, one persistent connection
    per thread (CONN_MAX_AGE). The pool needs CONN_MAX_AGE=0: Django returns the connection
    to the pool at the end of each request instead of keeping it."""
    pool = env.bool("DB_POOL", default=pool_default)
    databases = {"default": env.db("DATABASE_URL", default=SQLITE_URL)}
    replica_url = env("DATABASE_REPLICA_URL", default="")
    if replica_url:
        # Tests never create a database for it: it reads the test database of `default`.
        databases["replica"] = {**env.db_url_config(replica_url), "TEST": {"MIRROR": "default"}}
    for db in databases.values():
        options = db.setdefault("OPTIONS", {})
        if db["ENGINE"] == "django.db.backends.sqlite3":
            options.update({"transaction_mode": "IMMEDIATE", "timeout": 20})
            continue
        db["CONN_HEALTH_CHECKS"] = True
        # A database that accepts connections but never answers (hung, black-holed) holds a
        # request this long before it answers 503; 2 s is the least libpq and psycopg accept.
        options.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=2))
        # Fixed statements (core.statements: a product list page) are prepared once per
        # connection; off behind a pooler that cannot keep prepared statements.
        options.setdefault("prepare_threshold", 5 if env.bool("DB_PREPARED_STATEMENTS", default=True) else None)
        if pool:
            db["CONN_MAX_AGE"] = 0
            options["pool"] = {
                "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
                # At least one per gunicorn thread, so a request never waits for another's.
                "max_size": env.int("DB_POOL_MAX_SIZE", default=max(4, env.int("GUNICORN_THREADS", default=4))),
                # Seconds a request waits for a free connection (or for the database to come
                # back) before it fails with 503 service_unavailable: under API.md's 2 s.
                "timeout": env.float("DB_POOL_TIMEOUT", default=1.5),
            }
        else:
            db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    return databases


DATABASES = database_settings(pool_default=False)
# The covering list indexes of catalog.Product (INCLUDE columns) are a PostgreSQL plan
# optimisation; SQLite (development) builds them on their key columns, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"] if DATABASES["default"]["ENGINE"].endswith("sqlite3") else []
DATABASE_ROUTERS = ["ecommerce.db.ReplicaRouter"]
# Apps whose reads GET requests under REPLICA_PATH_PREFIXES may send to the replica
# (ecommerce.db); everything else (accounts, sessions, idempotency, the outbox) always
# reads the primary.
DATABASE_REPLICA_APPS = env.list("DATABASE_REPLICA_APPS", default=["catalog", "orders"])
DATABASE_REPLICA_PATH_PREFIXES = ("/api/",)
# Seconds a replica that failed to answer is left alone (reads go to the primary meanwhile).
DATABASE_REPLICA_RETRY_SECONDS = env.int("DATABASE_REPLICA_RETRY_SECONDS", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ---------------------------------------------------------------------------
# REDIS_URL switches the shared cache to Redis (django-redis). A Redis outage must only
# cost cache misses, so exceptions are ignored (and logged) and sockets time out fast.
REDIS_URL = env("REDIS_URL", default="")
# After a Redis command times out, the cache is not asked for this long (core.redis_circuit).
REDIS_CIRCUIT_OPEN_SECONDS = env.float("REDIS_CIRCUIT_OPEN_SECONDS", default=2.0)
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="ecommerce")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": env.int("CACHE_TIMEOUT", default=300),
            # django-redis, 0.5 s socket timeouts, errors answered as misses, no retries, and
            # a circuit breaker: a Redis that does not answer is skipped for a moment.
            "OPTIONS": cache_options(REDIS_URL),
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "ecommerce.cache"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "ecommerce-default",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": env.int("CACHE_TIMEOUT", default=300),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }

# --- Auth ----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- I18N / static -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded media (product images and their thumbnails) go to STORAGES["default"]: the local
# file system under MEDIA_ROOT unless MEDIA_STORAGE_BACKEND names another Django storage
# (e.g. storages.backends.s3.S3Storage of django-storages; docs/operations.md).
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = env("MEDIA_URL", default="/media/")
STORAGES = {
    "default": {
        "BACKEND": env("MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("MEDIA_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Django serves MEDIA_URL itself only when true (local settings); in production the storage's
# own URLs or the reverse proxy serve it.
SERVE_MEDIA = False

# --- Content-Security-Policy (django-csp) ------------------------------------------
# HTML pages (the admin, Swagger UI, Redoc, the browsable API) load scripts only from this
# origin, no inline script; JSON answers get `default-src 'none'` (ecommerce.middleware).
from csp.constants import NONE, SELF, UNSAFE_INLINE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # Swagger UI and Redoc set style attributes from script; inline styles cannot run code.
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],  # Redoc parses the schema in a blob worker
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
CONTENT_SECURITY_POLICY_JSON = "default-src 'none'; frame-ancestors 'none'"
# Whether /api/docs/, /api/redoc/ and /api/schema/ are served (set false to close them).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=True)

# Secrets that ship with this repository (.env.example, local and test modes): production
# refuses to start with any of them.
KNOWN_PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me-to-a-long-random-string",
        "change-me-jwt-signing-key",
        "change-me-webhook-secret",
        "local-dev-only-insecure-key-change-me-0123456789abcdef",
        "local-dev-only-jwt-signing-key-change-me-0123456789abcdef",
        "test-secret-key-not-for-production-0123456789abcdef0123456789",
        "test-jwt-signing-key-not-for-production-0123456789abcdef0123",
    }
)

# --- CORS ----------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_EXPOSE_HEADERS = [
    "X-Request-ID",
    "X-Cart-Token",
    "X-Cache",
    "Idempotent-Replayed",
    "Retry-After",
    "Server-Timing",
]
from corsheaders.defaults import default_headers  # noqa: E402

CORS_ALLOW_HEADERS = (*default_headers, "x-request-id", "x-cart-token", "idempotency-key")

# --- Shop ----------------------------------------------------------------------------
# The shop's name: the admin's title and header (and documents such as PDF invoices).
SHOP_NAME = env("SHOP_NAME", default="Demo Shop")
CURRENCY = env("CURRENCY", default="USD")
# Whether catalog prices include tax (gross, as in the EU) or exclude it (net, as in the US):
# the pricing pipeline then takes the tax out of, or adds it to, each line (core.pricing).
PRICES_INCLUDE_TAX = env.bool("PRICES_INCLUDE_TAX", default=False)
FRONTEND_URL = env("FRONTEND_URL", default="http://localhost:3000").rstrip("/")
# The seller printed on invoices and credit notes (core.documents) is SHOP_NAME; SHOP_ADDRESS
# lines are separated by ";" (commas belong inside lines: "75001 Paris, France").
SHOP_ADDRESS = [line.strip() for line in env("SHOP_ADDRESS", default="1 Example Street;75001 Paris;France").split(";")]
SHOP_ADDRESS = [line for line in SHOP_ADDRESS if line]
SHOP_TAX_ID = env("SHOP_TAX_ID", default="")

# --- Email ---------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "tmp" / "emails"))
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@example.com")

# --- DRF -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's JWTAuthentication plus "the token's session has not ended".
        "ecommerce.api.auth.SessionJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "ecommerce.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["ecommerce.api.throttling.GlobalRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": [
        "ecommerce.api.renderers.JSONRenderer",  # DRF's, encoding with orjson
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_standardized_errors.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ecommerce.api.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "ecommerce.api.exceptions.ExceptionHandler",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    # Generic statuses documented on every operation they apply to; domain statuses (402,
    # 409, 422, 502, 503) are declared per endpoint with ecommerce.api.openapi.error_responses.
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "415", "429", "500"],
    "ERROR_SCHEMAS": {"401": "ecommerce.api.openapi.ErrorResponse401Serializer"},
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=10)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "UPDATE_LAST_LOGIN": True,
    # Its own key, never SECRET_KEY (a leaked or default SECRET_KEY must not mint tokens):
    # JWT_SIGNING_KEY, filled in by each mode; production requires a strong one.
    "SIGNING_KEY": None,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "E-commerce API",
    "DESCRIPTION": "REST API of the shop: accounts, catalog, carts, orders and payments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "ecommerce.api.openapi.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
    },
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
}

# --- Rate limits (django-ratelimit counters in the shared cache) ---------------------
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True
RATELIMIT_IP_META_KEY = "core.ratelimit.client_ip"
# How many reverse proxies in front of the app append to X-Forwarded-For. 0 = trust none:
# the client IP is REMOTE_ADDR and the header is ignored (it is trivially spoofed).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATELIMIT_DEFAULT = env("RATELIMIT_DEFAULT", default="100/m")
RATELIMIT_LOGIN_IP = env("RATELIMIT_LOGIN_IP", default="10/m")
RATELIMIT_LOGIN_EMAIL = env("RATELIMIT_LOGIN_EMAIL", default="5/m")
RATELIMIT_REGISTER_IP = env("RATELIMIT_REGISTER_IP", default="5/h")
RATELIMIT_PASSWORD_RESET = env("RATELIMIT_PASSWORD_RESET", default="5/h")
RATELIMIT_VERIFY_RESEND = env("RATELIMIT_VERIFY_RESEND", default="5/h")
RATELIMIT_ORDERS = env("RATELIMIT_ORDERS", default="20/m")
# PDF documents rendered on request (invoice.pdf), per user: each costs a render.
RATELIMIT_DOCUMENTS = env("RATELIMIT_DOCUMENTS", default="30/m")
# Personal-data export (auth/me/export/) and account erasure attempts (auth/me/delete/), per user.
RATELIMIT_ACCOUNT_EXPORT = env("RATELIMIT_ACCOUNT_EXPORT", default="10/h")
RATELIMIT_ACCOUNT_DELETE = env("RATELIMIT_ACCOUNT_DELETE", default="5/h")

# --- Celery --------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent, so redelivery after a crash is safe
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must not hang a web request when the broker is down: fail fast, log, go on.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    # Redis broker: without socket timeouts a broker that accepts connections but never
    # answers (hung, failing over) held a publishing request forever, after its commit. With
    # them a publish gives up after about 1 s per attempt and the job waits in the outbox.
    # (The worker's BRPOP replies are read by its event loop when they arrive: unaffected.)
    "socket_timeout": 1,
    "socket_connect_timeout": 2,
    # Redis broker: a job taken by a worker that died without acking it (SIGKILL, OOM kill,
    # lost host) is delivered again this many seconds after it was taken, by a worker that
    # starts (or sweeps, about every 100 s) after that. It must exceed the longest task and
    # any retry countdown (emails wait up to 30 min): a job still waiting or running past it
    # is delivered a second time (harmless, tasks are idempotent, but wasteful).
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
# Periodic jobs; each app adds its own entries (see the apps' tasks.py).
CELERY_BEAT_SCHEDULE: dict = {}

# --- Task outbox (core.jobs): jobs are rows first, published after commit -------------
# Seconds the after-commit publish has before the relay may take a row; the relay's period;
# the first retry delay (doubling per attempt) and its cap; days published rows are kept.
OUTBOX_RELAY_GRACE = env.int("OUTBOX_RELAY_GRACE", default=10)
OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=5.0)
OUTBOX_RETRY_BASE = env.int("OUTBOX_RETRY_BASE", default=5)
OUTBOX_RETRY_MAX = env.int("OUTBOX_RETRY_MAX", default=600)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=7)
CELERY_BEAT_SCHEDULE["core-relay-outbox"] = {"task": "core.relay_outbox", "schedule": OUTBOX_RELAY_INTERVAL}
CELERY_BEAT_SCHEDULE["core-purge-outbox"] = {"task": "core.purge_outbox", "schedule": timedelta(hours=6)}
# Worker logs go through the project LOGGING (structlog: JSON in production, request_id bound).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# RequestIdMiddleware (which runs first) has already replaced any unsafe client id.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
# `ip` is bound by ecommerce.logging from core.ratelimit.client_ip (trusted proxies only).
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False

# --- Logging -------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=False)
from ecommerce.logging import build_logging  # noqa: E402

LOGGING = build_logging(json=LOG_JSON, level=LOG_LEVEL)

# --- Metrics (GET /metrics, Prometheus text format; ecommerce.telemetry, core.metrics) ----
# The bearer token a scraper sends (`Authorization: Bearer <token>`); empty = no endpoint (404).
# Several processes (gunicorn workers) share their values through PROMETHEUS_MULTIPROC_DIR,
# read by prometheus_client itself (gunicorn.conf.py sets one); docs/operations.md, "Metrics".
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# --- Security defaults (production tightens) -----------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- carts ---
# Seconds an anonymous cart lives in Redis after its last write.
ANONYMOUS_CART_TTL = env.int("ANONYMOUS_CART_TTL", default=7 * 24 * 3600)
# Most units of one product a cart line may hold (requests above it are 400).
CART_MAX_QUANTITY = env.int("CART_MAX_QUANTITY", default=10_000)
# Customers' database carts not written for this many days are deleted by the purge job.
CART_STALE_DAYS = env.int("CART_STALE_DAYS", default=90)
CELERY_BEAT_SCHEDULE["carts-purge"] = {
    "task": "carts.tasks.purge_stale_carts",
    "schedule": timedelta(hours=24),
}

# --- accounts ---
# Sign-in and permissions by role (managers' and admins' Django-admin rights come from
# the role's group, see accounts/roles.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleModelBackend"]
# Email-verification links expire after this many seconds (default 48 h).
EMAIL_VERIFICATION_TOKEN_MAX_AGE = env.int("EMAIL_VERIFICATION_TOKEN_MAX_AGE", default=48 * 3600)
# Password-reset links expire after this many seconds (Django's setting; default 24 h).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=24 * 3600)
# Refresh tokens rotate and revocation happens in the token families
# (accounts.RefreshTokenFamily), checked by the refresh service under a row lock.
# Delete expired refresh tokens and sessions once a day.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"] = {
    "task": "accounts.flush_expired_tokens",
    "schedule": crontab(hour=3, minute=17),
}

# --- orders & payments ---
# Seconds an unpaid `pending` order holds its stock before the expiry job cancels it.
ORDER_PAYMENT_TIMEOUT = env.int("ORDER_PAYMENT_TIMEOUT", default=30 * 60)
# Against stock hoarding by unpaid orders: most units of one product in one order, and most
# unpaid `pending` orders one customer may hold at once (409 order_limit; 0 = no limit).
ORDER_MAX_UNITS_PER_PRODUCT = env.int("ORDER_MAX_UNITS_PER_PRODUCT", default=20)
ORDER_MAX_PENDING_PER_USER = env.int("ORDER_MAX_PENDING_PER_USER", default=3)
# Days after delivery during which the customer may ask to return items.
RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=30)
# Payment provider (payments/providers/): `test` is the offline gateway.
PAYMENT_PROVIDER = env("PAYMENT_PROVIDER", default="test")
# Seconds any call to the payment provider may take before it is cut off: the payment
# answers 502 payment_provider_error (the order stays payable, a retry is safe).
PAYMENT_PROVIDER_TIMEOUT = env.float("PAYMENT_PROVIDER_TIMEOUT", default=10.0)
# HMAC-SHA256 secret of provider webhooks; empty = every webhook is rejected (invalid_signature).
# Production refuses to start with one shorter than 32 bytes or a placeholder.
PAYMENT_WEBHOOK_SECRET = env("PAYMENT_WEBHOOK_SECRET", default="")
# Seconds a webhook's signed timestamp may be away from now (older deliveries cannot be replayed).
PAYMENT_WEBHOOK_TOLERANCE = env.int("PAYMENT_WEBHOOK_TOLERANCE", default=300)
# Seconds an Idempotency-Key is remembered (24 h, as the API promises).
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=24 * 60 * 60)
# Seconds after which an in-flight idempotency record is considered abandoned (crashed worker).
IDEMPOTENCY_LOCK_TIMEOUT = env.int("IDEMPOTENCY_LOCK_TIMEOUT", default=120)
# Key of the HMAC that fingerprints request bodies and cart tokens in idempotency records
# (default: SECRET_KEY). Records never hold a plain body hash or token.
IDEMPOTENCY_HMAC_KEY = env("IDEMPOTENCY_HMAC_KEY", default="")
CELERY_BEAT_SCHEDULE["orders-expire"] = {"task": "orders.tasks.expire_orders", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["orders-purge-idempotency-keys"] = {
    "task": "orders.tasks.purge_idempotency_records",
    "schedule": 60.0 * 60,
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["OrderStatusEnum"] = "orders.models.OrderStatus"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["PaymentStatusEnum"] = "payments.models.PaymentStatus"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["StockReasonEnum"] = "catalog.models.StockReason"

# --- catalog ---
# Cached catalog GETs (product list/detail, categories, facets) as rendered bytes in the
# shared cache; false bypasses the cache (benchmarks of the database path, debugging).
CATALOG_CACHE_ENABLED = env.bool("CATALOG_CACHE_ENABLED", default=True)
CATALOG_CACHE_TIMEOUT = env.int("CATALOG_CACHE_TIMEOUT", default=600)
# Page bytes of cached catalog entries each process keeps once read (catalog.cache): a hit
# whose entry is held here reads only its small version key from Redis.
CATALOG_LOCAL_ENTRIES_BYTES = env.int("CATALOG_LOCAL_ENTRIES_BYTES", default=32 * 1024 * 1024)
# Full-text search in relevance order ranks at most this many matches, so a common term
# never ranks hundreds of thousands of rows; such a list is that long at most (count is
# exact up to it, then a lower bound). An explicit ?ordering= lists every match.
CATALOG_SEARCH_CANDIDATES = env.int("CATALOG_SEARCH_CANDIDATES", default=2000)
# Facets are counted over at most this many matching products (`is_exact: false` beyond).
CATALOG_FACET_MAX_ROWS = env.int("CATALOG_FACET_MAX_ROWS", default=10000)
# Facets list at most this many brands and values per attribute (the most frequent).
CATALOG_FACET_TOP = env.int("CATALOG_FACET_TOP", default=50)
# products/stats/: a product with stock at or below this is "low stock".
CATALOG_LOW_STOCK_THRESHOLD = env.int("CATALOG_LOW_STOCK_THRESHOLD", default=5)
# New product reviews are held for moderation (is_approved=False: not listed, not counted
# in rating_avg/review_count) until staff approve them; false publishes them at once.
REVIEWS_REQUIRE_APPROVAL = env.bool("REVIEWS_REQUIRE_APPROVAL", default=False)
# Product image uploads (catalog.images): larger files are 400 file_too_large, images of
# more pixels (width x height x frames) 400 invalid_image (decompression bombs).
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
# Thumbnails (WebP, made by a background job): the longest side of each size, in pixels.
IMAGE_THUMBNAIL_SIZES = {
    "small": env.int("IMAGE_THUMBNAIL_SMALL", default=160),
    "medium": env.int("IMAGE_THUMBNAIL_MEDIUM", default=480),
    "large": env.int("IMAGE_THUMBNAIL_LARGE", default=1024),
}
# easy-thumbnails: WebP into the default storage, next to the source.
THUMBNAIL_DEFAULT_STORAGE_ALIAS = "default"
THUMBNAIL_EXTENSION = "webp"
THUMBNAIL_TRANSPARENCY_EXTENSION = "webp"
THUMBNAIL_PRESERVE_EXTENSIONS = None
THUMBNAIL_QUALITY = 85
