from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django_countries import countries as all_countries
from rest_framework import serializers

from shipping.models import ShippingKind, ShippingMethod, ShippingZone, TaxRate, clean_bands

MONEY = {"max_digits": 12, "decimal_places": 2}


class ShippingBandSerializer(serializers.Serializer):
    up_to = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, help_text="Grams, or subtotal.")
    price = serializers.DecimalField(**MONEY, min_value=0)


def _country(value: str) -> str:
    code = str(value).strip().upper()
    if code not in all_countries:
        raise serializers.ValidationError(f"'{str(value)[:8]}' is not an ISO 3166-1 alpha-2 country code.")
    return code


class ShippingMethodSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(required=False, help_text="Nested in a zone: an existing method to keep.")
    kind = serializers.ChoiceField(choices=ShippingKind.choices, default=ShippingKind.FLAT)
    price = serializers.DecimalField(**MONEY, min_value=0, required=False, help_text="The flat price.")
    bands = ShippingBandSerializer(many=True, required=False, max_length=50)
    free_over = serializers.DecimalField(**MONEY, min_value=0, required=False, allow_null=True)
    min_days = serializers.IntegerField(min_value=0, max_value=365, required=False, allow_null=True)
    max_days = serializers.IntegerField(min_value=0, max_value=365, required=False, allow_null=True)
    tax_class = serializers.SlugField(max_length=32, required=False)

    class Meta:
        model = ShippingMethod
        fields = ["id", "name", "kind", "price", "bands", "free_over", "min_days", "max_days", "tax_class"]

    def validate_bands(self, value):
        try:
            return clean_bands([{"up_to": str(b["up_to"]), "price": str(b["price"])} for b in value])
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0])

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", ShippingKind.FLAT))
        bands = attrs.get("bands", getattr(self.instance, "bands", []))
        if kind != ShippingKind.FLAT and not bands:
            raise serializers.ValidationError({"bands": "A weight or price method needs at least one band."})
        low = attrs.get("min_days", getattr(self.instance, "min_days", None))
        high = attrs.get("max_days", getattr(self.instance, "max_days", None))
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_days": "max_days is before min_days."})
        return attrs

    def to_representation(self, method):
        data = super().to_representation(method)
        data["bands"] = [{"up_to": b["up_to"], "price": b["price"]} for b in method.bands or []]
        return data


class ShippingZoneSerializer(serializers.ModelSerializer):
    countries = serializers.ListField(
        child=serializers.CharField(max_length=2), min_length=1, max_length=300, help_text='ISO codes, e.g. ["GB"].'
    )
    methods = ShippingMethodSerializer(many=True, required=False)

    class Meta:
        model = ShippingZone
        fields = ["id", "name", "countries", "methods", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_countries(self, value):
        return sorted({_country(v) for v in value})

    def to_representation(self, zone):
        return {
            "id": zone.pk,
            "name": zone.name,
            "countries": [str(c) for c in zone.countries],
            "methods": [ShippingMethodSerializer(m).data for m in zone.methods.all()],
            "created_at": serializers.DateTimeField().to_representation(zone.created_at),
            "updated_at": serializers.DateTimeField().to_representation(zone.updated_at),
        }


class TaxRateSerializer(serializers.ModelSerializer):
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2.")
    region = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    tax_class = serializers.SlugField(max_length=32, required=False, default="standard")
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)

    class Meta:
        model = TaxRate
        fields = ["id", "country", "region", "tax_class", "rate", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # One rate per (country, region, class) is the service's check: 409 `unique`.
        validators: list = []

    def validate_country(self, value):
        return _country(value)

    def to_representation(self, rate):
        data = super().to_representation(rate)
        data["country"] = str(rate.country)
        return data
