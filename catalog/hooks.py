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


# --- promoted prices --------------------------------------------------------------------------
# Promotions (above the catalog) keep `Product.discounted_price` current. At a promotion's
# start or end the catalog must not serve the old price: catalog.cache stores the time of
# the next boundary and, once it has passed, asks the registered refresher (promotions,
# `PromotionsConfig.ready()`) to bring the prices up to date before it answers.

PriceRefresher = Callable[[], float | None]

_price_refresher: PriceRefresher | None = None


def register_price_refresher(refresher: PriceRefresher) -> None:
    """`refresher()` applies every promotion start or end that is due and returns the Unix
    time of the next one (None: none scheduled). Registering again replaces it."""
    global _price_refresher
    _price_refresher = refresher


def refresh_prices() -> float | None:
    """Apply due promotion boundaries; the next boundary's Unix time, or None."""
    return _price_refresher() if _price_refresher is not None else None
