"""Demo data for `make run`: each installed app of ours may ship `<app>/demo.py` with
`load(stdout)`, run in INSTALLED_APPS order (accounts' demo users first). A `load` may
return lines (logins, codes) printed together at the end. Safe to run again."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import module_has_submodule

OUR_APPS = ("core", "accounts", "catalog", "shipping", "promotions", "carts", "orders", "payments")


class Command(BaseCommand):
    help = "Create demo users and demo data (idempotent) and print the logins."

    def handle(self, *args, **options):
        summary: list[str] = []
        for config in apps.get_app_configs():
            if config.name in OUR_APPS and module_has_submodule(config.module, "demo"):
                demo = __import__(f"{config.name}.demo", fromlist=["load"])
                summary.extend(demo.load(self.stdout) or [])
        self.stdout.write("")
        for line in summary:
            self.stdout.write(self.style.SUCCESS(line) if line.endswith(":") else line)
        self.stdout.write("API docs: http://127.0.0.1:8000/api/docs/   Admin: http://127.0.0.1:8000/admin/\n")
