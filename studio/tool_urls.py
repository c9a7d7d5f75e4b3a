"""Pages of the AI tool catalog (mounted at the site root)."""

from django.urls import path

from studio import views_tools

urlpatterns = [
    path("studio/tools/", views_tools.tool_list, name="tool-list"),
    path("studio/tools/<int:pk>/", views_tools.tool_detail, name="tool-detail"),
    path("studio/tools/<int:pk>/prices/", views_tools.tool_price_add, name="tool-price-add"),
    path(
        "studio/tools/<int:pk>/prices/<int:price_pk>/delete/",
        views_tools.tool_price_delete,
        name="tool-price-delete",
    ),
]
