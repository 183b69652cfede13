"""Idempotency keys for POST requests (IETF draft "The Idempotency-Key HTTP Header Field").

Two pieces:
- `IdempotencyMiddleware` honours the `Idempotency-Key` header on every POST under /api/:
  the first request with a key records (caller, method, path, key, hash of the body) in its
  own committed transaction *before* the view runs — the unique constraint makes a
  concurrent twin fail and answer 409 `idempotency_key_in_use` — then stores the response.
  A retry with the same body replays it (status and body) with `Idempotent-Replayed: true`;
  with another body it answers 422 `idempotency_key_reused`. 5xx, 401 and 429 responses and
  unexpected errors are not stored (the record is dropped) so the client can retry.
- A view class with `idempotency_exempt = True` is left alone (for example a login view,
  whose response carries tokens that should not be stored).
- `IdempotencyRequiredMixin` on a DRF view makes the header mandatory for the listed
  actions (400 `idempotency_key_required`), checked after authentication.

Records live in `core.IdempotencyRecord`; `orders.tasks.purge_idempotency_records`
deletes them after IDEMPOTENCY_KEY_TTL (24 h).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.utils import timezone

from core.errors import InvalidInput
from ecommerce.api.exceptions import RequestTooLarge, json_error

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Response headers that are part of the answer and so are replayed with it.
REPLAYED_RESPONSE_HEADERS = ("X-Cart-Token", "Location")
# Responses a retry should not replay: the client is expected to try again.
_NOT_STORED = {401, 429}

OPENAPI_HEADER_DESCRIPTION = (
    "Unique key (1–255 printable characters) making the request safe to retry: a retry with "
    "the same key and body replays the first response with `Idempotent-Replayed: true`."
)


class IdempotencyKeyRequired(InvalidInput):
    code = "idempotency_key_required"
    default_detail = "This request needs an Idempotency-Key header."


def key_is_valid(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(" " <= ch <= "~" for ch in key)


def _error(status: int, code: str, detail: str) -> JsonResponse:
    # A bad or missing key is a validation error of the request (400); the rest are 4xx.
    return json_error(status, code, detail, validation=status == 400)


def _digest(value: bytes) -> str:
    """HMAC-SHA256 under a server key: records show no body or token that could be looked up
    or guessed (an unsalted hash of a short password body can be)."""
    key = (settings.IDEMPOTENCY_HMAC_KEY or settings.SECRET_KEY).encode()
    return hmac.new(key, value, hashlib.sha256).hexdigest()


def caller_scope(request: HttpRequest) -> str | None:
    """Who is calling: "user:<id>" (JWT or session) or "cart:<digest of X-Cart-Token>" for a
    visitor. None when nothing is to be recorded: invalid credentials (the view answers 401),
    or a visitor without a cart token — an IP is no identity (two visitors behind one NAT
    would get each other's replays, cart token included), so such requests run unrecorded."""
    if request.META.get("HTTP_AUTHORIZATION"):
        from rest_framework.exceptions import APIException

        from ecommerce.api.auth import bearer_user_id

        try:
            # The signed token names the user; DRF loads (and checks) the user itself when
            # the view runs, so no database read here.
            user_id = bearer_user_id(request)
        except APIException:
            return None
        if user_id is not None:
            return f"user:{user_id}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    cart = request.headers.get("X-Cart-Token", "")
    return f"cart:{_digest(cart.encode())[:64]}" if cart else None


def body_fingerprint(body: bytes) -> str:
    """HMAC-SHA256 of the body; JSON bodies are canonicalised first (key order, spacing)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON (the view will say so)
        canonical = body
    return _digest(canonical)


# Stands for the caller's own X-Cart-Token in a stored answer: the token itself is never
# stored (a record is found again only by a caller presenting that same token).
_CART_TOKEN_MARK = "{{X-Cart-Token}}"  # noqa: S105 - a placeholder, not a secret


def _replay(record, request: HttpRequest) -> HttpResponse:
    body = record.response_body
    headers = dict(record.response_headers or {})
    cart_token = request.headers.get("X-Cart-Token", "")
    if cart_token:
        body = body.replace(_CART_TOKEN_MARK, cart_token)
        headers = {name: cart_token if value == _CART_TOKEN_MARK else value for name, value in headers.items()}
    response = HttpResponse(
        body, status=record.response_status, content_type=record.response_content_type or "application/json"
    )
    for name, value in headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _storable(request: HttpRequest, response: HttpResponse) -> tuple[str, dict] | None:
    """The body and replayed headers to store, with the caller's cart token masked; None when
    the answer must not be stored (it hands out a cart token other than the caller's)."""
    body = response.content.decode("utf-8", errors="replace")
    headers = {name: response[name] for name in REPLAYED_RESPONSE_HEADERS if response.has_header(name)}
    cart_token = request.headers.get("X-Cart-Token", "")
    issued = headers.get("X-Cart-Token")
    if issued is not None:
        if issued != cart_token:
            return None
        headers["X-Cart-Token"] = _CART_TOKEN_MARK
    if cart_token:
        body = body.replace(cart_token, _CART_TOKEN_MARK)
    return body, headers


def run_idempotent(request: HttpRequest, *, scope: str, key: str, body: bytes, call) -> HttpResponse:
    """Run `call()` at most once per (scope, method, path, key); see the module docstring."""
    from core.models import IdempotencyRecord, IdempotencyState

    identity = {"scope": scope[:100], "method": request.method, "path": request.path[:500], "key": key}
    fingerprint = body_fingerprint(body)
    now = timezone.now()
    for _attempt in range(2):
        try:
            # Committed before the view runs, so a concurrent twin sees it. Outside any
            # transaction a single INSERT commits by itself (no BEGIN/COMMIT round trips);
            # inside one (tests) a savepoint keeps a conflict from breaking it.
            if transaction.get_connection().in_atomic_block:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(**identity, request_hash=fingerprint)
            else:
                record = IdempotencyRecord.objects.create(**identity, request_hash=fingerprint)
            break
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(**identity).first()
            if record is None:  # purged between our INSERT and SELECT: try once more
                continue
            if record.created_at < now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL):
                # Older than the promise: forget it (unless someone else just did) and start over.
                IdempotencyRecord.objects.filter(pk=record.pk, updated_at=record.updated_at).delete()
                continue
            if record.request_hash != fingerprint:
                return _error(
                    422, "idempotency_key_reused", "This Idempotency-Key was used with a different request body."
                )
            if record.state == IdempotencyState.COMPLETED:
                return _replay(record, request)
            abandoned = record.updated_at < now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT)
            if abandoned and IdempotencyRecord.objects.filter(
                pk=record.pk, state=IdempotencyState.IN_PROGRESS, updated_at=record.updated_at
            ).update(updated_at=now):
                break  # the first attempt died (worker crash): this request takes over
            return _error(
                409, "idempotency_key_in_use", "A request with this Idempotency-Key is still being processed."
            )
    else:
        return _error(409, "idempotency_key_in_use", "A request with this Idempotency-Key is still being processed.")

    try:
        # The view's writes and the stored answer commit together: a worker that dies half
        # way leaves neither (the retry takes the key over once the lock times out and runs
        # the request afresh), and one that dies after the commit leaves an answer to replay.
        with transaction.atomic():
            response = call()
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            stored = None
            if not (
                response.status_code >= 500
                or response.status_code in _NOT_STORED
                or getattr(response, "streaming", False)
            ):
                stored = _storable(request, response)
            if stored is None:
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
            else:
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    state=IdempotencyState.COMPLETED,
                    response_status=response.status_code,
                    response_body=stored[0],
                    response_content_type=response.get("Content-Type", "application/json")[:100],
                    response_headers=stored[1],
                    updated_at=timezone.now(),
                )
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    return response


