"""Reads of accounts."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Address, User


def user_list() -> QuerySet[User]:
    """Users for the admin API, newest first (the API filters them with UserFilter)."""
    return User.objects.all().order_by("-date_joined", "id")


def address_list_for_user(*, user: User) -> QuerySet[Address]:
    """Only `user`'s own addresses: anyone else's are invisible (404), never 403."""
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "id")
