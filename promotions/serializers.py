from __future__ import annotations

from rest_framework import serializers

from catalog.models import Brand, Category, Product
from catalog.serializers import UUIDRelatedField
from promotions.models import Promotion, PromotionKind, Voucher, VoucherKind

MONEY = {"max_digits": 12, "decimal_places": 2}


class _ScopedSerializer(serializers.ModelSerializer):
    products = UUIDRelatedField(many=True, queryset=Product.objects.all(), required=False)
    categories = UUIDRelatedField(many=True, queryset=Category.objects.all(), required=False)
    brands = UUIDRelatedField(many=True, queryset=Brand.objects.all(), required=False)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs):
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": "ends_at must be after starts_at."})
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        value = attrs.get("value", getattr(self.instance, "value", None))
        if kind == "percent" and value is not None and value > 100:
            raise serializers.ValidationError({"value": "A percentage is at most 100."})
        return attrs

    def to_representation(self, obj):
        data = super().to_representation(obj)
        # Prefetched relations: ids in the order the selector loaded them.
        for name in ("products", "categories", "brands"):
            data[name] = [str(o.pk) for o in getattr(obj, name).all()]
        return data


class VoucherSerializer(_ScopedSerializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{3,64}$", max_length=64, help_text="Letters, digits, - and _.")
    kind = serializers.ChoiceField(choices=VoucherKind.choices)
    value = serializers.DecimalField(**MONEY, min_value=0, required=False, help_text="Percent, or amount off.")
    min_subtotal = serializers.DecimalField(**MONEY, min_value=0, required=False, allow_null=True)
    usage_limit = serializers.IntegerField(min_value=1, max_value=2_147_483_647, required=False, allow_null=True)
    per_customer_limit = serializers.IntegerField(min_value=1, max_value=2_147_483_647, required=False, allow_null=True)
    used_count = serializers.IntegerField(
        read_only=True, help_text="Uses held by orders (cancelled ones give theirs back)."
    )

    class Meta:
        model = Voucher
        fields = [
            "id", "code", "name", "kind", "value", "min_subtotal", "starts_at", "ends_at", "usage_limit",
            "per_customer_limit", "used_count", "is_active", "products", "categories", "brands",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "used_count", "created_at", "updated_at"]

    def validate_code(self, value: str) -> str:
        return value.upper()  # a taken code is the service's 409 `unique`


class PromotionSerializer(_ScopedSerializer):
    kind = serializers.ChoiceField(choices=PromotionKind.choices)
    value = serializers.DecimalField(**MONEY, min_value=0)
    is_running = serializers.SerializerMethodField()

    class Meta:
        model = Promotion
        fields = [
            "id", "name", "kind", "value", "starts_at", "ends_at", "is_active", "is_running",
            "products", "categories", "brands", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "is_running", "created_at", "updated_at"]

    def get_is_running(self, promotion: Promotion) -> bool:
        return promotion.is_running()
