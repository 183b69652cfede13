"""Django admin for staff. Every save, delete and bulk action goes through catalog.services,
so the same validation runs and cached catalog responses are invalidated.

Stock is never a form field of an existing product: the change form shows it read-only
(with the last moves of the stock ledger below), the list does not edit it, and the
"Adjust stock" action moves it through the locked stock service. A form saves only the
fields it changed, so it cannot write back a stock level, or anything else, read when it
was opened."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.utils.html import format_html

from catalog import images, services
from catalog.models import Brand, Category, Product, ProductImage, Review, StockMove, StockReason
from catalog.selectors import STOCK_MOVES_SHOWN
from core.admin import ReadOnlyAdminMixin, apply_to_each
from core.errors import DomainError

EXPORT_FIELDS = ["sku", "slug", "name", "price", "stock_quantity", "is_active", "category", "brand", "attributes"]


class InStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [
            ("yes", "In stock"),
            ("low", f"Low stock (≤ {settings.CATALOG_LOW_STOCK_THRESHOLD})"),
            ("no", "Out of stock"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "low":  # the dashboard's "all low-stock products" link
            return queryset.filter(stock_quantity__lte=settings.CATALOG_LOW_STOCK_THRESHOLD)
        if self.value() == "yes":
            return queryset.filter(stock_quantity__gt=0)
        if self.value() == "no":
            return queryset.filter(stock_quantity=0)
        return queryset


class ServiceAdminMixin:
    """Route saves/deletes through services and show domain errors as admin messages."""

    save_service = None
    delete_service = None

    def save_model(self, request, obj, form, change):
        type(self).save_service(obj)

    def delete_model(self, request, obj):
        try:
            type(self).delete_service(obj)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Category)
class CategoryAdmin(ServiceAdminMixin, admin.ModelAdmin):
    save_service = services.category_save
    delete_service = services.category_delete
    list_display = ["indented_name", "slug", "depth", "sort_order"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    ordering = ["path"]

    @admin.display(description="name", ordering="path")
    def indented_name(self, obj: Category) -> str:
        return f"{'— ' * obj.depth}{obj.name}"

    def save_model(self, request, obj, form, change):
        try:
            services.category_save(obj)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)


@admin.register(Brand)
class BrandAdmin(ServiceAdminMixin, admin.ModelAdmin):
    save_service = services.brand_save
    delete_service = services.brand_delete
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    fields = ["user", "rating", "title", "verified_purchase", "is_approved", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class ProductImageForm(forms.ModelForm):
    upload = forms.FileField(
        required=False, help_text="New images only: JPEG, PNG, WebP or GIF (checked and cleaned as API uploads)."
    )

    position = forms.IntegerField(required=False, min_value=0, help_text="Empty: after the last image.")

    class Meta:
        model = ProductImage
        fields = ["upload", "alt_text", "position"]

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if self.instance._state.adding and self.has_changed() and not upload:
            self.add_error("upload", "Choose an image file.")
        if upload:
            try:
                images.clean_upload(upload)
            except DomainError as exc:
                self.add_error("upload", exc.detail)
        return cleaned


class ProductImageInline(admin.TabularInline):
    """Saved by ProductAdmin.save_formset through the image services (upload checks,
    thumbnails job, files removed on delete), never by the formset itself."""

    model = ProductImage
    form = ProductImageForm
    extra = 1
    fields = ["preview", "upload", "alt_text", "position", "width", "height"]
    readonly_fields = ["preview", "width", "height"]
    ordering = ["position", "id"]

    @admin.display(description="image")
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk:
            return "-"
        thumbnail = (obj.thumbnails or {}).get("small")
        return format_html(
            '<a href="{}"><img src="{}" alt="{}" style="max-height: 80px"></a>',
            images.url(obj.image),
            images.url(thumbnail or obj.image),
            obj.alt_text,
        )


class RecentStockMovesFormSet(BaseInlineFormSet):
    """The product's last STOCK_MOVES_SHOWN moves, newest first (a best seller has
    thousands). View-only: the admin does not validate or save these forms."""

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            recent = list(self.queryset.order_by("-id").values_list("pk", flat=True)[:STOCK_MOVES_SHOWN])
            self._queryset = self.queryset.filter(pk__in=recent).select_related("by").order_by("-id")
        return self._queryset


class StockMoveInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StockMove
    formset = RecentStockMovesFormSet
    extra = 0
    can_delete = False
    fields = ["created_at", "delta", "quantity_after", "reason", "by", "order_id", "note"]
    readonly_fields = fields
    verbose_name_plural = f"stock moves (the last {STOCK_MOVES_SHOWN}, newest first)"


class StockAdjustmentForm(forms.Form):
    stock_delta = forms.IntegerField(required=False, help_text="“Adjust stock”: units to add (negative: remove)…")
    stock_level = forms.IntegerField(required=False, min_value=0, help_text="…or the counted stock level.")
    stock_note = forms.CharField(required=False, max_length=255, help_text="Why (recorded in the stock ledger).")


class ProductActionForm(ActionForm, StockAdjustmentForm):
    """The changelist's action bar, with the fields of the "Adjust stock" action."""


