"""Catalog HTTP layer: parse, check permissions, call one selector or service, serialize.
Cached GETs store the rendered bytes (catalog.cache), so a hit skips the database and the
serializers; each entry records the generations it was rendered under and is served only
while they are current (every write replaces one). Pages showing products record their
ids, and a hit merges in the products' live stock."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from catalog import selectors, services
from catalog.cache import (
    CATALOG_STAMP,
    CachedPage,
    Lookup,
    Variants,
    cache_stats,
    cached_page,
    cut_stock_template,
    list_count_key,
    list_stamp,
    product_detail_stamp,
    record_lookup,
    render_stock_template,
    response_cache_key,
    store_page,
)
from catalog.errors import FileTooLarge
from catalog.filters import ProductFilter
from catalog.models import Brand, ProductImage, ProductStructure, ProductType, Review
from catalog.pagination import ProductPagination
from catalog.serializers import (
    BrandSerializer,
    BrandWriteSerializer,
    CategoryDetailSerializer,
    CategorySerializer,
    CategoryTreeNodeSerializer,
    CategoryWriteSerializer,
    ProductDetailSerializer,
    ProductFacetsSerializer,
    ProductImageSerializer,
    ProductImageUpdateSerializer,
    ProductImageUploadSerializer,
    ProductSerializer,
    ProductStatsSerializer,
    ProductTypeSerializer,
    ProductTypeWriteSerializer,
    ProductWriteSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
    ReviewWriteSerializer,
    product_row_data,
)
from core.compression import MIN_SIZE, response_encoding
from core.errors import NotFound
from ecommerce.api.openapi import error_response
from ecommerce.api.pagination import PageNumberPagination as DefaultPagination
from ecommerce.api.permissions import IsManager, IsManagerOrReadOnly, is_staff_user
from ecommerce.api.renderers import JSONRenderer
from ecommerce.api.uploads import limit_upload_size

UUID_RE = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
WRITES = ["create", "update", "partial_update"]
CONFLICT = error_response("`protected` (still referenced), `already_reviewed` or `unique`.")


def _stored_body(variants: Variants, encoding: str | None) -> tuple[bytes, str | None]:
    """The stored bytes of a page to send for `encoding` (the client's, core.compression.
    response_encoding) and their Content-Encoding: the identity where that encoding is not
    stored or did not pay."""
    body = variants.get(encoding) if encoding else None
    return (variants[""], None) if body is None else (body, encoding)


def cached_variant_response(response: HttpResponse, variants: Variants, encoding: str | None) -> HttpResponse:
    """Give `response` the body of `variants` (a cached page in each stored encoding) for
    `encoding`, with the headers CompressionMiddleware would set: the stored bytes are sent
    as they are, never compressed again."""
    if len(variants[""]) >= MIN_SIZE:
        patch_vary_headers(response, ("Accept-Encoding",))
    response.content, content_encoding = _stored_body(variants, encoding)
    if content_encoding:
        response["Content-Encoding"] = content_encoding
    response["Content-Length"] = str(len(response.content))
    return response


def cached_hit_response(page: CachedPage, encoding: str | None, *, vary: tuple[str, ...] = ()) -> HttpResponse:
    """The answer to a cache hit, from the view or the early path (catalog.middleware):
    the stored bytes for `encoding`, with the headers cached_variant_response gives (and
    `vary` added to Vary), set in one go. Marked `precompressed`: CompressionMiddleware has
    nothing left to do on it."""
    headers = {**page.headers, "X-Cache": "HIT"}
    extra = ("Accept-Encoding", *vary) if len(page.variants[""]) >= MIN_SIZE else vary
    if extra:
        headers["Vary"] = _vary(headers.get("Vary", ""), extra)
    body, content_encoding = _stored_body(page.variants, encoding)
    if content_encoding:
        headers["Content-Encoding"] = content_encoding
    headers["Content-Length"] = str(len(body))
    response = HttpResponse(body, content_type="application/json", headers=headers)
    response.precompressed = True
    return response


@functools.lru_cache(maxsize=64)
def _vary(existing: str, extra: tuple[str, ...]) -> str:
    """`existing` Vary with `extra` added (as patch_vary_headers adds them), remembered."""
    response = HttpResponse()
    if existing:
        response["Vary"] = existing
    patch_vary_headers(response, extra)
    return response["Vary"]


def cache_variant(request, *, staff: bool, media_type: str) -> str:
    """Everything that changes the bytes of a cached answer besides path and parameters."""
    return f"{'staff' if staff else 'public'}|{settings.CURRENCY}|{media_type}"


def query_pairs(request) -> list[tuple[str, str]]:
    """The request's query parameters as (name, value) pairs, every value of each name."""
    return [(k, v) for k, values in request.GET.lists() for v in values]


