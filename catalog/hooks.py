"""What the catalog needs to know from the apps above it, registered by them.

The catalog sits below orders (payments -> orders -> carts -> catalog), so it cannot ask
orders whether someone bought a product. Orders registers the answer instead, in
`OrdersConfig.ready()`; until something registers, nobody has bought anything (a project
without orders has no verified purchases).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

PurchaseChecker = Callable[[Any, UUID], bool]

_purchase_checker: PurchaseChecker | None = None


def register_purchase_checker(checker: PurchaseChecker) -> None:
    """`checker(user, product_id)` says whether `user` bought the product (a review by them
    is then a `verified_purchase`). Registering again replaces the previous checker."""
    global _purchase_checker
    _purchase_checker = checker


def user_has_purchased(user, product_id: UUID) -> bool:
    return _purchase_checker is not None and bool(_purchase_checker(user, product_id))
