#!/usr/bin/env python
"""App-process CPU per checkout over the full Django stack (test client, in-process), without
and with shipping + tax + voucher, interleaved in blocks so machine noise hits both alike.
`time.process_time()` counts only this process, so other work on a shared machine does not
inflate it (PostgreSQL's side is not included). Writes bench rows (products, a user, zone
`cpu`, voucher CPU10) into the database of DATABASE_URL:

    DATABASE_URL=postgres://... REDIS_URL=redis://... CELERY_TASK_ALWAYS_EAGER=true \
        .venv/bin/python bench/pricing_cpu.py
"""

# ruff: noqa: E402, E401, E702, S106
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce.settings.local")
os.environ["RATELIMIT_ENABLE"] = "false"
os.environ["ORDER_MAX_PENDING_PER_USER"] = "0"
os.environ.setdefault("LOG_LEVEL", "ERROR")
import django

django.setup()
from decimal import Decimal

from django.conf import settings
from django.test import Client

settings.ALLOWED_HOSTS = ["*"]
from accounts.models import User
from accounts.services import session_start
from catalog.models import Category, Product
from ecommerce.api.auth import token_pair
from promotions.models import Voucher
from promotions.services import voucher_create
from shipping.models import ShippingZone, TaxRate
from shipping.services import shipping_zone_create, shipping_zone_delete, tax_rate_create, tax_rate_delete

run = uuid.uuid4().hex[:8]
cat, _ = Category.objects.get_or_create(slug="cpu", defaults={"name": "cpu"})
products = Product.objects.bulk_create(
    [
        Product(
            slug=f"cpu-{run}-{i}", sku=f"C-{run}-{i}", name=f"c{i}", price="4.99", stock_quantity=10**6, category=cat
        )
        for i in range(3)
    ]
)
user = User.objects.create(email=f"cpu-{run}@example.com", is_verified=True)
token = token_pair(session_start(user=user)).access
ADDRESS = {"full_name": "B", "line1": "1 St", "city": "Oslo", "postal_code": "0150", "country": "NO"}
items = [{"product_id": str(p.pk), "quantity": 1} for p in products]
c = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
if not Voucher.objects.filter(code="CPU10").exists():
    voucher_create(code="CPU10", kind="percent", value=Decimal("10"))


def setup(priced):
    for z in ShippingZone.objects.filter(name="cpu"):
        shipping_zone_delete(z)
    for r in TaxRate.objects.filter(country="NO"):
        tax_rate_delete(r)
    if priced:
        z = shipping_zone_create(name="cpu", countries=["NO"], methods=[{"name": "Flat", "price": Decimal("5.00")}])
        tax_rate_create(country="NO", rate=Decimal("25.00"))
        return {"shipping_method_id": z.methods.get().pk, "voucher_code": "CPU10"}
    return {}


def block(extra, n):
    body = json.dumps({"shipping_address": ADDRESS, "items": items, **extra})
    for _ in range(3):
        c.post("/api/v1/orders/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    t = time.process_time()
    for _ in range(n):
        r = c.post("/api/v1/orders/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert r.status_code == 201, r.content
    return (time.process_time() - t) * 1000 / n


res = {False: [], True: []}
for _round in range(4):
    for priced in (False, True):
        extra = setup(priced)
        res[priced].append(block(extra, 60))
setup(False)
b, e = sorted(res[False])[1:3], sorted(res[True])[1:3]
print("plain ms/order", [round(x, 2) for x in res[False]], "priced", [round(x, 2) for x in res[True]])
print("median-ish ratio", round(sum(e) / sum(b), 3))
