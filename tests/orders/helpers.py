import itertools
import uuid

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
