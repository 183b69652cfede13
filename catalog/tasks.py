"""Celery tasks of the catalog. They take ids, look the rows up again and are idempotent
(enqueued through the outbox, core.jobs.enqueue, so they may run twice)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="catalog.make_product_image_thumbnails")
def make_product_image_thumbnails(image_id: str) -> bool:
    """Make the WebP thumbnails of one product image (catalog.services)."""
    from catalog import services

    return services.product_image_make_thumbnails(image_id)


@shared_task(name="catalog.bump_owed_generation")
def bump_owed_generation() -> None:
    """A catalog generation bump that a process could not write (Redis unreachable): done
    now, so nothing cached before it is served (catalog.cache._Owed). Failing again, it is
    owed again (a new job)."""
    from catalog.cache import bump_owed_generation as bump

    bump()
