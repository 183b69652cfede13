"""Authentication backend: Django's ModelBackend (email login via the user manager, inactive
users refused) behind the per-email sign-in lockout, whose group permissions also include
the user's role group.

Every password check that goes through `django.contrib.auth.authenticate()` (the API's
sign-in service, the Django admin login, `Client.login()`) passes the lockout of
`accounts.services.authenticate_with_lockout`, so they all count against one limit. While
an email is locked, `authenticate()` raises `core.errors.RateLimited` (the API answers 429;
the admin login form shows it as an error)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from accounts.roles import ROLE_GROUPS
from accounts.services import authenticate_with_lockout


class RoleModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        return authenticate_with_lockout(email=username, password=password, request=request)

    def _get_group_permissions(self, user_obj):
        query = Q(group__user=user_obj)
        group_name = ROLE_GROUPS.get(user_obj.role)
        if group_name:
            query |= Q(group__name=group_name)
        return Permission.objects.filter(query).distinct()
