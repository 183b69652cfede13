from django.apps import AppConfig


class EcommerceConfig(AppConfig):
    """Project-level glue: no models, only start-up wiring of cross-cutting pieces."""

    name = "ecommerce"
    verbose_name = "E-commerce core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from ecommerce.db import install_fence
        from ecommerce.logging import connect_request_metadata

        connect_request_metadata()
        # With a read replica, writes on the primary raise the replica fence (ecommerce.db).
        connection_created.connect(install_fence, dispatch_uid="ecommerce.db.install_fence")
