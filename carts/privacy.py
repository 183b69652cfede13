"""What carts hold on a user, for the personal-data export and the account erasure
(registered in CartsConfig.ready(); see accounts.privacy). A customer's cart is a database
row; anonymous carts in Redis are named by a token only, never by the user (a merge at
sign-in moves their lines into the database and deletes them), so nothing in Redis is
linked to an account."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from accounts.hooks import register_personal_data
from carts.models import Cart, CartItem


def _export_cart(user) -> dict[str, Any] | None:
    cart = Cart.objects.filter(user=user).first()
    if cart is None:
        return None
    items = (
        CartItem.objects.filter(cart=cart)
        .order_by("added_at", "id")
        .values("product_id", "quantity", "added_at", "updated_at", product_name=F("product__name"))
    )
    return {"id": cart.pk, "created_at": cart.created_at, "updated_at": cart.updated_at, "items": list(items)}


def _erase_cart(user) -> None:
    Cart.objects.filter(user=user).delete()  # its items cascade


def register_carts_personal_data() -> None:
    register_personal_data("cart", models=("carts.Cart",), export=_export_cart, erase=_erase_cart)
