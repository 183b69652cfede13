"""Rate limits on django-ratelimit counters in the shared cache.

- `GlobalRateThrottle` (a DRF throttle in DEFAULT_THROTTLE_CLASSES): RATELIMIT_DEFAULT per
  user when authenticated, per client IP otherwise. Running as a DRF throttle means it runs
  after authentication, so JWT users are counted per user.
- `rate_limit(request, group=..., key=..., rate=...)`: one named limit inside a view, e.g.
  login per email. Raises DRF's `Throttled` with the seconds left in the window, which the
  exception handler renders as 429 `throttled` with `Retry-After`.
- `RateLimitThrottle.for_(group, key, rate)`: the same as a throttle class for a view.

Counters are fixed windows (django-ratelimit). If the cache is unreachable, limits fail open
(RATELIMIT_FAIL_OPEN) and django-redis logs the ignored exception.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)


class RateLimited(Ratelimited):
    """Raised by django-ratelimit's own decorator; mapped to 429 by the exception handler."""


def client_ip(request) -> str:
    """The client's IP. X-Forwarded-For is used only when TRUSTED_PROXY_COUNT > 0, and then
    only the hop appended by the outermost trusted proxy (the header's leftmost entries
    are whatever the client chose to send)."""
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 (an address, not a bind)
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


def _usage(request, group: str, key: str | Callable, rate: str, increment: bool = True) -> dict[str, Any] | None:
    if not settings.RATELIMIT_ENABLE:
        return None
    return get_usage(request, group=group, key=key, rate=rate, increment=increment)


def rate_limit(request, *, group: str, key: str | Callable, rate: str, increment: bool = True) -> None:
    """Count one hit against `group` and raise `Throttled` (429) when over `rate`."""
    usage = _usage(request, group, key, rate, increment)
    if usage and usage["should_limit"]:
        raise Throttled(wait=max(1, usage["time_left"]))


def is_over_limit(request, *, group: str, key: str | Callable, rate: str) -> int | None:
    """Seconds to wait if `group` is already over `rate` (without counting a hit), else None."""
    usage = _usage(request, group, key, rate, increment=False)
    if usage and usage["count"] >= usage["limit"]:
        return max(1, usage["time_left"])
    return None


class RateLimitThrottle(BaseThrottle):
    group = "global"
    key: Any = staticmethod(user_or_ip)
    rate_setting = "RATELIMIT_DEFAULT"

    def allow_request(self, request, view) -> bool:
        usage = _usage(request, self.group, self.key, getattr(settings, self.rate_setting))
        self._wait = usage["time_left"] if usage else None
        return not (usage and usage["should_limit"])

    def wait(self) -> float | None:
        return max(1, self._wait) if self._wait is not None else None

    @classmethod
    def for_(cls, group: str, rate_setting: str, key: Any = ip_key) -> type[RateLimitThrottle]:
        return type(
            f"RateLimitThrottle_{group}",
            (cls,),
            {"group": group, "rate_setting": rate_setting, "key": staticmethod(key)},
        )


class GlobalRateThrottle(RateLimitThrottle):
    pass
