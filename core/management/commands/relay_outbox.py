"""Publish the outbox's pending jobs now (what beat's relay does every few seconds)."""

import time

from django.core.management.base import BaseCommand

from core.jobs import outbox_depth, relay_outbox


class Command(BaseCommand):
    help = "Publish pending outbox jobs to the broker (once, or --loop every --interval seconds)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep relaying until interrupted.")
        parser.add_argument("--interval", type=float, default=5.0)
        parser.add_argument("--all", action="store_true", help="Ignore backoff: publish every pending job now.")

    def handle(self, *args, loop=False, interval=5.0, all=False, **options):
        while True:
            if all:
                from django.utils import timezone

                from core.models import OutboxMessage

                OutboxMessage.objects.filter(published_at__isnull=True).update(available_at=timezone.now())
            result = relay_outbox()
            depth = outbox_depth()
            self.stdout.write(f"published {result['published']}, failed {result['failed']}, pending {depth['depth']}")
            if not loop:
                return
            time.sleep(interval)
