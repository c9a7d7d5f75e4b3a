"""Staff pages of the billing app and the client's invoice files (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from billing import views

urlpatterns = [
    path("invoices/", views.invoice_list, name="invoice-list"),
    path("invoices/new/", views.invoice_create, name="invoice-create"),
    path(
        "invoices/from-order/<int:order_pk>/", views.invoice_from_order, name="invoice-from-order"
    ),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice-detail"),
    path("invoices/<int:pk>/edit/", views.invoice_edit, name="invoice-edit"),
    path("invoices/<int:pk>/delete/", views.invoice_delete, name="invoice-delete"),
    path("invoices/<int:pk>/issue/", views.invoice_issue, name="invoice-issue"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice-void"),
    path("invoices/<int:pk>/credit/", views.invoice_credit, name="invoice-credit"),
    path("invoices/<int:pk>/payments/", views.invoice_payment, name="invoice-payment"),
    path("invoices/<int:pk>/send/", views.invoice_send, name="invoice-send"),
    path("invoices/<int:pk>/fapiao/", views.invoice_fapiao, name="invoice-fapiao"),
    path("invoices/<int:pk>/fapiao/file/", views.invoice_fapiao_file, name="invoice-fapiao-file"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice-pdf"),
    path("invoices/<int:pk>/pdf/retry/", views.invoice_pdf_retry, name="invoice-pdf-retry"),
    path("clients/<int:pk>/statement/", views.client_statement, name="client-statement"),
    path("billing/settings/", views.billing_settings, name="billing-settings"),
    path(
        "o/<str:token>/invoices/<int:invoice_id>/pdf/",
        views.portal_invoice_pdf,
        name="portal-invoice-pdf",
    ),
    path(
        "o/<str:token>/invoices/<int:invoice_id>/fapiao/",
        views.portal_fapiao_file,
        name="portal-fapiao-file",
    ),
]
