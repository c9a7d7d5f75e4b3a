"""/api/: the REST API, its OpenAPI schema and its docs page."""

from __future__ import annotations

from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from studio.api_common import api_not_found


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


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("orders.api_urls")),
    path("", include("billing.api_urls")),
    # Last: any other /api/ address is a 404 in the API's error shape, not an HTML page.
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]
