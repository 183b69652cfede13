"""Django-admin rights per role.

Each staff role has a group ("Managers", "Admins") whose permissions are (re)assigned by
app label after every `migrate` (and test flush), so models added later by other apps are
covered without a data migration naming them. A user's role decides which group's
permissions apply (accounts.backends.RoleModelBackend): nobody has to keep group
membership in step with the role.

- Managers: everything in `catalog` and `orders`, view-only in `carts` and `payments`,
  nothing in `accounts` (they do not manage users).
- Admins: every permission of every app.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db.models import Q

from accounts.models import STAFF_ROLES, Role

ROLE_GROUPS = {Role.MANAGER: "Managers", Role.ADMIN: "Admins"}


def role_of(user) -> str | None:
    """The caller's role (superusers are admins); None when not signed in or inactive."""
    if not (user and user.is_authenticated):
        return None
    return user.effective_role


def is_staff_user(user) -> bool:
    """Managers and admins: they see inactive products, every order, staff-only fields."""
    return role_of(user) in STAFF_ROLES


MANAGER_FULL_APPS = ("catalog", "orders")
MANAGER_VIEW_APPS = ("carts", "payments")


def manager_permissions_filter() -> Q:
    return Q(content_type__app_label__in=MANAGER_FULL_APPS) | Q(
        content_type__app_label__in=MANAGER_VIEW_APPS, codename__startswith="view_"
    )


def sync_role_groups(using: str = "default") -> None:
    """Create the role groups and set their permissions. Idempotent."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # Make sure every app's permissions exist before assigning them: this runs once per
    # migrate, possibly before later apps' own post_migrate handlers.
    for app_config in global_apps.get_app_configs():
        if app_config.models_module is not None:
            create_permissions(app_config, verbosity=0, using=using, apps=global_apps)

    managers, _ = Group.objects.using(using).get_or_create(name=ROLE_GROUPS[Role.MANAGER])
    managers.permissions.set(Permission.objects.using(using).filter(manager_permissions_filter()))
    admins, _ = Group.objects.using(using).get_or_create(name=ROLE_GROUPS[Role.ADMIN])
    admins.permissions.set(Permission.objects.using(using).all())


def on_post_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    # Connected with sender=accounts' config: runs once per migrate/flush.
    sync_role_groups(using=using)
