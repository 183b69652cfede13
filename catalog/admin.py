"""Django admin for staff. Every save, delete and bulk action goes through catalog.services,
so the same validation runs and cached catalog responses are invalidated.

Stock is never a form field of an existing product: the change form shows it read-only
(with the last moves of the stock ledger below), the list does not edit it, and the
"Adjust stock" action moves it through the locked stock service. A form saves only the
fields it changed, so it cannot write back a stock level, or anything else, read when it
was opened."""

from __future__ import annotations

import itertools

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog import images, services
from catalog.attributes import clean_attributes, clean_choice_values
from catalog.errors import InvalidAttribute
from catalog.models import (
    TAX_CLASS_DEFAULT,
    AttributeDefinition,
    AttributeType,
    Brand,
    Category,
    Product,
    ProductImage,
    ProductStructure,
    ProductType,
    Review,
    StockMove,
    StockReason,
)
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
        # The empty form for a new image has a pk already (a UUID default) but no file: it
        # rendered <img src="None">, which the browser fetched as change/None, redirected
        # to the admin index with a "doesn't exist" warning that ate the next message.
        original = images.url(obj.image) if not obj._state.adding else None
        if original is None:
            return "-"
        thumbnail = images.url((obj.thumbnails or {}).get("small")) or original
        return format_html(
            '<a href="{}"><img src="{}" alt="{}" style="max-height: 80px"></a>', original, thumbnail, obj.alt_text
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


# --- product types --------------------------------------------------------------------------


class AttributeDefinitionFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            try:
                form.cleaned_data["values"] = clean_choice_values(
                    form.cleaned_data.get("type"), form.cleaned_data.get("values") or []
                )
                form.instance.values = form.cleaned_data["values"]
            except ValueError as exc:
                form.add_error("values", str(exc))


class AttributeDefinitionInline(admin.TabularInline):
    model = AttributeDefinition
    formset = AttributeDefinitionFormSet
    extra = 1
    fields = ["slug", "name", "type", "values", "is_variant_axis", "sort_order"]


@admin.register(ProductType)
class ProductTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AttributeDefinitionInline]

    def save_model(self, request, obj, form, change):
        services.product_type_save(obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.catalog_changed()  # responses show the type's name; filters its attributes

    def delete_model(self, request, obj):
        try:
            services.product_type_delete(obj)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)


# --- products ---------------------------------------------------------------------------------

ATTRIBUTE_FIELD_PREFIX = "attr_"


def attribute_form_field(definition: AttributeDefinition) -> forms.Field:
    """The form field of one typed attribute: a select for a choice, a checkbox for a
    boolean, a number field for a number, a text field for text."""
    label, help_text = definition.name or definition.slug, "variant axis" if definition.is_variant_axis else ""
    if definition.type == AttributeType.CHOICE:
        choices = [("", "—"), *((v, v) for v in definition.values or [])]
        return forms.ChoiceField(choices=choices, required=False, label=label, help_text=help_text)
    if definition.type == AttributeType.BOOLEAN:
        return forms.NullBooleanField(required=False, label=label, help_text=help_text)
    if definition.type == AttributeType.NUMBER:
        return forms.DecimalField(required=False, label=label, help_text=help_text, max_digits=20)
    return forms.CharField(required=False, max_length=200, label=label, help_text=help_text)


