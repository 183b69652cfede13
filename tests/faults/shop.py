"""Shop data and client calls shared by the fault tests (the servers run the production
settings, so passwords are hashed with a hasher those settings accept)."""

from __future__ import annotations

import uuid

import jwt
from django.contrib.auth.hashers import Argon2PasswordHasher

from tests.orders.helpers import ADDRESS

PASSWORD = "correct-horse-battery-staple"


def with_server_password(user, password: str = PASSWORD):
    """Give `user` a password the server's hashers verify (the test settings hash with MD5,
    which production does not accept)."""
    user.password = Argon2PasswordHasher().encode(password, Argon2PasswordHasher().salt())
    user.save(update_fields=["password"])
    return user


def bearer(user) -> dict[str, str]:
    """Authorization header with the access token of a real sign-in session, signed with the
    servers' JWT_SIGNING_KEY (access tokens without a live session are refused)."""
    from accounts.services import session_start
    from ecommerce.api.auth import token_pair
    from tests.faults.services import JWT_SIGNING_KEY

    issued = token_pair(session_start(user=user)).access
    claims = jwt.decode(issued, options={"verify_signature": False})
    return {"Authorization": f"Bearer {jwt.encode(claims, JWT_SIGNING_KEY, algorithm='HS256')}"}


def checkout_body(product, quantity: int = 1) -> dict:
    return {"shipping_address": ADDRESS, "items": [{"product_id": str(product.pk), "quantity": quantity}]}


def idempotency(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or f"faults-{uuid.uuid4()}"}


def error_codes(response) -> list[str]:
    body = response.json()
    return [error["code"] for error in body["errors"]]


def assert_service_unavailable(response) -> None:
    """503 in the API's error envelope (JSON, never an HTML page)."""
    assert response.status_code == 503, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers["Content-Type"]
    body = response.json()
    assert body["type"] == "server_error"
    assert [e["code"] for e in body["errors"]] == ["service_unavailable"], body