@admin.register(Product)
class ProductAdmin(ServiceAdminMixin, admin.ModelAdmin):
    delete_service = services.product_delete
    list_display = ["name", "sku", "category", "brand", "price", "stock_quantity", "is_active", "updated_at"]
    list_filter = ["is_active", InStockFilter, "brand", "category"]
    list_select_related = ["category", "brand"]
    search_fields = ["name", "=sku"]
    autocomplete_fields = ["category", "brand"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["rating_avg", "review_count", "created_by", "created_at", "updated_by", "updated_at"]
    inlines = [ProductImageInline, StockMoveInline, ReviewInline]
    action_form = ProductActionForm
    actions = ["adjust_stock", "activate", "deactivate", "export_csv"]
    show_full_result_count = False  # no COUNT(*) over a million rows per page view
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        # A new product's stock is its opening level (a form field); an existing product's
        # stock moves only through the stock ledger ("Adjust stock").
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "stock_quantity"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        # Only what this form changed: the rest of the row (stock, counters, a colleague's
        # edit) stays as committed since the form was opened.
        services.product_save(obj, fields=form.changed_data if change else None, by=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        product = form.instance
        deleted = formset.deleted_forms
        # What the admin's change message lists (the formset itself saves nothing).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for image_form in deleted:
            if image_form.instance.pk:
                services.product_image_delete(image_form.instance)
                formset.deleted_objects.append(image_form.instance)
        for image_form in formset.forms:
            if image_form in deleted or not image_form.has_changed():
                continue
            data = image_form.cleaned_data
            if image_form.instance._state.adding:
                image = services.product_image_add(
                    product,
                    upload=data["upload"],
                    alt_text=data.get("alt_text", ""),
                    position=data.get("position") if "position" in image_form.changed_data else None,
                )
                formset.new_objects.append(image)
            else:
                changed = {k: data[k] for k in image_form.changed_data if k in ("alt_text", "position")}
                if changed.get("position", 0) is None:  # emptied: keep the place it has
                    del changed["position"]
                services.product_image_update(image_form.instance, **changed)
                formset.changed_objects.append((image_form.instance, list(changed)))

    @admin.action(description="Adjust stock of selected products (units to add, or the counted level)")
    def adjust_stock(self, request, queryset: QuerySet[Product]):
        form = StockAdjustmentForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Stock not adjusted: {form.errors.as_text()}", messages.ERROR)
            return
        delta, level = form.cleaned_data["stock_delta"], form.cleaned_data["stock_level"]
        if (delta is None) == (level is None):
            self.message_user(request, "Give either the units to add or the new stock level.", messages.ERROR)
            return
        note = form.cleaned_data["stock_note"] or "admin adjustment"
        apply_to_each(
            self,
            request,
            queryset.order_by("pk").values_list("pk", "sku"),
            lambda row: services.stock_move(
                row[0], delta=delta, set_to=level, reason=StockReason.ADJUSTMENT, by=request.user, note=note
            ),
            name_of=lambda row: row[1],
            done_message="Stock adjusted for {count} product(s).",
        )

    @admin.action(description="Activate selected products")
    def activate(self, request, queryset: QuerySet[Product]):
        n = services.product_set_active(queryset.values_list("pk", flat=True), True, by=request.user)
        self.message_user(request, f"{n} product(s) activated.")

    @admin.action(description="Deactivate selected products")
    def deactivate(self, request, queryset: QuerySet[Product]):
        n = services.product_set_active(queryset.values_list("pk", flat=True), False, by=request.user)
        self.message_user(request, f"{n} product(s) deactivated.")

    @admin.action(description="Export selected products as CSV")
    def export_csv(self, request, queryset: QuerySet[Product]):
        from catalog.csv_io import write_products

        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="products.csv"'
        write_products(response, queryset.select_related("category", "brand"))
        return response


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["product", "user", "rating", "verified_purchase", "is_approved", "created_at"]
    list_filter = ["is_approved", "verified_purchase", "rating"]
    list_select_related = ["product", "user"]
    search_fields = ["product__name", "product__sku", "user__email", "title"]
    raw_id_fields = ["product", "user"]
    readonly_fields = ["verified_purchase", "created_at"]
    actions = ["approve", "reject"]

    def save_model(self, request, obj, form, change):
        # Only the fields this form changed (`verified_purchase` is set by orders when an
        # order is paid, possibly while this form was open), through the review services:
        # the rating is recomputed and the catalog cache invalidated.
        if not change:
            obj.save()
            services.product_rating_refresh(obj.product)
            return
        changed = set(form.changed_data)
        content = {k: form.cleaned_data[k] for k in changed & {"rating", "title", "body"}}
        # The form has already set its values on `obj`: the services compare with the row.
        stored = Review.objects.select_related("product").get(pk=obj.pk)
        if content:
            services.review_update(stored, **content)
        if "is_approved" in changed:
            services.review_moderate(stored, approved=form.cleaned_data["is_approved"])
        other = sorted(changed - {"rating", "title", "body", "is_approved"})
        if other:
            obj.save(update_fields=other)
            services.product_rating_refresh(obj.product)

    def delete_model(self, request, obj):
        services.review_delete(obj)

    def delete_queryset(self, request, queryset):
        for review in queryset.select_related("product"):
            services.review_delete(review)

    @admin.action(description="Approve selected reviews")
    def approve(self, request, queryset):
        for review in queryset.select_related("product"):
            services.review_moderate(review, approved=True)

    @admin.action(description="Reject (hide) selected reviews")
    def reject(self, request, queryset):
        for review in queryset.select_related("product"):
            services.review_moderate(review, approved=False)
