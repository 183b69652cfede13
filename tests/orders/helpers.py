import itertools
import threading
import uuid

from django.db import connection

ADDRESS = {"full_name": "Ada Lovelace", "line1": "1 Main St", "city": "London", "postal_code": "N1", "country": "GB"}

_keys = itertools.count()


def new_key() -> str:
    return f"key-{uuid.uuid4()}-{next(_keys)}"


def post_order(client, items, *, key=None, address=ADDRESS, **extra):
    body = {"shipping_address": address}
    if items is not None:
        body["items"] = items
    headers = {"HTTP_IDEMPOTENCY_KEY": key or new_key()} if key is not False else {}
    return client.post("/api/v1/orders/", body, format="json", **headers, **extra)


def item(product, quantity=1, **extra):
    return {"product_id": str(product.pk), "quantity": quantity, **extra}


def run_threads(count, target, *args):
    """Run `target(i, *args)` in `count` real threads started together; each closes its
    own database connection. Returns the results in thread order (exceptions included)."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results[i] = target(i, *args)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results
