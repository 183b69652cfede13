from __future__ import annotations

from celery import shared_task


@shared_task(name="promotions.refresh_promotion_prices", acks_late=True)
def refresh_promotion_prices() -> float | None:
    """Apply promotion starts and ends that are due (scheduled at each boundary through the
    outbox; idempotent: a second run finds nothing due)."""
    from catalog.cache import set_price_boundary
    from promotions.services import promotion_prices_refresh

    next_boundary = promotion_prices_refresh()
    set_price_boundary(next_boundary)
    return next_boundary
