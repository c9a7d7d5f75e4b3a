"""Billing's sections on the order pages (registered in BillingConfig.ready through
orders.extensions, since orders must not import billing).

Staff: the order's invoices and credit notes with the buttons that create a deposit,
final or free invoice; owners and producers only (artists never see money). Client:
the issued invoices of their order with status, amount due, the PDF through their link
and how to pay with a QR code of their order page. Each runs a fixed number of queries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from billing import selectors
from billing.models import BillingSettings, Invoice
from billing.models.invoices import today_in_studio
from billing.pdf import qr_svg
from orders.extensions import Section
from orders.models import Order
from studio import roles


def staff_order_section(request: HttpRequest, order: Order) -> Section | None:
    if not roles.can_see_money(request.user):
        return None
    billing = selectors.order_billing(order)
    today = today_in_studio()
    rows = [
        {"invoice": invoice, "status": invoice.display_status(today)}
        for invoice in billing.invoices
    ]
    remaining = billing.remaining(order)
    return Section(
        template="billing/includes/order_section.html",
        context={
            "order": order,
            "rows": rows,
            "invoiced": billing.invoiced,
            "paid": billing.paid,
            "due": billing.due,
            "remaining": max(remaining, Decimal(0)),
            "can_deposit": order.deposit_percent > 0 and not billing.has_deposit and remaining > 0,
            "can_final": remaining > 0 and not billing.has_final_draft,
            "cancelled": order.status == Order.Status.CANCELLED,
        },
    )


def portal_section(request: HttpRequest, order: Order, token: str) -> Section | None:
    invoices = list(
        Invoice.objects.filter(order=order)
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("-issue_date", "-pk")
    )
    if not invoices:
        return None
    today = today_in_studio()
    rows: list[dict[str, Any]] = [
        {
            "invoice": invoice,
            "status": invoice.display_status(today),
            "due": invoice.amount_due,
        }
        for invoice in invoices
    ]
    open_invoices = [i for i in invoices if i.amount_due > 0]
    details: dict[str, str] = {}
    if open_invoices:
        details = open_invoices[0].payment_details or BillingSettings.load().payment_details()
    url = request.build_absolute_uri(reverse("portal", args=[token]))
    return Section(
        template="billing/includes/portal_section.html",
        context={
            "token": token,
            "rows": rows,
            "open_invoices": open_invoices,
            "details": details,
            "qr_svg": qr_svg(url, scale=4) if open_invoices else "",
            "page_url": url,
        },
    )
