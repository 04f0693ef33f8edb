"""`GET /api/v1/token`: what the presented token is. Never the secret (the portal does not have it)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import AnswerSerializer


class TokenInfoSerializer(AnswerSerializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    instance = serializers.CharField(source="instance.name")
    hint = serializers.CharField(help_text="The token's start and end, to recognise it; not usable as a token.")
    created = serializers.DateTimeField(source="created_at")
    expires = serializers.DateTimeField(source="expires_at")
    allowedSpaces = serializers.ListField(
        source="allowed_spaces", child=serializers.CharField(), help_text="Empty: every space."
    )


class TokenView(APIView):
    @extend_schema(
        operation_id="token_retrieve",
        summary="Describe the presented token",
        description="Label, instance, creation and expiry, and allowed spaces of the bearer token. Never the secret.",
        responses={
            200: TokenInfoSerializer,
            401: OpenApiResponse(description="token_missing, token_invalid, token_expired or token_revoked"),
            429: OpenApiResponse(description="rate_limited: too many failed authentications from this address"),
        },
        tags=["token"],
    )
    def get(self, request: Request) -> Response:
        return Response(TokenInfoSerializer.render(request.auth))
