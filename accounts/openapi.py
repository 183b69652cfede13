"""Schema generation for the accounts views.

The project allows 402/409/422/502/503 in DRF_STANDARDIZED_ERRORS' ALLOWED_ERROR_STATUS_CODES
without an ERROR_SCHEMAS entry, so drf-standardized-errors would add (and warn about) them on
every operation. Here an operation only gets the standard responses drf-standardized-errors
can infer (400, 401, 403, 404, 405, 406, 415, 429, 500); any other status a view returns is
declared on that view with @extend_schema."""

from drf_standardized_errors.openapi import AutoSchema

INFERRED_STATUS_CODES = {"400", "401", "403", "404", "405", "406", "415", "429", "500"}


class AccountsAutoSchema(AutoSchema):
    def _get_allowed_error_status_codes(self) -> list[str]:
        return [code for code in super()._get_allowed_error_status_codes() if code in INFERRED_STATUS_CODES]

    def _get_error_response_serializer(self, status_code: str):
        # simplejwt's failures (`token_not_valid`, `user_inactive`, ...) are 401s too.
        if str(status_code) == "401":
            from accounts.serializers import AuthErrorResponseSerializer

            return AuthErrorResponseSerializer
        return super()._get_error_response_serializer(status_code)
