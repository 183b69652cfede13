"""Reads of accounts."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Address, User


def user_list(*, search: str | None = None, role: str | None = None, is_active: bool | None = None) -> QuerySet[User]:
    """Users for the admin API: `search` matches a part of the email (case-insensitive)."""
    users = User.objects.all().order_by("-date_joined", "id")
    if search:
        users = users.filter(email__icontains=search.strip())
    if role:
        users = users.filter(role=role)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    return users


def address_list_for_user(*, user: User) -> QuerySet[Address]:
    """Only `user`'s own addresses: anyone else's are invisible (404), never 403."""
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "id")
