import unicodedata
import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.addresses import FIELD_CLEANERS, MAX_LENGTHS


class Role(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


STAFF_ROLES = (Role.MANAGER, Role.ADMIN)


def normalize_email(email: str) -> str:
    """The one normal form of an email address: stored in `User.email`, looked up exactly
    (`email=`, never `email__iexact`) and used as the key of the per-email limits.

    NFKC folds compatibility characters (fullwidth letters, the Kelvin sign, `ſ`) into
    their plain letters and case folding goes further than lower-casing (`ß` → `ss`); NFKC
    once more because case folding can leave a string unnormalised. Two spellings a person
    would read as one address therefore name one account and share one sign-in lockout,
    whatever the database's own case rules are (PostgreSQL's `UPPER` maps `ı` to `I`, so
    an `iexact` lookup matched accounts whose lockout key was a different string). A
    letter case folding keeps apart (`ı` is not `i`) is a different address: it matches
    nothing but itself."""
    folded = unicodedata.normalize("NFKC", (email or "").strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email(username))

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_superuser", False)
        extra.setdefault("role", Role.CUSTOMER)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_superuser"] = True
        extra["role"] = Role.ADMIN
        extra.setdefault("is_verified", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("email address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER, db_index=True)
    is_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Set from the role: managers and admins use the admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the account was erased (accounts.privacy.user_erase): the row is a placeholder since.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["-date_joined"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        if self.is_superuser:
            self.role = Role.ADMIN
        # The role decides admin access; `is_staff` is derived so the two never disagree.
        self.is_staff = self.role in STAFF_ROLES
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff"}
        super().save(*args, **kwargs)

    @property
    def effective_role(self) -> str:
        return Role.ADMIN if self.is_superuser else self.role

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


class Address(models.Model):
    """A customer's saved address. Orders copy it (a snapshot), they never point to it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField(max_length=MAX_LENGTHS["full_name"])
    line1 = models.CharField(max_length=MAX_LENGTHS["line1"])
    line2 = models.CharField(max_length=MAX_LENGTHS["line2"], blank=True)
    city = models.CharField(max_length=MAX_LENGTHS["city"])
    region = models.CharField(max_length=MAX_LENGTHS["region"], blank=True)
    postal_code = models.CharField(max_length=MAX_LENGTHS["postal_code"])
    country = models.CharField(max_length=MAX_LENGTHS["country"], help_text="ISO 3166-1 alpha-2")
    phone = models.CharField(max_length=MAX_LENGTHS["phone"], blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(is_default=True), name="accounts_address_one_default_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.line1}, {self.city} ({self.country})"

    def clean(self) -> None:
        # Forms (the admin's inline) check and normalise country and phone with the same
        # rules as the API (core.addresses); lengths and blanks are the fields' own checks.
        errors = {}
        for name, clean_field in FIELD_CLEANERS.items():
            value = getattr(self, name)
            if value and len(value) <= MAX_LENGTHS[name]:
                try:
                    setattr(self, name, clean_field(value))
                except ValidationError as exc:
                    errors[name] = exc
        if errors:
            raise ValidationError(errors)


class RefreshTokenFamily(models.Model):
    """One login session: every refresh token issued by rotation from one sign-in carries
    this family's id (the `fam` claim of the JWT). Revoking the family kills all of them at
    once (logout, password change, deactivation, and refresh-token reuse, RFC 9700 §4.14.2).

    Only the newest token of a family works: its id is `current_jti`. Presenting any other
    token of the family means it was already rotated away, so someone replays it (reuse).
    The row is also the lock that serializes concurrent refreshes of the same session."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_families")
    created_at = models.DateTimeField(default=timezone.now)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="When the newest refresh token of the family expires.")
    current_jti = models.CharField(
        max_length=64, blank=True, help_text="Id (jti) of the newest refresh token, the only one that still works."
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at"]), models.Index(fields=["expires_at"])]
        verbose_name_plural = "refresh token families"

    def __str__(self) -> str:
        return f"{self.user_id} session {self.id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
