"""REST API for webhook endpoints and their delivery log (owner only).

Thin: serializers check the shape, studio.webhooks holds the rules.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from studio import webhooks
from studio.api_common import ID_REGEX, ApiViewMixin, absolute_url
from studio.api_viewsets import DeletableViewSet
from studio.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from studio.models.webhooks import WEBHOOK_EVENTS
from studio.permissions import IsOwner, IsStudioMember

EVENT_CHOICES = [(name, str(label)) for name, label in WEBHOOK_EVENTS]


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES),
        help_text="The events this endpoint is told about.",
    )
    secret_hint = serializers.CharField(
        read_only=True, help_text="The first characters of the signing secret."
    )
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="While a rotated secret still signs next to the new one: until when.",
    )
    deliveries_url = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = (
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "secret_hint",
            "previous_secret_expires_at",
            "deliveries_url",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_deliveries_url(self, endpoint: WebhookEndpoint) -> str | None:
        return absolute_url(self.context.get("request"), "api-webhook-delivery-list", [endpoint.pk])


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_…). Answered only when the endpoint is "
        "created and when its secret is rotated: keep it.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*WebhookEndpointSerializer.Meta.fields, "secret")
        read_only_fields = fields


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=500,
        help_text="An http:// or https:// URL. Where it resolves is checked at each "
        "delivery: private, loopback and metadata addresses are refused unless the owner "
        "allows private targets.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES), min_length=1, max_length=50
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ("number", "started_at", "duration_ms", "response_code", "error")
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    payload = serializers.SerializerMethodField(help_text="The body that is sent.")
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_id",
            "event_type",
            "state",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "response_code",
            "last_error",
            "created_at",
            "payload",
            "attempt_log",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, delivery: WebhookDelivery) -> dict[str, Any]:
        try:
            data = json.loads(delivery.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints", description="Owner only."),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    create=extend_schema(
        summary="Add a webhook endpoint",
        description="Answers the endpoint with its signing secret, once.",
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointWithSecretSerializer},
    ),
    update=extend_schema(
        summary="Replace a webhook endpoint's settings",
        request=WebhookEndpointInputSerializer,
        responses={200: WebhookEndpointSerializer},
    ),
    partial_update=extend_schema(
        summary="Change some of a webhook endpoint's settings",
        request=WebhookEndpointInputSerializer,
        responses={200: WebhookEndpointSerializer},
    ),
    destroy=extend_schema(
        summary="Remove a webhook endpoint", description="Its delivery log goes with it."
    ),
)
@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(DeletableViewSet):
    """Webhook endpoints: where events are POSTed, signed (Standard Webhooks)."""

    queryset = WebhookEndpoint.objects.order_by("pk")
    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsStudioMember, IsOwner]
    filter_backends: list[Any] = []
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-webhook-detail"

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in {"create", "update", "partial_update"}:
            return WebhookEndpointInputSerializer
        return WebhookEndpointSerializer

    def _out(self, endpoint: WebhookEndpoint, *, secret: bool = False) -> dict[str, Any]:
        cls = WebhookEndpointWithSecretSerializer if secret else WebhookEndpointSerializer
        return cls(endpoint, context=self.get_serializer_context()).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = WebhookEndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint = webhooks.create_endpoint(
            actor=request.user,
            url=data["url"],
            events=data["events"],
            description=data["description"],
        )
        if not data["is_active"]:
            webhooks.update_endpoint(actor=request.user, endpoint=endpoint, is_active=False)
        return self.created(self._out(endpoint, secret=True), endpoint.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        endpoint = self.get_object()
        serializer = WebhookEndpointInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        webhooks.update_endpoint(
            actor=request.user,
            endpoint=endpoint,
            url=data.get("url"),
            events=data.get("events"),
            description=data.get("description"),
            is_active=data.get("is_active"),
        )
        return Response(self._out(endpoint))

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        webhooks.delete_endpoint(actor=self.request.user, endpoint=instance)

    @extend_schema(
        summary="Rotate the signing secret",
        description="Gives the endpoint a new secret, answered once. For 24 hours the "
        "previous secret signs too (two signatures in webhook-signature), so the receiver "
        "can switch without missing a request.",
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        endpoint = webhooks.rotate_secret(actor=request.user, endpoint=self.get_object())
        return Response(self._out(endpoint, secret=True))


ENDPOINT_PK = OpenApiParameter("endpoint_pk", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="List an endpoint's deliveries",
        description="Newest first: state, attempts, last response code and error, and "
        "the log of every attempt.",
        parameters=[ENDPOINT_PK],
    ),
    retrieve=extend_schema(summary="Get a delivery", parameters=[ENDPOINT_PK]),
)
@extend_schema(tags=["webhooks"])
class WebhookDeliveryViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The delivery log of one endpoint."""

    serializer_class = WebhookDeliverySerializer
    permission_classes = [IsStudioMember, IsOwner]
    filter_backends: list[Any] = []

    def get_endpoint(self) -> WebhookEndpoint:
        if not hasattr(self, "_endpoint"):
            self._endpoint = get_object_or_404(WebhookEndpoint, pk=self.kwargs["endpoint_pk"])
        return self._endpoint

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return (
            WebhookDelivery.objects.filter(endpoint=self.get_endpoint())
            .prefetch_related(
                Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number", "pk"))
            )
            .order_by("-created_at", "-pk")
        )

    @extend_schema(
        summary="Send a delivery again",
        description="Queues the delivery once more now, with the same webhook-id and body "
        "(receivers de-duplicate on the id), and a fresh retry schedule. A delivery being "
        "sent at this moment is left alone.",
        request=None,
        parameters=[ENDPOINT_PK],
        responses={200: WebhookDeliverySerializer},
    )
    @action(detail=True, methods=["post"], url_path="send-again")
    def send_again(
        self, request: Request, endpoint_pk: str | None = None, pk: str | None = None
    ) -> Response:
        delivery = self.get_object()
        webhooks.send_again(actor=request.user, delivery=delivery)
        fresh = self.get_queryset().get(pk=delivery.pk)
        return Response(self.get_serializer(fresh).data)
