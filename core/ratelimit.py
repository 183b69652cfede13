"""Rate limits on django-ratelimit counters in the shared cache, without DRF.

- `client_ip(request)`: the caller's address (X-Forwarded-For only behind trusted proxies).
- `limit_hit(group=..., key=..., rate=...)`: count one hit against a named limit and raise
  `RateLimited` (429 `throttled`, with the seconds to wait) when over it; used by services
  such as the sign-in lockout, whichever door (API or admin) the attempt came through.
- `seconds_until_allowed(...)`: the same check without counting a hit.

The DRF throttles that apply these limits per view live in `ecommerce.api.throttling`.
Counters are fixed windows (django-ratelimit). If the cache is unreachable, limits fail open
and django-redis logs the ignored exception.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage

from core.errors import RateLimited

logger = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The client's IP. X-Forwarded-For is used only when TRUSTED_PROXY_COUNT > 0, and then
    only the hop appended by the outermost trusted proxy (the header's leftmost entries
    are whatever the client chose to send)."""
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - a fallback address, nothing binds to it  # nosec B104
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                logger.warning("unparseable X-Forwarded-For entry", extra={"value": candidate[:64]})
    return remote


def user_or_ip(group: str, request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def ip_key(group: str, request) -> str:
    return f"ip:{client_ip(request)}"


def usage(*, group: str, key: Any, rate: str, request=None, increment: bool = True) -> dict[str, Any] | None:
    """django-ratelimit's counter for `group`; `key` is a string (the counted identity, e.g. a
    normalised email) or a `(group, request) -> str` callable. None when limits are off."""
    if not settings.RATELIMIT_ENABLE:
        return None
    key_fn = key if callable(key) else (lambda _group, _request: key)
    return get_usage(request, group=group, key=key_fn, rate=rate, increment=increment)


def limit_hit(*, group: str, key: Any, rate: str, request=None) -> None:
    """Count one hit against `group` and raise `RateLimited` (429) when over `rate`."""
    counted = usage(group=group, key=key, rate=rate, request=request)
    if counted and counted["should_limit"]:
        raise RateLimited(retry_after=max(1, counted["time_left"]))


def seconds_until_allowed(*, group: str, key: Any, rate: str, request=None) -> int | None:
    """Seconds to wait if `group` is already over `rate` (without counting a hit), else None."""
    counted = usage(group=group, key=key, rate=rate, request=request, increment=False)
    if counted and counted["count"] >= counted["limit"]:
        return max(1, counted["time_left"])
    return None
