"""Role permissions used by every app. Roles live on `accounts.User.role`
(customer < manager < admin; superusers are admins)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.roles import is_staff_user, role_of

_role = role_of


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


class IsManagerOrReadOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or _role(request.user) in ("manager", "admin")


__all__ = ["IsAdmin", "IsCustomer", "IsManager", "IsManagerOrReadOnly", "is_staff_user"]
