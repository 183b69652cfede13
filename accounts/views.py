"""Accounts API (shared/API.md, "Accounts"). Thin: serializers parse, services act."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, status, viewsets
from rest_framework.generics import RetrieveUpdateAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from accounts import privacy, selectors, services
from accounts.errors import InvalidToken, RefreshTokenInvalid
from accounts.filters import UserFilter
from accounts.serializers import (
    AccountDeleteSerializer,
    AddressSerializer,
    AdminUserSerializer,
    DetailSerializer,
    LoginSerializer,
    LogoutSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
    VerifyEmailResponseSerializer,
    VerifyEmailSerializer,
)
from core.ratelimit import user_or_ip
from ecommerce.api.auth import read_refresh_token, session_family_id, token_pair
from ecommerce.api.openapi import ErrorResponse401Serializer, error_responses
from ecommerce.api.permissions import IsAdmin, IsCustomer
from ecommerce.api.throttling import GlobalRateThrottle, RateLimitThrottle

PASSWORD_ERROR_CODES = [
    "password_too_short",
    "password_too_common",
    "password_entirely_numeric",
    "password_too_similar",
]
UNAUTHORIZED = OpenApiResponse(ErrorResponse401Serializer, description="Bad credentials or token.")

LoginIpThrottle = RateLimitThrottle.for_("login-ip", "RATELIMIT_LOGIN_IP")
RegisterIpThrottle = RateLimitThrottle.for_("register-ip", "RATELIMIT_REGISTER_IP")
PasswordResetIpThrottle = RateLimitThrottle.for_("password-reset-ip", "RATELIMIT_PASSWORD_RESET")
VerifyResendThrottle = RateLimitThrottle.for_("verify-resend", "RATELIMIT_VERIFY_RESEND", key=user_or_ip)
AccountExportThrottle = RateLimitThrottle.for_("account-export", "RATELIMIT_ACCOUNT_EXPORT", key=user_or_ip)
AccountDeleteThrottle = RateLimitThrottle.for_("account-delete", "RATELIMIT_ACCOUNT_DELETE", key=user_or_ip)


class PublicAuthView(APIView):
    """Endpoints that work without being signed in ignore any Authorization header: a
    stale access token must not stop a client from signing in again."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Credential endpoints (register, sign-in, refresh, verify, password reset): their
    # bodies carry passwords and tokens and their answers tokens, so the Idempotency-Key
    # middleware never records them. Each is safe to repeat on its own terms.
    idempotency_exempt = True


@extend_validation_errors(["unique"], field_name="email")
@extend_validation_errors(PASSWORD_ERROR_CODES, field_name="password")
class RegisterView(PublicAuthView):
    throttle_classes = [GlobalRateThrottle, RegisterIpThrottle]

    @extend_schema(
        tags=["auth"],
        request=RegisterSerializer,
        responses={201: UserSerializer},
        summary="Create a customer account",
        description="Always a `customer`, never verified: `role`, `is_verified` and `is_staff` in the body are "
        "ignored. A verification email is sent once the account is saved.",
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_validation_errors(["invalid_token"], field_name="token")
class VerifyEmailView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        request=VerifyEmailSerializer,
        responses={200: VerifyEmailResponseSerializer},
        summary="Confirm an email address with the token from the verification email",
    )
    def post(self, request):
        serializer = VerifyEmailSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_verify_email(token=serializer.validated_data["token"])
        return Response({"detail": "Your email address is verified.", "is_verified": True})


class VerifyEmailResendView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [GlobalRateThrottle, VerifyResendThrottle]

    @extend_schema(
        tags=["auth"],
        request=None,
        responses={202: DetailSerializer},
        summary="Send the verification email again (no-op once verified)",
    )
    def post(self, request):
        services.email_verification_resend(user=request.user)
        return Response({"detail": "If your address is not verified yet, an email is on its way."}, status=202)


class TokenObtainView(PublicAuthView):
    throttle_classes = [GlobalRateThrottle, LoginIpThrottle]

    @extend_schema(
        tags=["auth"],
        request=LoginSerializer,
        responses={200: TokenPairSerializer, 401: UNAUTHORIZED},
        parameters=[
            OpenApiParameter(
                "X-Cart-Token",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Token of an anonymous cart to merge into the user's cart.",
            )
        ],
        summary="Sign in: email and password for an access and a refresh token",
        description="Failed attempts are limited per email (RATELIMIT_LOGIN_EMAIL), all attempts per client IP "
        "(RATELIMIT_LOGIN_IP); over the limit → 429 with `Retry-After`.",
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.auth_login(**serializer.validated_data, request=request._request)
        return Response(TokenPairSerializer(token_pair(session)).data)


class TokenRefreshView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, 401: UNAUTHORIZED},
        summary="Exchange a refresh token for a new pair (the old refresh token dies)",
        description="A refresh token works once. Presenting one that was already used revokes the whole "
        "session (every token rotated from the same sign-in): someone else has a copy.",
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            claims = read_refresh_token(serializer.validated_data["refresh"])
        except TokenError:
            raise RefreshTokenInvalid()
        session = services.token_refresh(user_id=claims.user_id, family_id=claims.family_id, jti=claims.jti)
        return Response(TokenPairSerializer(token_pair(session)).data)


