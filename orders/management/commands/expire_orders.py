from django.core.management.base import BaseCommand

from orders.services import orders_expire


class Command(BaseCommand):
    help = "Cancel pending orders unpaid after ORDER_PAYMENT_TIMEOUT and return their stock."

    def handle(self, *args, **options):
        total = 0
        while True:  # in batches, until none is left
            count = orders_expire()
            total += count
            if count == 0:
                break
        self.stdout.write(f"Expired {total} orders.")
