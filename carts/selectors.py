"""Reads of carts. (The carts issue grows this into the full cart view.)"""

from __future__ import annotations

from uuid import UUID

from carts.models import CartItem


def cart_lines_for_user(user) -> list[tuple[UUID, int]]:
    """(product_id, quantity) of every line of `user`'s database cart, oldest first."""
    return list(
        CartItem.objects.filter(cart__user=user).order_by("added_at", "id").values_list("product_id", "quantity")
    )
