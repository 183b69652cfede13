"""Demo data for `make run`: demo users (and, through each app's `demo` hook, a demo
catalog). Safe to run again: existing rows are kept, passwords are reset to the demo ones."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import module_has_submodule

from accounts.models import Role, User

DEMO_USERS = [
    ("admin@example.com", "admin-demo-pass", Role.ADMIN, True),
    ("manager@example.com", "manager-demo-pass", Role.MANAGER, False),
    ("customer@example.com", "customer-demo-pass", Role.CUSTOMER, False),
]


class Command(BaseCommand):
    help = "Create demo users and demo data (idempotent) and print the logins."

    def handle(self, *args, **options):
        for email, password, role, superuser in DEMO_USERS:
            user = User.objects.filter(email=email).first() or User(email=email)
            user.role = role
            user.is_superuser = superuser
            user.is_verified = True
            user.is_active = True
            user.set_password(password)
            user.save()

        # Each app may ship `<app>/demo.py` with `load(stdout)`; the catalog does.
        for config in apps.get_app_configs():
            if config.name in ("accounts", "catalog", "carts", "orders", "payments") and module_has_submodule(
                config.module, "demo"
            ):
                __import__(f"{config.name}.demo", fromlist=["load"]).load(self.stdout)

        self.stdout.write(self.style.SUCCESS("\nDemo logins (email / password):"))
        for email, password, role, _ in DEMO_USERS:
            self.stdout.write(f"  {role:<9} {email:<24} {password}")
        self.stdout.write("API docs: http://127.0.0.1:8000/api/docs/   Admin: http://127.0.0.1:8000/admin/\n")
