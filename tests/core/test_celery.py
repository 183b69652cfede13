import structlog
from django.conf import settings

from ecommerce.celery import app


def test_celery_is_configured_from_settings():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.worker_hijack_root_logger is False  # worker logs use the project LOGGING
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT


def test_request_id_travels_with_published_tasks():
    """django-structlog adds the bound request_id to the headers of every task published."""
    from django_structlog.celery.receivers import CeleryReceiver

    receiver = CeleryReceiver()
    headers: dict = {}
    structlog.contextvars.bind_contextvars(request_id="req-42")
    try:
        receiver.receiver_before_task_publish(headers=headers, properties={})
    finally:
        structlog.contextvars.clear_contextvars()
    assert headers["__django_structlog__"]["request_id"] == "req-42"
