"""Domain errors of accounts (codes are part of the API contract, shared/API.md)."""

from core.errors import Forbidden, InvalidInput, Unauthenticated


class EmailNotVerified(Forbidden):
    """The user has not verified their email address yet (checkout, reviews)."""

    code = "email_not_verified"
    default_detail = "Verify your email address first."


class InvalidCredentials(Unauthenticated):
    code = "authentication_failed"
    default_detail = "No active account found with the given credentials."


class RefreshTokenInvalid(Unauthenticated):
    """A refresh token that is malformed, expired, used (rotated), logged out or revoked."""

    code = "token_not_valid"
    default_detail = "Token is invalid or expired."


class InvalidToken(InvalidInput):
    """A bad, expired or already used email-verification / password-reset token."""

    code = "invalid_token"
    default_detail = "This link is invalid or has expired."

    def __init__(self, detail: str | None = None, *, attr: str | None = "token") -> None:
        super().__init__(detail, attr=attr)


class EmailTaken(InvalidInput):
    code = "unique"
    default_detail = "A user with this email already exists."

    def __init__(self) -> None:
        super().__init__(attr="email")


class WrongPassword(InvalidInput):
    code = "invalid_password"
    default_detail = "The current password is incorrect."

    def __init__(self, attr: str = "old_password") -> None:
        super().__init__(attr=attr)


class WeakPassword(InvalidInput):
    """Django's password validators said no; one error entry per failed validator."""

    code = "invalid"
    default_detail = "This password is too weak."

    def __init__(self, problems: list[tuple[str, str]], attr: str = "password") -> None:
        # code/detail of the first problem head the error; every problem is an entry.
        first_code, first_detail = problems[0]
        super().__init__(
            first_detail,
            code=first_code,
            attr=attr,
            errors=[{"code": code, "detail": detail, "attr": attr} for code, detail in problems],
        )
