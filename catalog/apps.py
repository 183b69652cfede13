from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Reviews and stock moves name users: their share of the export and the erasure.
        from catalog.privacy import register_catalog_personal_data

        register_catalog_personal_data()
