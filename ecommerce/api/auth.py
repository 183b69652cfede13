"""JWTs on the wire (djangorestframework-simplejwt), kept out of the domain.

- `bearer_user_id(request)`: which user a request's bearer token names, checked by the same
  code as DRF's authentication (used by the idempotency middleware, which runs before DRF).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

if TYPE_CHECKING:
    from django.http import HttpRequest


def bearer_user_id(request: HttpRequest) -> str | None:
    """The id of the user named by the request's `Authorization: Bearer <JWT>`, or None if
    the request has no bearer token. The token is checked exactly as DRF's
    `JWTAuthentication` checks it (signature, expiry, accepted token types), but the user is
    not loaded: the view's authentication does that. Raises `AuthenticationFailed` (an
    `APIException`) for a malformed header, an invalid token or one naming no user."""
    auth = JWTAuthentication()
    header = auth.get_header(request)
    raw = auth.get_raw_token(header) if header is not None else None
    if raw is None:
        return None
    user_id = auth.get_validated_token(raw).get(api_settings.USER_ID_CLAIM)
    if not user_id:
        raise InvalidToken("Token contained no recognizable user identification")
    return str(user_id)
