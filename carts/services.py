"""Writes to carts. (The carts issue grows this into the full service API.)"""

from __future__ import annotations

from carts.models import CartItem


def cart_clear_for_user(user) -> None:
    """Empty `user`'s database cart. Safe inside the caller's transaction (checkout)."""
    CartItem.objects.filter(cart__user=user).delete()
