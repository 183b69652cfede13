"""A URLconf of views that fail in each way the API can fail, to test the error envelope."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import Conflict
from ecommerce.urls import urlpatterns as project_urlpatterns


class EchoSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1)


class ValidationView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        EchoSerializer(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True})


class PrivateView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


class NotAuthView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise NotAuthenticated()


class StaffOnlyView(APIView):
    def get(self, request):
        from ecommerce.api.permissions import IsAdmin

        self.permission_classes = [IsAdmin]
        self.check_permissions(request)
        return Response({"ok": True})


class BoomView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internals that must not leak")


class ConflictView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        raise Conflict("Too late.", code="invalid_transition", errors=[{"product_id": "p1", "available": 0}])


def plain_boom(request):
    raise RuntimeError("plain Django view failure")


test_api = [
    path("validation/", ValidationView.as_view()),
    path("private/", PrivateView.as_view()),
    path("notauth/", NotAuthView.as_view()),
    path("staff/", StaffOnlyView.as_view()),
    path("boom/", BoomView.as_view()),
    path("conflict/", ConflictView.as_view()),
    path("plain-boom/", plain_boom),
]

urlpatterns = [path("api/test/", include(test_api)), *project_urlpatterns]

handler404 = "ecommerce.api.exceptions.handler404"
handler500 = "ecommerce.api.exceptions.handler500"
