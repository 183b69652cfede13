import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse

from accounts import privacy, services
from accounts.models import Address, RefreshTokenFamily, User, normalize_email
from core.errors import RateLimited


class LockoutAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in form. Its password check goes through the same per-email lockout
    as the API's (`accounts.backends.RoleModelBackend`), which raises RateLimited while the
    email is locked: shown here as a form error."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many failed sign-ins for this email. Try again in %(seconds)s seconds.",
    }

    def clean(self):
        try:
            return super().clean()
        except RateLimited as exc:
            raise forms.ValidationError(
                self.error_messages["throttled"], code="throttled", params={"seconds": exc.retry_after}
            )


admin.site.login_form = LockoutAdminAuthenticationForm


class UniqueNormalEmailMixin:
    """Admin user forms: the email is saved in its normal form, so that is also what the
    uniqueness check sees (a new user's id is already set by its default, so excluding it
    is harmless)."""

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("A user with this email already exists.", code="unique")
        return email


class UserCreationAdminForm(UniqueNormalEmailMixin, AdminUserCreationForm):
    # Django's forms are bound to auth.User and its `username`; ours logs in by email.
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "role")
        field_classes: dict = {}


class UserChangeAdminForm(UniqueNormalEmailMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes: dict = {}


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = (
        ("full_name", "phone"),
        ("line1", "line2"),
        ("city", "region", "postal_code", "country"),
        "is_default",
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ("-date_joined",)
    list_display = ("email", "first_name", "last_name", "role", "is_verified", "is_active", "last_login")
    list_filter = ("role", "is_verified", "is_active", "is_superuser")
    search_fields = ("email", "first_name", "last_name")
    readonly_fields = ("date_joined", "last_login", "updated_at", "erased_at", "is_staff")
    inlines = [AddressInline]
    actions = ["verify_users", "deactivate_users", "export_personal_data", "erase_accounts"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name")}),
        (
            "Access",
            {
                "fields": (
                    "role",
                    "is_verified",
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ),
                "description": "Managers and admins get the admin rights of their role's group "
                "(“Managers”, “Admins”); `is_staff` follows the role.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined", "updated_at", "erased_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "role", "usable_password", "password1", "password2")}),
    )

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # the add form is email, role, password

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and "is_active" in form.changed_data and not obj.is_active:
                # Same rule as the API: a deactivated account's sessions end now.
                services.token_families_revoke(user=obj, reason=services.RevokeReason.DEACTIVATED)

    @admin.action(description="Mark selected users as verified", permissions=["change"])
    def verify_users(self, request, queryset):
        users = list(queryset)
        for user in users:
            services.user_mark_verified(user=user)
        self.message_user(request, f"{len(users)} user(s) verified.", messages.SUCCESS)

    @admin.action(description="Deactivate selected users (ends their sessions)", permissions=["change"])
    def deactivate_users(self, request, queryset):
        users = [user for user in queryset if user.pk != request.user.pk]
        for user in users:
            services.user_deactivate(user=user)
        self.message_user(request, f"{len(users)} user(s) deactivated.", messages.SUCCESS)

    @admin.action(description="Export personal data (JSON download)", permissions=["change"])
    def export_personal_data(self, request, queryset):
        """The same document as GET auth/me/export/: one user's, or a list for several."""
        users = list(queryset.order_by("date_joined", "pk"))
        documents = [privacy.user_data_export(user=user) for user in users]
        if len(users) == 1:
            body, filename = documents[0], f"personal-data-{users[0].pk}.json"
        else:
            body, filename = documents, f"personal-data-{len(users)}-users.json"
        response = HttpResponse(json.dumps(body, indent=2, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.action(description="Erase selected accounts (personal data, for good)", permissions=["delete"])
    def erase_accounts(self, request, queryset):
        """accounts.privacy.user_erase for each selected user, after a confirmation page
        (as Django's own delete action asks). Never your own account."""
        users = [user for user in queryset.order_by("date_joined", "pk") if user.erased_at is None]
        skipped_self = any(user.pk == request.user.pk for user in users)
        users = [user for user in users if user.pk != request.user.pk]
        if request.POST.get("confirm_erasure") == "yes":
            erased = sum(privacy.user_erase(user=user, by=request.user) for user in users)
            self.message_user(request, f"{erased} account(s) erased.", messages.SUCCESS)
            if skipped_self:
                self.message_user(request, "Your own account was not erased.", messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase accounts",
            "opts": self.model._meta,
            "users": users,
            "skipped_self": skipped_self,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "erase_accounts",
        }
        return TemplateResponse(request, "admin/accounts/user/erase_confirmation.html", context)


@admin.register(RefreshTokenFamily)
class RefreshTokenFamilyAdmin(admin.ModelAdmin):
    """Sign-in sessions (refresh-token families), read-only apart from the revoke action."""

    list_display = ("user", "created_at", "last_refreshed_at", "expires_at", "revoked_at", "revoked_reason")
    list_filter = ("revoked_reason",)
    search_fields = ("user__email",)
    list_select_related = ("user",)
    readonly_fields = ("id", "user", "created_at", "last_refreshed_at", "expires_at", "revoked_at", "revoked_reason")
    exclude = ("current_jti",)  # the live token's id: nothing anyone should edit
    actions = ["revoke_sessions"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected sessions", permissions=["change"])
    def revoke_sessions(self, request, queryset):
        count = services.sessions_revoke(families=queryset)
        self.message_user(request, f"{count} session(s) revoked.", messages.SUCCESS)
