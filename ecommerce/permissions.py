"""Role permissions used by every app. Roles live on `accounts.User.role`
(customer < manager < admin; superusers are admins)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


def _role(user) -> str | None:
    if not (user and user.is_authenticated):
        return None
    return user.effective_role


class IsCustomer(BasePermission):
    """Any signed-in, active user (every role can shop)."""

    def has_permission(self, request, view) -> bool:
        return _role(request.user) is not None


class IsManager(BasePermission):
    """Managers and admins: catalog, stock and order fulfilment."""

    def has_permission(self, request, view) -> bool:
        return _role(request.user) in ("manager", "admin")


class IsAdmin(BasePermission):
    """Admins only: users and roles."""

    def has_permission(self, request, view) -> bool:
        return _role(request.user) == "admin"


class IsVerified(BasePermission):
    """Signed in with a verified email address (e.g. to place orders); otherwise
    403 `email_not_verified` (401 when not signed in)."""

    message = "Verify your email address first."
    code = "email_not_verified"

    def has_permission(self, request, view) -> bool:
        return _role(request.user) is not None and bool(request.user.is_verified)


class IsManagerOrReadOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or _role(request.user) in ("manager", "admin")


def is_staff_user(user) -> bool:
    return _role(user) in ("manager", "admin")
