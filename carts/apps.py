from django.apps import AppConfig


def merge_anonymous_cart_at_sign_in(*, user, request=None, **kwargs) -> None:
    """accounts' sign-in hook: the anonymous cart named by `X-Cart-Token` joins the user's cart."""
    token = request.headers.get("X-Cart-Token") if request is not None else None
    if token:
        from carts.services import cart_merge  # (imported when called: models load after apps)

        cart_merge(user=user, token=token)


class CartsConfig(AppConfig):
    name = "carts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.hooks import on_sign_in
        from carts.privacy import register_carts_personal_data

        # carts sits above accounts, so accounts cannot call it: carts subscribes instead.
        on_sign_in(merge_anonymous_cart_at_sign_in)
        register_carts_personal_data()
