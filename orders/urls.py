"""Staff pages for orders and clients (mounted at the site root)."""

from django.urls import path

from orders import views

urlpatterns = [
    path("orders/", views.order_list, name="order-list"),
    path("orders/board/", views.order_board, name="order-board"),
    path("orders/new/", views.order_create, name="order-create"),
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
    path("clients/", views.client_list, name="client-list"),
    path("clients/new/", views.client_create, name="client-create"),
    path("clients/<int:pk>/", views.client_detail, name="client-detail"),
    path("clients/<int:pk>/edit/", views.client_edit, name="client-edit"),
    path("clients/<int:pk>/archive/", views.client_archive, name="client-archive"),
    path("clients/<int:pk>/restore/", views.client_restore, name="client-restore"),
]
