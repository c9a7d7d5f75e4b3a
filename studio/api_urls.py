"""/api/: the REST API, its OpenAPI schema and its docs page."""

from __future__ import annotations

from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from studio import api_webhooks
from studio.api_common import ID_REGEX, api_not_found


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI served from our own static files (drf-spectacular-sidecar, no CDN),
    its start-up script fetched as a separate file: nothing inline, so it runs under
    our Content-Security-Policy (script-src 'self')."""

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")


webhook_router = SimpleRouter()
webhook_router.register("webhooks", api_webhooks.WebhookEndpointViewSet, basename="api-webhook")
delivery_list = api_webhooks.WebhookDeliveryViewSet.as_view({"get": "list"})
delivery_detail = api_webhooks.WebhookDeliveryViewSet.as_view({"get": "retrieve"})
delivery_send_again = api_webhooks.WebhookDeliveryViewSet.as_view({"post": "send_again"})
DELIVERIES = rf"^webhooks/(?P<endpoint_pk>{ID_REGEX})/deliveries/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("orders.api_urls")),
    path("", include("billing.api_urls")),
    re_path(rf"{DELIVERIES}$", delivery_list, name="api-webhook-delivery-list"),
    re_path(
        rf"{DELIVERIES}(?P<pk>{ID_REGEX})/$", delivery_detail, name="api-webhook-delivery-detail"
    ),
    re_path(
        rf"{DELIVERIES}(?P<pk>{ID_REGEX})/send-again/$",
        delivery_send_again,
        name="api-webhook-delivery-send-again",
    ),
    path("", include(webhook_router.urls)),
    # Last: any other /api/ address is a 404 in the API's error shape, not an HTML page.
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]
