"""/api/: the REST API, its OpenAPI schema and its docs page."""

from __future__ import annotations

from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from orders import api as orders_api
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


router = SimpleRouter()
router.register("clients", orders_api.ClientViewSet, basename="api-client")
router.register("orders", orders_api.OrderViewSet, basename="api-order")

deliverable_list = orders_api.DeliverableViewSet.as_view({"get": "list", "post": "create"})
deliverable_detail = orders_api.DeliverableViewSet.as_view({"get": "retrieve"})

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(
        rf"^orders/(?P<order_pk>{ID_REGEX})/deliverables/$",
        deliverable_list,
        name="api-deliverable-list",
    ),
    re_path(
        rf"^orders/(?P<order_pk>{ID_REGEX})/deliverables/(?P<pk>{ID_REGEX})/$",
        deliverable_detail,
        name="api-deliverable-detail",
    ),
    path("", include(router.urls)),
    # Last: any other /api/ address is a 404 in the API's error shape, not an HTML page.
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]
