"""What the catalog holds on a user, for the personal-data export and the account erasure
(registered in CatalogConfig.ready(); see accounts.privacy)."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from accounts.hooks import register_personal_data
from catalog.models import Product, Review, StockMove


def _export_reviews(user) -> list[dict[str, Any]]:
    return list(
        Review.objects.filter(user=user)
        .order_by("created_at", "id")
        .values(
            "id",
            "product_id",
            "rating",
            "title",
            "body",
            "verified_purchase",
            "is_approved",
            "created_at",
            product_name=F("product__name"),
        )
    )


def _erase_reviews(user) -> None:
    # Reviews stay (their ratings are the product's), detached: shown as by a deleted user.
    Review.objects.filter(user=user).update(user=None)


def _export_stock_moves(user) -> list[dict[str, Any]]:
    # Moves caused by the user: their purchases and cancellations, or a staff member's adjustments.
    return list(
        StockMove.objects.filter(by=user)
        .order_by("id")
        .values("product_id", "delta", "reason", "order_id", "note", "created_at", product_sku=F("product__sku"))
    )


def _erase_stock_moves(user) -> None:
    # The ledger keeps every move (it must chain); it no longer says who made it.
    StockMove.objects.filter(by=user).update(by=None)


def _export_products_authored(user) -> list[dict[str, Any]]:
    # Products a staff member created or last edited.
    from django.db.models import Q

    return list(
        Product.objects.filter(Q(created_by=user) | Q(updated_by=user))
        .order_by("created_at", "id")
        .values("id", "sku", "name", "created_at", "updated_at", "created_by_id", "updated_by_id")
    )


def _erase_products_authored(user) -> None:
    # The products stay; they no longer say who made or changed them.
    Product.objects.filter(created_by=user).update(created_by=None)
    Product.objects.filter(updated_by=user).update(updated_by=None)


def register_catalog_personal_data() -> None:
    register_personal_data("reviews", models=("catalog.Review",), export=_export_reviews, erase=_erase_reviews)
    register_personal_data(
        "stock_moves", models=("catalog.StockMove",), export=_export_stock_moves, erase=_erase_stock_moves
    )
    register_personal_data(
        "products_authored",
        models=("catalog.Product",),
        export=_export_products_authored,
        erase=_erase_products_authored,
    )