def cache_key_for(request, namespace: str, variant: str) -> str:
    return response_cache_key(namespace, variant, request.build_absolute_uri(request.path), query_pairs(request))


class CachedReadMixin:
    """Serve a GET from the rendered-bytes cache, else build, render and store it. A build
    whose response shows products sets `response.stock_rows`: their serialized dicts inside
    `response.data`, so the page is stored with their stock fields open (catalog.cache).

    Anonymous hits are usually answered before this view runs, by
    catalog.middleware.CachedCatalogMiddleware; on a miss it leaves its lookup on the
    request (`catalog_cache_probe`), so the cache is not asked twice."""

    def cached(self, request, namespace: str, build: Callable[[], Response], stamp_keys=CATALOG_STAMP):
        use_cache = settings.CATALOG_CACHE_ENABLED and getattr(request.accepted_renderer, "format", "") == "json"
        key, lookup = None, Lookup(None, None)
        encoding = response_encoding(request)
        if use_cache:
            variant = cache_variant(request, staff=is_staff_user(request.user), media_type=request.accepted_media_type)
            key = cache_key_for(request, namespace, variant)
            probe = getattr(request, "catalog_cache_probe", None)
            if probe is not None and probe[0] == key:
                lookup = probe[1]  # the early path missed and counted it
            else:
                lookup = cached_page(key, stamp_keys, encoding=encoding)
                if lookup.stamp is not None:  # the cache answered: count it (nothing to count when it is down)
                    record_lookup(hit=lookup.page is not None)
            if lookup.page is not None:
                return cached_hit_response(lookup.page, encoding)
        stamp = lookup.stamp
        response = build()
        response["X-Cache"] = "MISS"
        if key is not None and response.status_code == 200:
            response.accepted_renderer = request.accepted_renderer
            response.accepted_media_type = request.accepted_media_type
            response.renderer_context = self.get_renderer_context()
            # What DRF adds to every answer of this view (Allow, Vary: Accept), kept with the
            # bytes so that an early hit carries them too.
            headers = dict(self.default_response_headers)
            rows = getattr(response, "stock_rows", None)
            prepared = getattr(response, "stock_template", None)  # rendered with its template
            rendered = None
            if prepared is not None:
                if stamp is None:
                    return response
                rendered = (response.content, *prepared)
            elif rows and stamp is not None:
                rendered = render_stock_template(rows, lambda: response.render().content)
            if rendered is not None:
                content, template, levels = rendered
                variants = store_page(
                    key,
                    stamp,
                    content,
                    headers=headers,
                    template=template,
                    levels=levels,
                    stock_seq=lookup.stock_seq,
                    encoding=encoding,
                )
            elif response.is_rendered:  # placeholders did not line up: render plainly, do not store
                response.content = response.rendered_content
                return response
            else:
                response.render()
                variants = store_page(key, stamp, response.content, headers=headers, encoding=encoding)
            cached_variant_response(response, variants, encoding)
        return response


# The cached reads the early path (catalog.middleware) may answer for anonymous visitors:
# URL name -> (namespace, the generation keys for the URL's kwargs and query). The views
# above use the same namespaces and stamps.
PUBLIC_CACHED_READS: dict[str, tuple[str, Callable]] = {
    "product-list": ("products", lambda kwargs, params: list_stamp(params)),
    "product-detail": ("product", lambda kwargs, params: product_detail_stamp(kwargs["pk"], staff=False)),
    "product-facets": ("facets", lambda kwargs, params: list_stamp(params)),
    "category-list": ("categories", lambda kwargs, params: CATALOG_STAMP),
    "category-detail": ("category", lambda kwargs, params: CATALOG_STAMP),
    "category-tree": ("category-tree", lambda kwargs, params: CATALOG_STAMP),
}


