"""Admin of core's records, and the one read-only mixin every app's admin uses for rows that
change only through services (money, carts, histories, ledgers)."""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages

from core.errors import DomainError
from core.models import IdempotencyRecord, SentEmail


class ReadOnlyAdminMixin:
    """No add, change or delete from the admin: the rows are written by services only.
    Works on ModelAdmin and on inlines alike."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def apply_to_each(
    modeladmin: admin.ModelAdmin,
    request,
    objects: Iterable[Any],
    act: Callable[[Any], Any],
    *,
    name_of: Callable[[Any], str],
    done_message: str,
) -> None:
    """Run a service on each selected object (an admin action): domain errors are reported
    per object and do not stop the others. `done_message` is formatted with `{count}`."""
    done, failed = 0, []
    for obj in objects:
        try:
            act(obj)
            done += 1
        except DomainError as exc:
            failed.append(f"{name_of(obj)}: {exc.detail}")
    if done:
        modeladmin.message_user(request, done_message.format(count=done), messages.SUCCESS)
    for failure in failed:
        modeladmin.message_user(request, failure, messages.ERROR)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "scope", "method", "path", "key", "state", "response_status")
    list_filter = ("state", "method")
    search_fields = ("key", "scope", "path")
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a record lets its key be used afresh; the purge job does the same.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


@admin.register(SentEmail)
class SentEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "kind", "key", "sent_at")
    list_filter = ("kind",)
    search_fields = ("key",)
    readonly_fields = ("kind", "key", "sent_at", "created_at")
