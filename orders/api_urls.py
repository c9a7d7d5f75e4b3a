"""API routes of the orders app (mounted under /api/ by studio/api_urls.py)."""

from __future__ import annotations

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from orders import api as orders_api
from orders import production_api
from studio.api_common import ID_REGEX

router = SimpleRouter()
router.register("clients", orders_api.ClientViewSet, basename="api-client")
router.register("orders", orders_api.OrderViewSet, basename="api-order")
router.register("tools", production_api.ToolViewSet, basename="api-tool")
router.register("episodes", production_api.EpisodeViewSet, basename="api-episode")
router.register("shots", production_api.ShotViewSet, basename="api-shot")
router.register("takes", production_api.TakeViewSet, basename="api-take")
router.register("assets", production_api.AssetViewSet, basename="api-asset")

deliverable_list = orders_api.DeliverableViewSet.as_view({"get": "list", "post": "create"})
deliverable_detail = orders_api.DeliverableViewSet.as_view({"get": "retrieve"})

urlpatterns = [
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
]
