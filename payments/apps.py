from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Orders cannot import payments; cancelling a paid order refunds it through this
        # handler, inside the cancel transaction (see orders.hooks).
        from orders.hooks import register_refund_handler
        from payments.privacy import register_payments_personal_data
        from payments.services import payment_refund_for_order

        register_refund_handler(payment_refund_for_order)
        register_payments_personal_data()
