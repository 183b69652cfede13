import django_filters

from accounts.models import Role, User


class UserFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        field_name="email", lookup_expr="icontains", max_length=254, label="Part of the email (case-insensitive)."
    )
    role = django_filters.ChoiceFilter(choices=Role.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = User
        fields = ("search", "role", "is_active")