@extend_validation_errors(["invalid_token"], field_name="refresh")
class LogoutView(APIView):
    idempotency_exempt = True  # the body is a refresh token: never recorded
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        request=LogoutSerializer,
        responses={204: None},
        summary="Sign out: the refresh token and its session die",
    )
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            claims = read_refresh_token(serializer.validated_data["refresh"])
        except ExpiredTokenError:
            return Response(status=status.HTTP_204_NO_CONTENT)  # dead already: nothing to end
        except TokenError:
            raise InvalidToken("This refresh token is not valid.", attr="refresh")
        services.auth_logout(user=request.user, token_user_id=claims.user_id, family_id=claims.family_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_validation_errors(["invalid_password"], field_name="old_password")
@extend_validation_errors(PASSWORD_ERROR_CODES, field_name="new_password")
class PasswordChangeView(APIView):
    idempotency_exempt = True  # the body holds passwords: never recorded
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        request=PasswordChangeSerializer,
        responses={204: None},
        summary="Change the password (needs the current one); other sessions are signed out",
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_change(
            user=request.user, keep_family_id=session_family_id(request), **serializer.validated_data
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(PublicAuthView):
    throttle_classes = [GlobalRateThrottle, PasswordResetIpThrottle]

    @extend_schema(
        tags=["auth"],
        request=PasswordResetSerializer,
        responses={202: DetailSerializer},
        summary="Email a password-reset link",
        description="Always 202, whether or not the address has an account.",
    )
    def post(self, request):
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        return Response({"detail": "If an account uses this address, a reset link is on its way."}, status=202)


@extend_validation_errors(["invalid_token"], field_name="token")
@extend_validation_errors(PASSWORD_ERROR_CODES, field_name="new_password")
class PasswordResetConfirmView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        request=PasswordResetConfirmSerializer,
        responses={204: None},
        summary="Set a new password with the `uid` and `token` of the reset link",
        description="Every session of the user is signed out; the link works once.",
    )
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(tags=["auth"], summary="Your profile"),
    patch=extend_schema(tags=["auth"], summary="Edit your names (email, role and verification are read-only)"),
)
class MeView(RetrieveUpdateAPIView):
    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        services.user_update_profile(user=serializer.instance, data=serializer.validated_data)


EXPORT_DESCRIPTION = """Every record the shop holds on you, as one JSON document:
`format` (`ecommerce.personal-data.v1`), `exported_at`, `user` (your profile), then one key
per kind of record: `addresses`, `sessions` (your sign-ins, without token ids),
`admin_log`, `api_requests` (requests kept 24 h for Idempotency-Key replays), `reviews`,
`stock_moves`, `cart`, `orders` (with `lines`, `history` and the `emails` sent about them),
`order_status_changes`, `payments` (with `refunds`; no card data or provider payloads) and
`invoices`. Money is a decimal string, timestamps ISO 8601 UTC. Limited per user
(RATELIMIT_ACCOUNT_EXPORT)."""


class AccountExportView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [GlobalRateThrottle, AccountExportThrottle]

    @extend_schema(
        tags=["auth"],
        summary="Export your personal data (everything the shop holds on you)",
        description=EXPORT_DESCRIPTION,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The personal-data document.")},
    )
    def get(self, request):
        return Response(privacy.user_data_export(user=request.user))


@extend_validation_errors(["invalid_password"], field_name="password")
class AccountDeleteView(APIView):
    idempotency_exempt = True  # the body holds the password: never recorded (a repeat is 401 anyway)
    permission_classes = [IsAuthenticated]
    throttle_classes = [GlobalRateThrottle, AccountDeleteThrottle]

    @extend_schema(
        tags=["auth"],
        request=AccountDeleteSerializer,
        responses={204: None},
        summary="Erase your account (needs your password)",
        description="At once and for good: your email and names are replaced, your addresses, cart and "
        "sessions deleted, every token (this one too) stops working, your reviews stay without your name. "
        "Orders and invoices are kept for the books, with the address they were sent to, no longer linked to "
        "an account; unpaid orders are cancelled. A wrong password → 400 `invalid_password`; attempts are "
        "limited per user (RATELIMIT_ACCOUNT_DELETE).",
    )
    def post(self, request):
        serializer = AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        privacy.user_erase(user=request.user, password=serializer.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(tags=["users"], summary="List and search users (admin)"),
    retrieve=extend_schema(tags=["users"], summary="A user (admin)"),
    partial_update=extend_schema(
        tags=["users"],
        summary="Change a user's role or active flag (admin)",
        responses={200: AdminUserSerializer, **error_responses(409)},
    ),
)
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = AdminUserSerializer
    permission_classes = [IsAdmin]
    filterset_class = UserFilter
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.user_list()

    def perform_update(self, serializer):
        services.user_update_by_admin(user=serializer.instance, actor=self.request.user, data=serializer.validated_data)


@extend_schema_view(
    list=extend_schema(tags=["addresses"], summary="Your addresses (default first)"),
    create=extend_schema(tags=["addresses"], summary="Add an address (the first one becomes the default)"),
    retrieve=extend_schema(tags=["addresses"], summary="One of your addresses"),
    update=extend_schema(tags=["addresses"], summary="Replace an address"),
    partial_update=extend_schema(tags=["addresses"], summary="Edit an address; `is_default=true` moves the default"),
    destroy=extend_schema(tags=["addresses"], summary="Delete an address"),
)
class AddressViewSet(viewsets.ModelViewSet):
    serializer_class = AddressSerializer
    permission_classes = [IsCustomer]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.address_list_for_user(user=None).none()
        return selectors.address_list_for_user(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.address_create(user=self.request.user, data=serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.address_update(address=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.address_delete(address=instance)
