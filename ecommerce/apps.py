from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


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


class ShopAdminConfig(AdminConfig):
    """django.contrib.admin with the shop's own site: titled with SHOP_NAME, and a staff
    dashboard on the index (ecommerce.admin_site). Named by dotted path, so this wiring module
    imports no domain app."""

    default_site = "ecommerce.admin_site.ShopAdminSite"
