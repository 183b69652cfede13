from django.apps import AppConfig


class EcommerceConfig(AppConfig):
    """Project-level glue: no models, only start-up wiring of cross-cutting pieces."""

    name = "ecommerce"
    verbose_name = "E-commerce core"

    def ready(self) -> None:
        from ecommerce.logging import connect_request_metadata

        connect_request_metadata()
