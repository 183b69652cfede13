"""DRF throttles over the counters of `core.ratelimit` (django-ratelimit, shared cache).

- `GlobalRateThrottle` (in DEFAULT_THROTTLE_CLASSES): RATELIMIT_DEFAULT per user when
  authenticated, per client IP otherwise. As a DRF throttle it runs after authentication,
  so JWT users are counted per user.
- `RateLimitThrottle.for_(group, rate_setting, key)`: one named limit as a view's throttle.

Over the limit DRF raises `Throttled`, rendered as 429 `throttled` with `Retry-After`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core.ratelimit import ip_key, usage, user_or_ip


class RateLimitThrottle(BaseThrottle):
    group = "global"
    key: Any = staticmethod(user_or_ip)
    rate_setting = "RATELIMIT_DEFAULT"

    def allow_request(self, request, view) -> bool:
        # A request an earlier middleware already counted against this limit (the catalog's
        # early cache hit, catalog.middleware) is checked without counting it again.
        increment = self.group not in getattr(request, "ratelimit_counted", ())
        counted = usage(
            group=self.group,
            key=self.key,
            rate=getattr(settings, self.rate_setting),
            request=request,
            increment=increment,
        )
        self._wait = counted["time_left"] if counted else None
        return not (counted and counted["should_limit"])

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
