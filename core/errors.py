"""Domain errors: plain exceptions raised by services, mapped to HTTP in one place
(`ecommerce.api.exceptions`). Domain code imports these, never DRF.

Each subclass family fixes the HTTP status; each concrete error fixes its machine `code`
(the codes are part of the API contract, see shared/API.md).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"
    default_detail = "The request could not be processed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        attr: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.attr = attr
        # Several error entries (e.g. one per short order line); each a dict with at
        # least code/detail/attr, plus any machine-readable extra keys.
        self._errors = errors
        super().__init__(self.detail)

    # Response headers that belong to the error (e.g. Retry-After).
    headers: dict[str, str] = {}

    def as_errors(self) -> list[dict[str, Any]]:
        if self._errors:
            return [{"code": self.code, "detail": self.detail, "attr": self.attr, **e} for e in self._errors]
        return [{"code": self.code, "detail": self.detail, "attr": self.attr}]


class InvalidInput(DomainError):
    status_code = 400


class Unauthenticated(DomainError):
    status_code = 401
    code = "authentication_failed"
    default_detail = "Authentication failed."


class PaymentRequired(DomainError):
    status_code = 402
    code = "payment_required"


class Forbidden(DomainError):
    status_code = 403
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_detail = "The request conflicts with the current state of the resource."


class Protected(Conflict):
    code = "protected"
    default_detail = "This object is referenced by other objects and cannot be deleted."


class RateLimited(DomainError):
    """Too many attempts; `retry_after` seconds until the next one is allowed (the
    `Retry-After` header)."""

    status_code = 429
    code = "throttled"
    default_detail = "Request was throttled."

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(detail or f"Request was throttled. Expected available in {retry_after} seconds.", **kwargs)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(DomainError):
    status_code = 503
    code = "service_unavailable"
    default_detail = "A backing service is temporarily unavailable; please retry."


class UpstreamError(DomainError):
    status_code = 502
    code = "bad_gateway"
    default_detail = "An upstream service failed; nothing was changed."
