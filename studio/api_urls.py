from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from orders import api as orders_api

router = DefaultRouter()
router.register("clients", orders_api.ClientViewSet, basename="client")
router.register("orders", orders_api.OrderViewSet, basename="order")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "orders/<int:order_pk>/deliverables/",
        orders_api.DeliverableViewSet.as_view({"get": "list", "post": "create"}),
        name="order-deliverables",
    ),
    path(
        "orders/<int:order_pk>/deliverables/<int:pk>/",
        orders_api.DeliverableViewSet.as_view({"get": "retrieve"}),
        name="order-deliverable-detail",
    ),
    path("", include(router.urls)),
]
