"""The owner's "Export all data" pages."""

from django.urls import path

from studio import views_export

urlpatterns = [
    path("studio/export/", views_export.export_page, name="studio-export"),
    path("studio/export/start/", views_export.export_start, name="studio-export-start"),
    path(
        "studio/export/download/<str:token>/",
        views_export.export_download,
        name="studio-export-download",
    ),
]
