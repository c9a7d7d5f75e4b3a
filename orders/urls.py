"""Staff pages for orders and clients (mounted at the site root)."""

from django.urls import path

from orders import views
from orders.views import spreadsheet_imports

urlpatterns = [
    path("orders/", views.order_list, name="order-list"),
    path("orders/board/", views.order_board, name="order-board"),
    path("orders/new/", views.order_create, name="order-create"),
    path("orders/import/", spreadsheet_imports.order_import, name="order-import"),
    path("clients/import/", spreadsheet_imports.client_import, name="client-import"),
    path("imports/sheets/<int:pk>/", spreadsheet_imports.sheet_import, name="sheet-import"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("orders/<int:pk>/edit/", views.order_edit, name="order-edit"),
    path("orders/<int:pk>/status/", views.order_transition, name="order-transition"),
    path("orders/<int:pk>/notes/", views.order_note, name="order-note"),
    path("orders/<int:pk>/deliverables/", views.deliverable_create, name="deliverable-create"),
    path(
        "orders/<int:pk>/deliverables/<int:did>/file/",
        views.deliverable_file,
        name="deliverable-file",
    ),
    path("orders/<int:pk>/client-link/", views.portal_link_rotate, name="portal-link-rotate"),
    path("orders/<int:pk>/client-link/off/", views.portal_link_disable, name="portal-link-disable"),
    # Production breakdown
    path("orders/<int:pk>/breakdown/", views.breakdown, name="breakdown"),
    path("orders/<int:pk>/episodes/new/", views.episode_create, name="episode-create"),
    path("orders/<int:pk>/assets/", views.asset_list, name="asset-list"),
    path("orders/<int:pk>/shots.csv", views.breakdown_export, name="breakdown-export"),
    path("orders/<int:pk>/import/", views.breakdown_import, name="breakdown-import"),
    path(
        "orders/<int:pk>/import/script/",
        views.breakdown_import_script,
        name="breakdown-import-script",
    ),
    path(
        "orders/<int:pk>/deliverables/<int:did>/ai-labels/",
        views.deliverable_ai_labels,
        name="deliverable-ai-labels",
    ),
    path(
        "orders/<int:pk>/deliver-anyway/", views.order_deliver_anyway, name="order-deliver-anyway"
    ),
    path("episodes/<int:pk>/", views.episode_detail, name="episode-detail"),
    path("episodes/<int:pk>/edit/", views.episode_edit, name="episode-edit"),
    path("episodes/<int:pk>/delete/", views.episode_delete, name="episode-delete"),
    path("episodes/<int:pk>/shots/new/", views.shot_create, name="shot-create"),
    path("episodes/<int:pk>/bulk-status/", views.shot_bulk_status, name="shot-bulk-status"),
    path("episodes/<int:pk>/reorder/", views.shot_reorder, name="shot-reorder"),
    path("shots/mine/", views.my_shots, name="my-shots"),
    path("shots/<int:pk>/", views.shot_detail, name="shot-detail"),
    path("shots/<int:pk>/edit/", views.shot_edit, name="shot-edit"),
    path("shots/<int:pk>/status/", views.shot_status, name="shot-status"),
    path("shots/<int:pk>/delete/", views.shot_delete, name="shot-delete"),
    path("shots/<int:pk>/takes/", views.take_create, name="take-create"),
    path("takes/<int:pk>/edit/", views.take_edit, name="take-edit"),
    path("takes/<int:pk>/select/", views.take_select, name="take-select"),
    path("takes/<int:pk>/delete/", views.take_delete, name="take-delete"),
    path("takes/<int:pk>/file/", views.take_file, name="take-file"),
    path("assets/<int:pk>/", views.asset_detail, name="asset-detail"),
    path("assets/<int:pk>/edit/", views.asset_edit, name="asset-edit"),
    path("assets/<int:pk>/delete/", views.asset_delete, name="asset-delete"),
    path("assets/<int:pk>/image/", views.asset_image, name="asset-image"),
    path("imports/<int:pk>/", views.import_preview, name="import-preview"),
    # The AI tool catalog (studio pages; included here until studio/web_urls.py does).
    path("clients/", views.client_list, name="client-list"),
    path("clients/new/", views.client_create, name="client-create"),
    path("clients/<int:pk>/", views.client_detail, name="client-detail"),
    path("clients/<int:pk>/edit/", views.client_edit, name="client-edit"),
    path("clients/<int:pk>/archive/", views.client_archive, name="client-archive"),
    path("clients/<int:pk>/restore/", views.client_restore, name="client-restore"),
]