# --- categories ------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List categories (flat, in tree order)"),
    retrieve=extend_schema(summary="One category with breadcrumbs and children"),
    create=extend_schema(request=CategoryWriteSerializer, responses={201: CategoryDetailSerializer}),
    update=extend_schema(request=CategoryWriteSerializer, responses={200: CategoryDetailSerializer}),
    partial_update=extend_schema(request=CategoryWriteSerializer, responses={200: CategoryDetailSerializer}),
    destroy=extend_schema(responses={204: None, 409: CONFLICT}),
)
class CategoryViewSet(CachedReadMixin, viewsets.ModelViewSet):
    permission_classes = [IsManagerOrReadOnly]
    serializer_class = CategorySerializer
    pagination_class = DefaultPagination
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        return selectors.category_list()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return CategoryDetailSerializer
        if self.action in ("create", "update", "partial_update"):
            return CategoryWriteSerializer
        return CategorySerializer

    def _detail(self, category, status_code=200) -> Response:
        context = {
            **self.get_serializer_context(),
            "ancestors": selectors.category_ancestors(category),
            "children": list(category.children.order_by("sort_order", "name")),
        }
        return Response(CategoryDetailSerializer(category, context=context).data, status=status_code)

    def list(self, request, *args, **kwargs):
        return self.cached(request, "categories", lambda: super(CategoryViewSet, self).list(request, *args, **kwargs))

    def retrieve(self, request, *args, **kwargs):
        return self.cached(request, "category", lambda: self._detail(selectors.category_get(kwargs[self.lookup_field])))

    @extend_schema(summary="The whole category tree, nested", responses={200: CategoryTreeNodeSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def tree(self, request):
        return self.cached(request, "category-tree", lambda: Response(selectors.category_tree()))

    def create(self, request, *args, **kwargs):
        serializer = CategoryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_create(**serializer.validated_data)
        return self._detail(category, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        category = selectors.category_get(kwargs[self.lookup_field])
        serializer = CategoryWriteSerializer(category, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        category = services.category_update(category, **serializer.validated_data)
        return self._detail(category)

    def destroy(self, request, *args, **kwargs):
        services.category_delete(selectors.category_get(kwargs[self.lookup_field]))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- brands ----------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(request=BrandWriteSerializer, responses={201: BrandSerializer}),
    update=extend_schema(request=BrandWriteSerializer, responses={200: BrandSerializer}),
    partial_update=extend_schema(request=BrandWriteSerializer, responses={200: BrandSerializer}),
    destroy=extend_schema(responses={204: None, 409: CONFLICT}),
)
class BrandViewSet(viewsets.ModelViewSet):
    permission_classes = [IsManagerOrReadOnly]
    serializer_class = BrandSerializer
    pagination_class = DefaultPagination
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        return Brand.objects.order_by("name", "id")

    def _get(self, pk) -> Brand:
        try:
            return Brand.objects.get(pk=pk)
        except (Brand.DoesNotExist, ValueError, DjangoValidationError):
            raise NotFound()

    def create(self, request, *args, **kwargs):
        serializer = BrandWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        brand = services.brand_create(**serializer.validated_data)
        return Response(BrandSerializer(brand).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        brand = self._get(kwargs[self.lookup_field])
        serializer = BrandWriteSerializer(brand, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return Response(BrandSerializer(services.brand_update(brand, **serializer.validated_data)).data)

    def destroy(self, request, *args, **kwargs):
        services.brand_delete(self._get(kwargs[self.lookup_field]))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- product types ----------------------------------------------------------------------


@extend_validation_errors(["invalid"], field_name="attributes", actions=WRITES)
@extend_schema_view(
    list=extend_schema(summary="Product types with their typed attributes"),
    create=extend_schema(request=ProductTypeWriteSerializer, responses={201: ProductTypeSerializer}),
    update=extend_schema(request=ProductTypeWriteSerializer, responses={200: ProductTypeSerializer, 409: CONFLICT}),
    partial_update=extend_schema(
        request=ProductTypeWriteSerializer, responses={200: ProductTypeSerializer, 409: CONFLICT}
    ),
    destroy=extend_schema(responses={204: None, 409: CONFLICT}),
)
class ProductTypeViewSet(viewsets.ModelViewSet):
    permission_classes = [IsManagerOrReadOnly]
    serializer_class = ProductTypeSerializer
    pagination_class = DefaultPagination
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        return selectors.product_type_list()

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return ProductTypeWriteSerializer
        return ProductTypeSerializer

    def _detail(self, product_type, status_code=200) -> Response:
        fresh = selectors.product_type_get(product_type.pk)
        return Response(ProductTypeSerializer(fresh).data, status=status_code)

    def retrieve(self, request, *args, **kwargs):
        return Response(ProductTypeSerializer(selectors.product_type_get(kwargs[self.lookup_field])).data)

    def create(self, request, *args, **kwargs):
        serializer = ProductTypeWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        attributes = data.pop("attributes", None)
        product_type = services.product_type_save(ProductType(**data), attributes)
        return self._detail(product_type, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        product_type = selectors.product_type_get(kwargs[self.lookup_field])
        serializer = ProductTypeWriteSerializer(product_type, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        attributes = data.pop("attributes", None)
        for key, value in data.items():
            setattr(product_type, key, value)
        return self._detail(services.product_type_save(product_type, attributes))

    def destroy(self, request, *args, **kwargs):
        services.product_type_delete(selectors.product_type_get(kwargs[self.lookup_field]))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- products --------------------------------------------------------------------------


def _stock_rows(products: list[dict]) -> list[dict]:
    """The serialized products of a page whose stock the cache fills in on a hit: each
    product and each variant a parent lists."""
    return [row for product in products for row in (product, *product.get("variants", ()))]


@extend_validation_errors(["page_too_deep"], field_name="page", actions=["list"])
@extend_validation_errors(["invalid_attribute"], field_name="attributes.KEY", actions=WRITES)
@extend_validation_errors(["invalid_attribute", "invalid"], field_name="attributes", actions=WRITES)
@extend_validation_errors(["invalid_parent"], field_name="parent", actions=WRITES)
@extend_validation_errors(["invalid_parent"], field_name="product_type_id", actions=WRITES)
@extend_validation_errors(["required"], field_name="category_id", actions=["create"])
@extend_validation_errors(["invalid_cursor"], field_name="cursor", actions=["list"])
@extend_schema_view(
    list=extend_schema(summary="List, filter, search and order products"),
    retrieve=extend_schema(
        summary="One product (inactive ones are 404 except for staff; staff also see its last stock moves)",
        responses={200: ProductDetailSerializer},
    ),
    create=extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer, 409: CONFLICT}),
    update=extend_schema(request=ProductWriteSerializer, responses={200: ProductSerializer, 409: CONFLICT}),
    partial_update=extend_schema(request=ProductWriteSerializer, responses={200: ProductSerializer, 409: CONFLICT}),
    destroy=extend_schema(responses={204: None, 409: CONFLICT}),
)
class ProductViewSet(CachedReadMixin, viewsets.ModelViewSet):
    permission_classes = [IsManagerOrReadOnly]
    serializer_class = ProductSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProductFilter
    pagination_class = ProductPagination
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        return selectors.product_base_queryset(self.request.user)

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return ProductWriteSerializer
        return ProductSerializer

    def _filterset(self) -> ProductFilter:
        """This request's product filters, validated: a bad value is 400 naming it."""
        filterset = selectors.product_filterset(self.request.user, self.request.query_params)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return filterset

    def _sends_json_text(self, request) -> bool:
        """Whether this answer is encoded by orjson, which can send JSON text as it is."""
        renderer = getattr(request, "accepted_renderer", None)
        return isinstance(renderer, JSONRenderer) and renderer.encodes_with_orjson(
            request.accepted_media_type, self.get_renderer_context()
        )

    def _list(self, request, *, json_text: bool = True) -> Response:
        filterset = self._filterset()
        # The paginator counts the list (up to the page window); a relevance-ranked search
        # counts its ranked candidates itself.
        staff = is_staff_user(request.user)
        # Sent as JSON by orjson: the database may write the items (selectors.PageJSON).
        # Every stock field of its items is written as `slot`, a placeholder with a nonce.
        slot = f'"@@{uuid.uuid4().hex}@@"' if json_text and self._sends_json_text(request) else None
        products, rows = selectors.product_list_rows(selectors.product_list(filterset), staff=staff, json_slot=slot)
        audience = "staff" if staff else "public"
        count_cache = (list_count_key(audience, request.path, query_pairs(request)), list_stamp(request.query_params))
        known = getattr(request, "catalog_count_probe", None)  # read with the page's entry (catalog.middleware)
        if known is not None and known[0] == count_cache[0]:
            count_cache = (*count_cache, known[1])
        ordering = selectors.effective_ordering(filterset)
        page = self.paginator.paginate(products, request, ordering, count_cache=count_cache, rows=rows)
        if page and isinstance(page[0], selectors.JsonItem):
            return self._json_text_page(request, page, slot)
        # PostgreSQL's rows carry their variants (selectors.PageRows); others are read here.
        parents = [
            row.id for row in page if row.structure == ProductStructure.PARENT and not hasattr(row, "variant_rows")
        ]
        variants = selectors.product_variants_by_parent(parents, request.user)
        results = [
            product_row_data(
                row, selectors.row_images(row), getattr(row, "variant_rows", None) or variants.get(row.id, [])
            )
            for row in page
        ]
        response = self.paginator.get_paginated_response(results)
        response.stock_rows = _stock_rows(response.data["results"])
        return response

    def _json_text_page(self, request, items: list, slot: str) -> Response:
        """The list answer from items the database wrote as JSON text: rendered here, each
        item as it is, and the stock placeholders filled in with the levels read with them;
        the template they were cut into goes with the response (`stock_template`), for the
        cache to store."""
        levels = selectors.json_item_levels(items)
        response = self.paginator.get_paginated_response([orjson.Fragment(item.item) for item in items])
        response.accepted_renderer = request.accepted_renderer
        response.accepted_media_type = request.accepted_media_type
        response.renderer_context = self.get_renderer_context()
        cut = cut_stock_template(response.render().content, slot.encode(), levels)
        if cut is None:  # cannot happen (no text holds this request's nonce): the page as Python writes it
            self._paginator = self.pagination_class()
            return self._list(request, json_text=False)
        response.content, template = cut
        response.stock_template = (template, levels)
        return response

    def list(self, request, *args, **kwargs):
        # Stock moves do not invalidate the list (its stock is merged in on a hit) unless
        # it is filtered by `in_stock`, and then only when a product crosses zero.
        return self.cached(request, "products", lambda: self._list(request), list_stamp(request.query_params))

    def retrieve(self, request, *args, **kwargs):
        def build():
            product = selectors.product_get_for_user(request.user, kwargs[self.lookup_field], display=True)
            selectors.product_attach_variants([product], request.user)
            context = {}
            if is_staff_user(request.user):  # cached under the "staff" variant only
                context["stock_moves"] = selectors.product_stock_moves(product)
                context["staff"] = True
            response = Response(ProductDetailSerializer(product, context=context).data)
            response.stock_rows = _stock_rows([response.data])
            return response

        stamp = product_detail_stamp(kwargs[self.lookup_field], staff=is_staff_user(request.user))
        return self.cached(request, "product", build, stamp)

    def create(self, request, *args, **kwargs):
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(by=request.user, **serializer.validated_data)
        selectors.product_attach_variants([product], request.user)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        product = selectors.product_get_for_user(request.user, kwargs[self.lookup_field])
        serializer = ProductWriteSerializer(product, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        # A `stock_quantity` sent here is a staff stock count: product_update moves it
        # through the stock ledger (reason `adjustment`, by this user), in the same
        # transaction as the other fields; only the fields sent are written.
        product = services.product_update(product, by=request.user, **serializer.validated_data)
        selectors.product_attach_variants([product], request.user)
        return Response(ProductSerializer(product).data)

    def destroy(self, request, *args, **kwargs):
        services.product_delete(selectors.product_get_for_user(request.user, kwargs[self.lookup_field]))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Counts per category, brand and attribute value, and the price range, of the filtered set",
        responses={200: ProductFacetsSerializer},
        filters=True,  # not a list, but it takes the list's filters
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def facets(self, request):
        def build():
            data = selectors.product_facets(self._filterset())
            # Plain data (hundreds of entries): no serializer pass; same shape as
            # ProductFacetsSerializer, which documents it.
            data["price"] = {k: None if v is None else f"{v:.2f}" for k, v in data["price"].items()}
            data["currency"] = settings.CURRENCY
            return Response(data)

        return self.cached(request, "facets", build, list_stamp(request.query_params))

    @extend_schema(summary="Catalog numbers for staff", responses={200: ProductStatsSerializer})
    @action(detail=False, methods=["get"], permission_classes=[IsManager], pagination_class=None, filter_backends=[])
    def stats(self, request):
        data = selectors.product_stats()
        data["currency"] = settings.CURRENCY
        data["cache"] = cache_stats()
        return Response(ProductStatsSerializer(data).data)


@extend_schema_view(
    list=extend_schema(summary="Approved reviews of a product"),
    create=extend_schema(
        summary="Review a product (one review per user)",
        request=ReviewWriteSerializer,
        responses={
            201: ReviewSerializer,
            403: error_response("`email_not_verified`: the author must verify their email first."),
            409: CONFLICT,
        },
    ),
)
class ProductReviewViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = ReviewSerializer
    pagination_class = DefaultPagination

    def _product(self):
        return selectors.product_get_for_user(self.request.user, self.kwargs["product_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        return selectors.review_list_for_product(self._product())

    def create(self, request, *args, **kwargs):
        product = self._product()
        serializer = ReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_create(user=request.user, product=product, **serializer.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


# --- product images --------------------------------------------------------------------

# Room for the multipart framing and the other fields around the file.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


@extend_schema_view(
    create=extend_schema(
        summary="Upload an image of a product (thumbnails follow from a background job)",
        request=ProductImageUploadSerializer,  # multipart/form-data (parser_classes)
        responses={201: ProductImageSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an image's alt text or position",
        request=ProductImageUpdateSerializer,
        responses={200: ProductImageSerializer},
    ),
    destroy=extend_schema(summary="Delete an image (its files and thumbnails go too)", responses={204: None}),
)
@extend_validation_errors(["invalid_image", "file_too_large"], field_name="image", actions=["create"])
class ProductImageViewSet(viewsets.GenericViewSet):
    permission_classes = [IsManager]
    serializer_class = ProductImageSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def _product(self):
        return selectors.product_get_for_user(self.request.user, self.kwargs["product_pk"])

    def get_queryset(self):
        return ProductImage.objects.none()  # the schema's; images are looked up per product

    def create(self, request, *args, **kwargs):
        # An oversized upload is refused before its body is read when the length says so,
        # else while it is parsed (the file is skipped, not stored).
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.IMAGE_MAX_BYTES + UPLOAD_OVERHEAD_BYTES:
            raise FileTooLarge(f"The image is larger than {settings.IMAGE_MAX_BYTES} bytes.")
        limit = limit_upload_size(request, settings.IMAGE_MAX_BYTES)
        product = self._product()
        serializer = ProductImageUploadSerializer(data=request.data)
        if limit is not None and limit.exceeded:
            raise FileTooLarge(f"The image is larger than {settings.IMAGE_MAX_BYTES} bytes.")
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        image = services.product_image_add(
            product, upload=data["image"], alt_text=data["alt_text"], position=data.get("position")
        )
        return Response(ProductImageSerializer(image).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        image = selectors.product_image_get(self._product(), kwargs["pk"])
        serializer = ProductImageUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = services.product_image_update(image, **serializer.validated_data)
        return Response(ProductImageSerializer(image).data)

    def destroy(self, request, *args, **kwargs):
        services.product_image_delete(selectors.product_image_get(self._product(), kwargs["pk"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    partial_update=extend_schema(
        summary="Change a review: its author the rating, title and body; staff `is_approved`",
        request=ReviewUpdateSerializer,
        responses={200: ReviewSerializer, 403: error_response("`permission_denied`")},
    ),
    destroy=extend_schema(summary="Delete a review (its author, or staff)", responses={204: None}),
)
class ProductReviewDetailViewSet(viewsets.GenericViewSet):
    """Someone else's review is 404 to a customer; staff reach every review."""

    permission_classes = [IsAuthenticated]
    serializer_class = ReviewSerializer

    def _review(self) -> Review:
        product = selectors.product_get_for_user(self.request.user, self.kwargs["product_pk"])
        return selectors.review_get_for_user(self.request.user, product, self.kwargs["pk"])

    def get_queryset(self):
        return Review.objects.none()  # the schema's; reviews are scoped in _review

    def partial_update(self, request, *args, **kwargs):
        review = self._review()
        serializer = ReviewUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_edit(review, by=request.user, **serializer.validated_data)
        return Response(ReviewSerializer(review).data)

    def destroy(self, request, *args, **kwargs):
        services.review_delete(self._review())
        return Response(status=status.HTTP_204_NO_CONTENT)
