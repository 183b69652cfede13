from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class EcommerceConfig(AppConfig):
    """Project-level glue: no models, only start-up wiring of cross-cutting pieces."""

    name = "ecommerce"
    verbose_name = "E-commerce core"

    def ready(self) -> None:
        from ecommerce.logging import connect_request_metadata

        connect_request_metadata()


class ShopAdminConfig(AdminConfig):
    """django.contrib.admin with the shop's own site: titled with SHOP_NAME, and a staff
    dashboard on the index (ecommerce.admin_site). Named by dotted path, so this wiring module
    imports no domain app."""

    default_site = "ecommerce.admin_site.ShopAdminSite"