class ProductAdminForm(forms.ModelForm):
    """A typed product edits each attribute of its type in a field of its own (a choice
    is a select, a boolean yes/no, a number a number field); an untyped product keeps the
    JSON box. The attributes are checked as every write checks them (catalog.attributes)."""

    # Set on the per-type subclass ProductAdmin.get_form builds (None: untyped).
    definitions: list[AttributeDefinition] | None = None

    class Meta:
        model = Product
        fields = [
            "slug", "sku", "name", "description", "price", "stock_quantity", "category", "brand",
            "product_type", "parent", "attributes", "weight", "tax_class", "is_active", "meta_title",
            "meta_description",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Weight and tax class may be left empty: a new variant then takes its parent's,
        # anything else the defaults (0 g, `standard`).
        for name in ("weight", "tax_class"):
            if name in self.fields:
                self.fields[name].required = False
        if self.definitions is not None:
            stored = self.instance.attributes if isinstance(self.instance.attributes, dict) else {}
            for definition in self.definitions:
                self.initial.setdefault(ATTRIBUTE_FIELD_PREFIX + definition.slug, stored.get(definition.slug))

    def clean_weight(self):
        value = self.cleaned_data.get("weight")
        return self._inherited("weight", 0) if value in (None, "") else value

    def clean_tax_class(self):
        return self.cleaned_data.get("tax_class") or self._inherited("tax_class", TAX_CLASS_DEFAULT)

    def _inherited(self, name: str, default):
        """A field left empty: the chosen parent's value for a new variant, else `default`
        (as services.product_create does for the API)."""
        parent = self.cleaned_data.get("parent") if self.instance._state.adding else None
        return getattr(parent, name) if parent is not None else default

    def clean(self):
        data = super().clean()
        structured = not self.instance._state.adding and self.instance.structure != ProductStructure.STANDALONE
        if structured and "product_type" in self.changed_data:
            self.add_error("product_type", "The type of a parent or of a variant cannot change.")
            return data
        if self.definitions is None:
            # The JSON box: checked against the type chosen here, or the chosen parent's.
            product_type = data.get("product_type")
            parent = data.get("parent") if self.instance._state.adding else None
            type_id = parent.product_type_id if parent else (product_type.pk if product_type else None)
            if type_id and "attributes" in data:
                definitions = list(AttributeDefinition.objects.filter(product_type_id=type_id))
                try:
                    data["attributes"] = clean_attributes(data["attributes"] or {}, definitions, variant=bool(parent))
                except InvalidAttribute as exc:
                    self.add_error("attributes", exc.detail)
            return data
        attributes = {}
        for definition in self.definitions:
            value = data.get(ATTRIBUTE_FIELD_PREFIX + definition.slug)
            if value in (None, ""):
                continue
            attributes[definition.slug] = value
        try:
            attributes = clean_attributes(
                attributes, self.definitions, variant=self.instance.structure == ProductStructure.CHILD
            )
        except InvalidAttribute as exc:
            name = exc.attr.split(".", 1)[-1]
            field = ATTRIBUTE_FIELD_PREFIX + name
            self.add_error(field if field in self.fields else None, exc.detail)
            return data
        if attributes != self.instance.attributes:
            self.instance.attributes = attributes
            self.typed_attributes_changed = True
        return data


class VariantInlineFormSet(BaseInlineFormSet):
    """Variants are saved through catalog.services (ProductAdmin.save_formset)."""


class VariantInline(admin.TabularInline):
    """A parent's variants: SKU, price, axis values and activity edited here; stock is
    read-only (select the variants in the product list and use "Adjust stock")."""

    model = Product
    fk_name = "parent"
    formset = VariantInlineFormSet
    extra = 0
    fields = ["sku", "slug", "name", "price", "stock_quantity", "attributes", "is_active"]
    readonly_fields = ["stock_quantity"]
    show_change_link = True
    verbose_name, verbose_name_plural = "variant", "variants"


class CreateVariantsForm(forms.Form):
    price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)

    def __init__(self, *args, axes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.axes = axes
        for definition, values in axes:
            choices = [(str(v).lower() if isinstance(v, bool) else v, str(v)) for v in values]
            self.fields[ATTRIBUTE_FIELD_PREFIX + definition.slug] = forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, label=definition.name or definition.slug
            )

    def combinations(self) -> list[dict]:
        per_axis = []
        for definition, _ in self.axes:
            chosen = self.cleaned_data[ATTRIBUTE_FIELD_PREFIX + definition.slug]
            if definition.type == AttributeType.BOOLEAN:
                chosen = [c == "true" for c in chosen]
            per_axis.append([(definition.slug, value) for value in chosen])
        return [dict(combo) for combo in itertools.product(*per_axis)]


