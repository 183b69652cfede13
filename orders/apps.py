from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The catalog cannot import orders; it asks whoever registered (catalog.hooks).
        from catalog.hooks import register_purchase_checker
        from orders.privacy import register_orders_personal_data
        from orders.selectors import user_has_purchased

        register_purchase_checker(user_has_purchased)
        register_orders_personal_data()