class IdempotencyMiddleware:
    """Honours Idempotency-Key on every POST under /api/ (see the module docstring)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if request.method != "POST" or not request.path.startswith("/api/"):
            return None
        if getattr(getattr(view_func, "cls", None), "idempotency_exempt", False):
            return None  # e.g. a login view whose response (tokens) must not be stored
        key = request.headers.get(HEADER)
        if key is None:
            return None  # views that require a key say so themselves (IdempotencyRequiredMixin)
        if not key_is_valid(key):
            return _error(
                400,
                "invalid_idempotency_key",
                f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            )
        try:
            body = request.body
        except RawPostDataException:  # a form already parsed by an earlier middleware
            return None
        except RequestDataTooBig:
            return json_error(RequestTooLarge.status_code, RequestTooLarge.default_code, RequestTooLarge.limit_detail())
        scope = caller_scope(request)
        if scope is None:
            return None
        return run_idempotent(
            request, scope=scope, key=key, body=body, call=lambda: view_func(request, *view_args, **view_kwargs)
        )


class IdempotencyRequiredMixin:
    """DRF views: `idempotency_required_actions = {"create", "pay"}` makes the header
    mandatory for those actions (checked after authentication and permissions)."""

    idempotency_required_actions: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        action = getattr(self, "action", None) or request.method.lower()
        if action in self.idempotency_required_actions and not request.headers.get(HEADER):
            raise IdempotencyKeyRequired()
