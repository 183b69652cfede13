from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.privacy import register_accounts_personal_data
        from accounts.roles import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="accounts.sync_role_groups")
        register_accounts_personal_data()
