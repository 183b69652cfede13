"""Authentication backend: Django's ModelBackend (email login via the user manager, inactive
users refused) whose group permissions also include the user's role group."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from accounts.roles import ROLE_GROUPS


class RoleModelBackend(ModelBackend):
    def _get_group_permissions(self, user_obj):
        query = Q(group__user=user_obj)
        group_name = ROLE_GROUPS.get(user_obj.role)
        if group_name:
            query |= Q(group__name=group_name)
        return Permission.objects.filter(query).distinct()
