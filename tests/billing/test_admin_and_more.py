"""The billing admin, query budgets of the order-page sections, and edge cases of the
render task and the API that the other modules do not cover."""

from __future__ import annotations

from decimal import Decimal

import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.test import Client as HttpClient
from django.urls import reverse

from billing import delivery, services
from billing.models import Invoice, InvoicePdfJob
from orders import portal
from tests.billing.helpers import draft, issued, line, order_for
from tests.orders.factories_api import bearer_client, error_of

D = Decimal
pytestmark = pytest.mark.django_db
MODELS = ["invoice", "payment", "invoicepdfjob", "invoiceemail", "billingsettings"]


def staff(user) -> HttpClient:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.mark.parametrize("model", MODELS)
def test_admin_pages_open_for_owners(owner, model):
    issued(owner)
    http = staff(owner)

    response = http.get(reverse(f"admin:billing_{model}_changelist"))

    assert response.status_code == 200


def test_admin_invoices_are_read_only_for_producers_and_hidden_from_artists(
    owner, producer, artist
):
    invoice = issued(owner)
    producer_http = staff(producer)

    assert producer_http.get(reverse("admin:billing_invoice_changelist")).status_code == 200
    assert producer_http.get(reverse("admin:billing_invoice_add")).status_code == 403
    page = producer_http.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    assert page.status_code == 200
    assert b'name="total"' not in page.content  # shown, not editable
    assert producer_http.get(reverse("admin:billing_billingsettings_changelist")).status_code == 403
    assert (
        staff(artist).get(reverse("admin:billing_invoice_changelist")).status_code == 302
    )  # to login


@pytest.mark.parametrize("invoices", [1, 12])
def test_order_page_invoice_section_has_a_fixed_query_budget(
    owner, owner_http, django_assert_max_num_queries, invoices
):
    order = order_for(price=D("100000"))
    for _ in range(invoices):
        issued(owner, order=order)

    with django_assert_max_num_queries(40):
        response = owner_http.get(reverse("order-detail", args=[order.pk]))

    assert response.status_code == 200


@pytest.mark.parametrize("invoices", [1, 12])
def test_client_page_invoice_section_has_a_fixed_query_budget(
    owner, django_assert_max_num_queries, invoices
):
    order = order_for(price=D("100000"))
    for _ in range(invoices):
        issued(owner, order=order)
    link = portal.active_link(order)

    with django_assert_max_num_queries(20):
        response = HttpClient().get(reverse("portal", args=[link.token]))

    assert response.status_code == 200


def test_client_page_marks_overdue_invoices_and_shows_credit_notes(owner):
    order = order_for(client=order_for().client)
    order.client.language = "en"
    order.client.save()
    invoice = issued(owner, order=order, lines=[line(price="100")])
    Invoice.objects.filter(pk=invoice.pk).update(due_date="2020-01-01")
    note = services.credit_invoice(actor=owner, invoice=invoice, lines=[line(price="10")])

    html = HttpClient().get(reverse("portal", args=[portal.active_link(order).token])).content
    text = html.decode()

    assert 'class="due-late">Overdue' in text
    assert note.number in text
    assert "Amount due: ¥90.00" in text


def test_a_soft_time_limit_puts_the_job_back_for_the_sweep(owner, monkeypatch):
    invoice = issued(owner)
    job = InvoicePdfJob.objects.get(invoice=invoice)

    def too_slow(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(delivery, "_render", too_slow)
    assert delivery.render_invoice_pdf(job_id=job.pk) is False

    job.refresh_from_db()
    assert (job.state, job.attempts) == (InvoicePdfJob.State.PENDING, 1)
    assert "SoftTimeLimitExceeded" in job.last_error


def test_patch_with_an_incomplete_line_is_400_not_500(owner):
    invoice = draft(owner)

    response = bearer_client(owner).patch(
        f"/api/invoices/{invoice.pk}/", {"lines": [{"quantity": "1"}]}, format="json"
    )

    assert response.status_code == 400
    fields = error_of(response)["fields"]
    assert "lines.0.description" in fields
    assert "lines.0.unit_price" in fields


def test_api_shows_invoices_with_their_order_and_credited_numbers(owner):
    order = order_for()
    invoice = issued(owner, order=order)
    note = services.credit_invoice(actor=owner, invoice=invoice)

    body = bearer_client(owner).get(f"/api/invoices/{note.pk}/").json()

    assert body["kind"] == "credit_note"
    assert body["credited_invoice_number"] == invoice.number
    assert body["order_reference"] == order.reference


def test_a_failed_pdf_can_be_tried_again_from_the_page(
    owner, owner_http, monkeypatch, django_capture_on_commit_callbacks
):
    invoice = issued(owner)
    InvoicePdfJob.objects.filter(invoice=invoice).update(
        state=InvoicePdfJob.State.FAILED, attempts=5
    )
    page = owner_http.get(reverse("invoice-detail", args=[invoice.pk])).content.decode()
    assert "The PDF could not be made." in page

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_http.post(reverse("invoice-pdf-retry", args=[invoice.pk]))

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.pdf_ready  # the eager task rendered it
    assert delivery.retry_pdf(actor=owner, invoice=invoice) is False
