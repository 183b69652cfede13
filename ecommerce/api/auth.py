"""JWTs on the wire (djangorestframework-simplejwt), kept out of the domain.

accounts' services handle sign-in sessions as plain data (`accounts.services.SessionToken`:
user, family id, jti, expiry) and decide everything about them: rotation under the family's
row lock, reuse detection, revocation. This module is the only place that turns a session
token into signed JWTs and reads a presented one back; the accounts views call it.

- `token_pair(session)`: the access and refresh JWTs of a session token. The access token is
  the kind DRF's `SessionJWTAuthentication` (below) accepts; both carry the
  user id (`SIMPLE_JWT["USER_ID_CLAIM"]`) and the session (family) id in `FAMILY_CLAIM`.
- `read_refresh_token(raw)`: the claims of a presented refresh token, once its signature,
  expiry and type are checked. Whether the session still accepts it is the service's call.
- `SessionJWTAuthentication`: DRF's authentication class (REST_FRAMEWORK settings). An
  access token is accepted only while its session lives (`accounts.selectors.
  session_is_active`, one cached lookup), so ending a session ends its access tokens at once.
- `session_family_id(request)`: the session of the access token a DRF request came with.
- `bearer_user_id(request)`: which user a request's bearer token names, checked by the same
  code as DRF's authentication (used by the idempotency middleware, which runs before DRF).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_to_epoch

from accounts.selectors import session_is_active

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.services import SessionToken

FAMILY_CLAIM = "fam"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


@dataclass(frozen=True)
class RefreshClaims:
    """What a well-signed, unexpired refresh token says (the family is None for refresh
    tokens made outside accounts, e.g. `RefreshToken.for_user()`)."""

    user_id: str
    family_id: str | None
    jti: str


class _PresentedRefreshToken(Token):
    # simplejwt's RefreshToken would also consult the token_blacklist tables; sessions
    # decide validity themselves (accounts.services.token_refresh), under a row lock.
    token_type = "refresh"  # noqa: S105
    lifetime = api_settings.REFRESH_TOKEN_LIFETIME


def token_pair(session: SessionToken) -> TokenPair:
    """Sign `session` as a refresh JWT (its jti and expiry) plus a fresh access JWT that
    carries the same user and family claims."""
    refresh = RefreshToken()
    refresh[api_settings.JTI_CLAIM] = session.jti
    refresh["exp"] = datetime_to_epoch(session.expires_at)
    refresh[api_settings.USER_ID_CLAIM] = str(getattr(session.user, api_settings.USER_ID_FIELD))
    refresh[FAMILY_CLAIM] = str(session.family_id)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def read_refresh_token(raw: str) -> RefreshClaims:
    """The claims of a refresh JWT signed by us, of type refresh and not expired. Raises
    simplejwt's `TokenError` (its subclass `ExpiredTokenError` when only the expiry is
    wrong)."""
    token = _PresentedRefreshToken(raw)
    family_id = token.get(FAMILY_CLAIM)
    return RefreshClaims(
        user_id=str(token.get(api_settings.USER_ID_CLAIM) or ""),
        family_id=str(family_id) if family_id else None,
        jti=str(token[api_settings.JTI_CLAIM]),
    )


class SessionJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication plus the session check: a well-signed, unexpired access
    token is refused (401 `token_not_valid`) once its session has ended: logged out, revoked
    for refresh-token reuse, by a password change or reset, a deactivation or the admin.
    A token without a session claim is refused too: accounts always issues one, and a token
    without it could never be revoked.

    The check costs one indexed lookup on a cache miss and nothing on a hit (see
    `session_is_active`); the user is then loaded as simplejwt does (an inactive or deleted
    user is refused with the same 401 `token_not_valid`)."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = super().get_validated_token(raw_token)
        family_id = token.get(FAMILY_CLAIM)
        user_id = token.get(api_settings.USER_ID_CLAIM)
        if not family_id or not user_id or not session_is_active(family_id=family_id, user_id=user_id):
            raise InvalidToken("Token is no longer valid: its session has ended.")
        return token

    def get_user(self, validated_token: Token):
        try:
            return super().get_user(validated_token)
        except InvalidToken:
            raise
        except AuthenticationFailed:  # user not found or inactive: the token names nobody usable
            raise InvalidToken("Token is no longer valid: its user cannot sign in.") from None


def session_family_id(request) -> str | None:
    """The family claim of the access token that authenticated this DRF request (None for a
    session-cookie login or a token made outside accounts)."""
    return request.auth.get(FAMILY_CLAIM) if request.auth is not None else None


def bearer_user_id(request: HttpRequest) -> str | None:
    """The id of the user named by the request's `Authorization: Bearer <JWT>`, or None if
    the request has no bearer token. The token is checked exactly as DRF's
    `SessionJWTAuthentication` checks it (signature, expiry, accepted token types, a live
    session), but the user is not loaded: the view's authentication does that. Raises
    `AuthenticationFailed` (an `APIException`) for a malformed header, an invalid token, an
    ended session or a token naming no user. The session check it makes is cached, so the
    view's own check that follows costs no query."""
    auth = SessionJWTAuthentication()
    header = auth.get_header(request)
    raw = auth.get_raw_token(header) if header is not None else None
    if raw is None:
        return None
    user_id = auth.get_validated_token(raw).get(api_settings.USER_ID_CLAIM)
    if not user_id:
        raise InvalidToken("Token contained no recognizable user identification")
    return str(user_id)


class SessionJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of `SessionJWTAuthentication`: simplejwt's bearer JWT,
    under the same name (`jwtAuth`), so the published schema does not change."""

    target_class = SessionJWTAuthentication
