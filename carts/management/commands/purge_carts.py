from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from carts.services import cart_purge_stale


class Command(BaseCommand):
    help = "Delete customers' database carts not written for --older-than days (default CART_STALE_DAYS)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, dest="days", metavar="DAYS", default=None)

    def handle(self, *args, days=None, **options):
        days = settings.CART_STALE_DAYS if days is None else days
        if days < 0:
            raise CommandError("--older-than must be 0 or more days.")
        deleted = cart_purge_stale(older_than_days=days)
        self.stdout.write(f"Deleted {deleted} cart(s) not updated for {days} day(s).")
