"""Demo users of `make run` (`manage.py load_demo`). Idempotent: existing users are kept
and their passwords reset to the demo ones."""

from __future__ import annotations

from accounts.models import Role, User

DEMO_USERS = [
    ("admin@example.com", "admin-demo-pass", Role.ADMIN, True),
    ("manager@example.com", "manager-demo-pass", Role.MANAGER, False),
    ("customer@example.com", "customer-demo-pass", Role.CUSTOMER, False),
]


def load(stdout) -> list[str]:
    """Creates the users; returns the login lines printed at the end of `load_demo`."""
    for email, password, role, superuser in DEMO_USERS:
        user = User.objects.filter(email=email).first() or User(email=email)
        user.role = role
        user.is_superuser = superuser
        user.is_verified = True
        user.is_active = True
        user.set_password(password)
        user.save()
    return ["Demo logins (email / password):"] + [
        f"  {role:<9} {email:<24} {password}" for email, password, role, _ in DEMO_USERS
    ]
