from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The foundation every app builds on, with no DRF: domain errors, the sent-email
    ledger, idempotency records, rate-limit counters, money and address helpers."""

    name = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"
