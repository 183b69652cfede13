"""Request parsing and response shapes of the accounts API. Rules live in services."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Address, Role, User
from core.addresses import ADDRESS_FIELDS, MAX_LENGTHS, clean_country, clean_phone

PASSWORD_MAX_LENGTH = 1024  # hashing a megabyte "password" is a cheap denial of service


def password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        max_length=PASSWORD_MAX_LENGTH,
        style={"input_type": "password"},
        **kwargs,
    )


class UserSerializer(serializers.ModelSerializer):
    """A user's own profile. Only the names are writable: email, role, verification and
    staff status are read-only, and anything sent for them is ignored."""

    class Meta:
        model = User
        fields = ("id", "email", "first_name", "last_name", "role", "is_verified", "is_staff", "date_joined")
        read_only_fields = ("id", "email", "role", "is_verified", "is_staff", "date_joined")


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = password_field()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class VerifyEmailSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=2048, trim_whitespace=True)


class VerifyEmailResponseSerializer(serializers.Serializer):
    detail = serializers.CharField()
    is_verified = serializers.BooleanField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = password_field()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Access JWT; send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Refresh JWT; single use (rotated on every refresh).")


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = password_field()
    new_password = password_field()


class AccountDeleteSerializer(serializers.Serializer):
    password = password_field(help_text="The account's current password.")


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = password_field()


class AdminUserSerializer(serializers.ModelSerializer):
    """Users as admins see them; `role`, `is_active` and the names are writable."""

    role = serializers.ChoiceField(choices=Role.choices, required=False)

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "first_name",
            "last_name",
            "role",
            "is_active",
            "is_verified",
            "is_staff",
            "is_superuser",
            "date_joined",
            "last_login",
        )
        read_only_fields = ("id", "email", "is_verified", "is_staff", "is_superuser", "date_joined", "last_login")


class AddressSerializer(serializers.ModelSerializer):
    """A saved address; the rules are core.addresses' (the address services apply them too)."""

    country = serializers.CharField(
        min_length=MAX_LENGTHS["country"],
        max_length=MAX_LENGTHS["country"],
        help_text="ISO 3166-1 alpha-2 code, e.g. `FR` (case-insensitive on input).",
    )

    class Meta:
        model = Address
        fields = ("id", *ADDRESS_FIELDS, "is_default", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")

    def validate_country(self, value: str) -> str:
        return clean_country(value)

    def validate_phone(self, value: str) -> str:
        return clean_phone(value)
