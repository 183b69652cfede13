from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "promotions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The catalog cannot import promotions; at a promotion's start or end its reads ask
        # whoever registered to apply it (catalog.hooks, catalog.cache).
        from catalog.hooks import register_price_refresher
        from promotions.services import promotion_prices_refresh_due

        register_price_refresher(promotion_prices_refresh_due)

        from promotions.privacy import register_promotions_personal_data

        register_promotions_personal_data()
