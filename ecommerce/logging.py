"""Structured logging (structlog + django-structlog).

Every log line of a request carries request_id (and user_id once known); the request's
closing line also carries method, path, status and duration_ms. Production renders JSON,
local renders readable console lines.
"""

from __future__ import annotations

import time

import structlog


def build_logging(*, json: bool, level: str) -> dict:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
    ]
    structlog.configure(
        processors=[
            # Events below the level stop here, before any processor formats them (the
            # request_started/finished pair of every request, at LOG_LEVEL=WARNING).
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    # Plain tracebacks: the default "rich" formatter renders locals and takes seconds per
    # exception, which stalls every request while e.g. Redis is down and errors are logged.
    renderer = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    final = [structlog.processors.format_exc_info, renderer] if json else [renderer]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
                "foreign_pre_chain": shared,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.server": {"level": "WARNING"},
            # WeasyPrint logs every layout step at INFO; its warnings (a CSS rule it skips) stay.
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
            "django_structlog": {"level": level},
        },
    }


def request_started_context(request) -> dict:
    """What every log line of a request carries besides its ids (method, path, client IP),
    with the request's start noted for duration_ms. The client IP is the one the rate limits
    see (X-Forwarded-For only behind trusted proxies), in place of django-structlog's ipware
    lookup (DJANGO_STRUCTLOG_IP_LOGGING_ENABLED is off): that one believed any client's
    X-Forwarded-For and cost more than the rest of the log line."""
    from core.ratelimit import client_ip

    request._log_started = time.perf_counter()
    return {"method": request.method, "path": request.path, "ip": client_ip(request)}


def connect_request_metadata() -> None:
    """Bind method/path/ip at request start and status/duration_ms at its end."""
    from django_structlog import signals

    def _started(sender, request, logger, **kwargs):
        structlog.contextvars.bind_contextvars(**request_started_context(request))

    def _finished(sender, request, logger, response=None, **kwargs):
        started = getattr(request, "_log_started", None)
        extra = {"status": getattr(response, "status_code", None)}
        if started is not None:
            extra["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        structlog.contextvars.bind_contextvars(**extra)

    signals.bind_extra_request_metadata.connect(_started, weak=False, dispatch_uid="ecommerce-log-start")
    signals.bind_extra_request_finished_metadata.connect(_finished, weak=False, dispatch_uid="ecommerce-log-end")
    signals.bind_extra_request_failed_metadata.connect(_finished, weak=False, dispatch_uid="ecommerce-log-fail")