@admin.register(Product)
class ProductAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ProductAdminForm
    delete_service = services.product_delete
    list_display = [
        "name", "sku", "structure", "category", "brand", "price", "stock_quantity", "is_active", "updated_at",
    ]  # fmt: skip
    list_filter = ["is_active", "structure", InStockFilter, "product_type", "brand", "category"]
    list_select_related = ["category", "brand"]
    search_fields = ["name", "=sku"]
    autocomplete_fields = ["category", "brand", "parent"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [
        "structure", "discounted_price", "rating_avg", "review_count", "created_by", "created_at", "updated_by", "updated_at",
    ]  # fmt: skip
    inlines = [VariantInline, ProductImageInline, StockMoveInline, ReviewInline]
    action_form = ProductActionForm
    actions = ["adjust_stock", "activate", "deactivate", "export_csv", "create_variants"]

    def get_inlines(self, request, obj):
        # Variants are listed on a parent (a standalone product becomes one through the
        # "Create variants" action, or when a variant names it as its parent).
        if obj is None or obj.structure != ProductStructure.PARENT:
            return [i for i in self.inlines if i is not VariantInline]
        return self.inlines

    def get_form(self, request, obj=None, change=False, **kwargs):
        # A typed product: one declared field per attribute of its type instead of the JSON box.
        if obj is not None and obj.product_type_id:
            definitions = list(
                AttributeDefinition.objects.filter(product_type_id=obj.product_type_id).order_by("sort_order", "id")
            )
            declared = {ATTRIBUTE_FIELD_PREFIX + d.slug: attribute_form_field(d) for d in definitions}
            kwargs["form"] = type(
                "TypedProductAdminForm", (ProductAdminForm,), {**declared, "definitions": definitions}
            )
        return super().get_form(request, obj, change, **kwargs)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        return [*exclude, "attributes"] if obj is not None and obj.product_type_id else exclude

    def get_urls(self):
        view = self.admin_site.admin_view(self.create_variants_view)
        return [
            path("<uuid:object_id>/create-variants/", view, name="catalog_product_create_variants"),
            *super().get_urls(),
        ]

    def save_formset(self, request, form, formset, change):
        if formset.model is ProductImage:
            return self._save_image_formset(request, form, formset)
        if formset.model is not Product:
            return super().save_formset(request, form, formset, change)
        # Variants through the service: type rules, axis uniqueness, the parent re-priced.
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            services.product_delete(obj)
        for variant_form in formset.forms:
            if variant_form in formset.deleted_forms or not variant_form.has_changed():
                continue
            variant = variant_form.instance
            if variant.pk and not variant._state.adding:
                services.product_save(variant, fields=variant_form.changed_data, by=request.user)
            else:
                variant.parent = form.instance
                services.product_save(variant, by=request.user)
        formset.save_m2m()

    @admin.action(description="Create variants (cross product of chosen axis values) for the selected product")
    def create_variants(self, request, queryset: QuerySet[Product]):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one product to create variants for.", messages.ERROR)
            return None
        url = reverse("admin:catalog_product_create_variants", args=[queryset.get().pk])
        return HttpResponseRedirect(url)

    def create_variants_view(self, request, object_id):
        parent = get_object_or_404(Product, pk=object_id)
        if not self.has_change_permission(request, parent):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        axes = services.variant_axis_combinations(parent)
        fixed = [(d, values) for d, values in axes if values]
        if not fixed or len(fixed) != len(axes):
            self.message_user(
                request, "The product needs a type whose variant axes are choices or booleans.", messages.ERROR
            )
            return HttpResponseRedirect(reverse("admin:catalog_product_change", args=[parent.pk]))
        form = CreateVariantsForm(request.POST or None, axes=fixed)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    created = services.variants_create(parent, form.combinations(), price=form.cleaned_data["price"])
            except DomainError as exc:
                self.message_user(request, f"No variants created: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{len(created)} variant(s) created.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:catalog_product_change", args=[parent.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Create variants of {parent}",
            "opts": self.model._meta,
            "original": parent,
            "form": form,
        }
        return TemplateResponse(request, "admin/catalog/product/create_variants.html", context)

    show_full_result_count = False  # no COUNT(*) over a million rows per page view
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        # A new product's stock is its opening level (a form field); an existing product's
        # stock moves only through the stock ledger ("Adjust stock").
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "stock_quantity", "parent"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        # Only what this form changed: the rest of the row (stock, counters, a colleague's
        # edit) stays as committed since the form was opened. Typed attributes are edited
        # in fields of their own (attr_<slug>) and saved as `attributes`.
        fields = [f for f in form.changed_data if not f.startswith(ATTRIBUTE_FIELD_PREFIX)]
        if getattr(form, "typed_attributes_changed", False):
            fields.append("attributes")
        services.product_save(obj, fields=fields if change else None, by=request.user)

    def _save_image_formset(self, request, form, formset) -> None:
        product = form.instance
        deleted = formset.deleted_forms
        # What the admin's change message lists (the formset itself saves nothing).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for image_form in deleted:
            if not image_form.instance._state.adding:  # a new form ticked "delete" has a pk already (a UUID)
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
