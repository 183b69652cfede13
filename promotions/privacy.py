"""What promotions hold on a user, for the personal-data export and the account erasure
(registered in PromotionsConfig.ready(); see accounts.privacy): the vouchers they redeemed.
Erasure detaches the redemptions (the shop's record of a voucher's uses stays, and keeps
counting against the voucher's usage limit); the order they name is detached by orders."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from accounts.hooks import register_personal_data
from promotions.models import VoucherRedemption


def _export_redemptions(user) -> list[dict[str, Any]]:
    return list(
        VoucherRedemption.objects.filter(user=user)
        .order_by("created_at", "id")
        .values("order_id", "amount", "created_at", "released_at", voucher_code=F("voucher__code"))
    )


def _erase_redemptions(user) -> None:
    VoucherRedemption.objects.filter(user=user).update(user=None)


def register_promotions_personal_data() -> None:
    register_personal_data(
        "voucher_redemptions",
        models=("promotions.VoucherRedemption",),
        export=_export_redemptions,
        erase=_erase_redemptions,
    )
