"""Reads of accounts."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from accounts.models import Address, RefreshTokenFamily, User

logger = logging.getLogger(__name__)

# How long a session's state may be served from the shared cache. A revocation overwrites
# the entry (services._sessions_forget), so this only bounds how stale it can get when the
# cache could not be written at revocation time (Redis down then).
SESSION_STATE_CACHE_SECONDS = 30
_SESSION_ENDED = ""  # cached for a session that no longer grants access (None means "not cached")


def session_cache_key(family_id: Any) -> str:
    return f"accounts:session:{family_id}"


def session_is_active(*, family_id: Any, user_id: Any) -> bool:
    """Whether session `family_id` (the `fam` claim of an access token) still grants access
    to `user_id`: it exists, belongs to that user, is not revoked and its user is active.

    Checked on every request authenticated by an access token: one lookup by primary key
    (joined to the user), cached in the shared cache for SESSION_STATE_CACHE_SECONDS. The
    services that end sessions overwrite the cached state, so a revocation is seen at once by
    every process sharing the cache. The cache only ever saves work: if it fails, the
    database answers (fail-open to the lookup, never to "active")."""
    try:
        family_id = uuid.UUID(str(family_id))
    except ValueError:
        return False
    key = session_cache_key(family_id)
    try:
        owner = cache.get(key)
    except Exception:  # a backend that does not swallow its errors: ask the database
        logger.warning("session state cache unavailable", exc_info=True)
        owner = None
    if owner is None:
        row = (
            RefreshTokenFamily.objects.filter(pk=family_id)
            .values_list("user_id", "revoked_at", "user__is_active")
            .first()
        )
        owner = str(row[0]) if row is not None and row[1] is None and row[2] else _SESSION_ENDED
        try:
            # add, not set: if a revocation wrote "ended" since our read, it stays.
            cache.add(key, owner, SESSION_STATE_CACHE_SECONDS)
        except Exception:
            logger.warning("session state cache unavailable", exc_info=True)
    return owner != _SESSION_ENDED and owner == str(user_id)


def user_list() -> QuerySet[User]:
    """Users for the admin API, newest first (the API filters them with UserFilter)."""
    return User.objects.all().order_by("-date_joined", "id")


def address_list_for_user(*, user: User) -> QuerySet[Address]:
    """Only `user`'s own addresses: anyone else's are invisible (404), never 403."""
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "id")
