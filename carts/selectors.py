"""Reads of carts: the cart as the customer sees it, priced live from the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.conf import settings

from carts.models import CartItem
from carts.stores import anonymous_cart_store, is_well_formed_token
from catalog.models import Product

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def unit_price(self) -> Decimal:
        # Always the product's current price (promoted while a promotion runs): a cart never
        # freezes prices (checkout does).
        return self.product.effective_price

    @property
    def line_total(self) -> Decimal:
        return (self.product.effective_price * self.quantity).quantize(CENTS)

    @property
    def available_quantity(self) -> int:
        return self.product.stock_quantity if self.product.is_active else 0

    @property
    def available(self) -> bool:
        """False when the product was deactivated or stock fell below the line's quantity:
        the line stays in the cart, flagged, so the customer sees what changed."""
        return self.product.is_active and self.product.stock_quantity >= self.quantity


@dataclass(frozen=True)
class CartDetail:
    items: list[CartLine]
    token: str | None = None  # the anonymous cart's token; None for customers' carts

    @property
    def currency(self) -> str:
        return settings.CURRENCY

    @property
    def subtotal(self) -> Decimal:
        """Sum of the lines of active products (an inactive product has no selling price)."""
        return sum((line.line_total for line in self.items if line.product.is_active), Decimal("0.00"))

    @property
    def item_count(self) -> int:
        """Units in the cart, counted over the same lines as `subtotal`."""
        return sum(line.quantity for line in self.items if line.product.is_active)


def cart_lines_for_user(user) -> list[tuple[UUID, int]]:
    """(product_id, quantity) of every line of `user`'s database cart, oldest first."""
    return list(
        CartItem.objects.filter(cart__user=user).order_by("added_at", "id").values_list("product_id", "quantity")
    )


def _lines_with_products(lines: dict[UUID, int]) -> list[CartLine]:
    """One query for every line's product; lines whose product was deleted are left out."""
    products = Product.objects.in_bulk(list(lines))
    return [CartLine(products[pid], qty) for pid, qty in lines.items() if pid in products]


def cart_get(*, user=None, token: str | None = None) -> CartDetail:
    """The cart of `user` when authenticated (the database cart; `token` is ignored), else
    the anonymous cart named `token`. A missing, malformed or expired token is an empty cart
    with no token. One database query either way, whatever the number of lines.

    Raises CartStoreUnavailable when the anonymous store cannot be reached."""
    if user is not None and user.is_authenticated:
        items = CartItem.objects.filter(cart__user=user).select_related("product").order_by("added_at", "id")
        return CartDetail(items=[CartLine(item.product, item.quantity) for item in items])
    if not is_well_formed_token(token):
        return CartDetail(items=[])
    store = anonymous_cart_store(token)
    lines = store.lines()
    if not lines and not store.exists():
        return CartDetail(items=[])
    return CartDetail(items=_lines_with_products(lines) if lines else [], token=token)
