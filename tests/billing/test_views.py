"""Billing pages: who sees them, the list and its totals, the draft editor, the actions,
the PDF, the statement, the settings, and the sections on the order and client pages."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from billing import delivery, services
from billing.models import BillingSettings, Invoice, InvoiceEmail, Payment
from orders import portal
from tests.billing.helpers import draft, issued, line, order_for
from tests.factories import ClientFactory

D = Decimal
S = Invoice.Status
pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(name, args=args)


def with_pdf(invoice: Invoice) -> Invoice:
    job = invoice.pdf_job
    delivery.render_invoice_pdf(job_id=job.pk)
    invoice.refresh_from_db()
    return invoice


# --- Who may see billing ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["invoice-list", "invoice-create", "billing-settings"])
def test_anonymous_visitors_are_sent_to_sign_in(name):
    response = HttpClient().get(url(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_artists_and_outsiders_never_see_invoices(owner, artist_http, outsider_http, artist):
    order = order_for(assignee=artist)
    invoice = issued(owner, order=order)
    for http in (artist_http, outsider_http):
        for address in (
            url("invoice-list"),
            url("invoice-detail", invoice.pk),
            url("invoice-pdf", invoice.pk),
            url("invoice-edit", invoice.pk),
            url("client-statement", invoice.client_id),
            url("billing-settings"),
        ):
            assert http.get(address).status_code == 403, address
        response = http.post(
            url("invoice-payment", invoice.pk),
            {"amount": "1", "method": "cash", "paid_on": "2026-01-01"},
        )
        assert response.status_code == 403
    assert not Payment.objects.exists()


def test_artist_sees_no_invoice_section_or_money_on_their_order(owner, artist, artist_http):
    order = order_for(assignee=artist)
    issued(owner, order=order, lines=[line(price="4321")])

    response = artist_http.get(url("order-detail", order.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="invoices"' not in html
    assert "4,321" not in html


def test_only_the_owner_opens_billing_settings(owner_http, producer_http):
    assert producer_http.get(url("billing-settings")).status_code == 403

    response = owner_http.post(
        url("billing-settings"),
        {"default_tax_rate": "6", "net_days": "10", "bank_name": "CMB", "prices_include_tax": "on"},
    )

    assert response.status_code == 302
    prefs = BillingSettings.load()
    assert (prefs.default_tax_rate, prefs.net_days, prefs.bank_name) == (D(6), 10, "CMB")
    assert prefs.prices_include_tax is True


def test_bad_billing_settings_change_nothing(owner_http):
    response = owner_http.post(
        url("billing-settings"), {"default_tax_rate": "101", "net_days": "7"}
    )

    assert response.status_code == 400
    assert BillingSettings.load().default_tax_rate == D(0)


# --- The list ---------------------------------------------------------------------------------


def test_list_filters_and_totals_per_currency(owner, producer_http):
    cny = ClientFactory(currency="CNY", name="Star River")
    usd = ClientFactory(currency="USD", name="Northwind")
    with time_machine.travel(dt.datetime(2026, 4, 1, 4, tzinfo=dt.UTC)):
        paid = issued(owner, client=cny, lines=[line(price="1000.10")])
        services.record_payment(actor=owner, invoice=paid, amount=D("400.05"), method="cash")
        late = issued(owner, client=cny, lines=[line(price="200.20")])
        issued(owner, client=usd, lines=[line(price="99.99")])
        void = issued(owner, client=usd, lines=[line(price="5000")])
        services.void_invoice(actor=owner, invoice=void, reason="x")
        draft(owner, client=usd, lines=[line(price="777")])
        services.credit_invoice(actor=owner, invoice=late, lines=[line(price="0.20")])

    with time_machine.travel(dt.datetime(2026, 4, 20, 4, tzinfo=dt.UTC)):
        response = producer_http.get(url("invoice-list"))
        overdue = producer_http.get(url("invoice-list"), {"status": "overdue", "currency": "CNY"})
        usd_only = producer_http.get(url("invoice-list"), {"client": usd.pk})

    assert response.status_code == 200
    totals = {row.currency: row for row in response.context["totals"]}
    assert totals["CNY"].invoiced.amount == D("1200.30")
    assert totals["CNY"].credited.amount == D("0.20")
    assert totals["CNY"].paid.amount == D("400.05")
    assert totals["CNY"].due.amount == D("800.05")
    assert totals["CNY"].overdue.amount == D("800.05")
    assert totals["USD"].invoiced.amount == D("99.99")  # void and draft left out
    assert [row["invoice"].pk for row in overdue.context["rows"]] == [late.pk, paid.pk]
    assert {row["invoice"].client_id for row in usd_only.context["rows"]} == {usd.pk}
    assert len(usd_only.context["rows"]) == 3


def test_bad_filter_values_are_ignored_not_a_500(producer_http):
    response = producer_http.get(
        url("invoice-list"), {"status": "nope", "client": "abc", "period": "x", "page": "999"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("size", [3, 30])
def test_list_page_query_count_does_not_grow(
    owner, producer_http, django_assert_max_num_queries, size
):
    clients = [ClientFactory() for _ in range(3)]
    for n in range(size):
        issued(owner, client=clients[n % 3], order=order_for(client=clients[n % 3]))

    with django_assert_max_num_queries(12):
        response = producer_http.get(url("invoice-list"))

    assert response.status_code == 200


# --- Drafts through the pages ----------------------------------------------------------------


def management(prefix: str, total: int) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "500",
    }


def test_free_invoice_is_created_edited_and_issued_from_the_pages(owner_http):
    client = ClientFactory(currency="USD")
    response = owner_http.post(url("invoice-create"), {"client": client.pk, "currency": ""})
    invoice = Invoice.objects.get()
    assert response["Location"] == url("invoice-edit", invoice.pk)

    data = {
        **management("lines", 3),
        "subject": "Teaser",
        "net_days": "14",
        "notes": "Thanks",
        "lines-0-description": "Storyboard",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "300",
        "lines-0-tax_rate": "6",
        "lines-1-description": "Seconds",
        "lines-1-quantity": "30",
        "lines-1-unit": "second",
        "lines-1-unit_price": "12.5",
        "then": "issue",
    }
    response = owner_http.post(url("invoice-edit", invoice.pk), data)

    invoice.refresh_from_db()
    assert response.status_code == 302
    assert invoice.status == S.ISSUED
    assert invoice.currency == "USD"
    assert invoice.total == D("693.00")  # 318 + 375 (default rate 0)
    assert invoice.net_days == 14
    assert owner_http.get(url("invoice-edit", invoice.pk)).status_code == 302


def test_bad_line_input_shows_the_error_and_changes_nothing(owner, owner_http):
    invoice = draft(owner, lines=[line(price="100")])
    data = {
        **management("lines", 1),
        "net_days": "7",
        "lines-0-description": "Storyboard",
        "lines-0-quantity": "-2",
        "lines-0-unit_price": "300",
    }

    response = owner_http.post(url("invoice-edit", invoice.pk), data)

    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0.001." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.total == D("100.00")


def test_order_buttons_create_deposit_and_final_drafts(owner_http):
    order = order_for(price=D("2000"), deposit_percent=D(40))

    owner_http.post(url("invoice-from-order", order.pk), {"purpose": "deposit"})
    deposit = Invoice.objects.get()
    assert deposit.total == D("800.00")
    again = owner_http.post(url("invoice-from-order", order.pk), {"purpose": "deposit"})

    assert again["Location"].endswith("#invoices")
    assert Invoice.objects.count() == 1


def test_order_page_shows_its_invoices_to_owners(owner, owner_http):
    order = order_for(price=D("1000"))
    invoice = issued(owner, order=order, lines=[line(price="400")])

    html = owner_http.get(url("order-detail", order.pk)).content.decode()

    assert invoice.number in html
    assert url("invoice-from-order", order.pk) in html
    assert "¥600.00" in html  # not invoiced yet


# --- Actions --------------------------------------------------------------------------------


def test_issue_page_action_numbers_and_says_the_link_was_turned_on(owner, owner_http):
    order = order_for()
    invoice = draft(owner, order=order)

    response = owner_http.post(url("invoice-issue", invoice.pk), follow=True)

    invoice.refresh_from_db()
    assert invoice.number
    html = response.content.decode()
    assert f"{invoice.number} is issued" in html
    assert "client link was off and is now on" in html


def test_payment_form_records_and_refuses_overpayment(owner, owner_http):
    invoice = issued(owner, lines=[line(price="100")])
    today = dt.date.today().isoformat()

    too_much = owner_http.post(
        url("invoice-payment", invoice.pk),
        {"amount": "150", "method": "alipay", "paid_on": today},
    )
    assert too_much.status_code == 400
    assert "more than the amount due" in too_much.content.decode()
    assert not Payment.objects.exists()

    owner_http.post(
        url("invoice-payment", invoice.pk),
        {"amount": "100", "method": "alipay", "paid_on": today, "reference": "A1"},
    )
    invoice.refresh_from_db()
    assert invoice.status == S.PAID


def test_send_form_sends_once(
    owner, owner_http, studio_profile, django_capture_on_commit_callbacks
):
    invoice = issued(owner, client=ClientFactory(email="li@example.com"))
    form = {"to": "li@example.com", "key": "form-key-123456"}

    with django_capture_on_commit_callbacks(execute=True):
        owner_http.post(url("invoice-send", invoice.pk), form)
        second = owner_http.post(url("invoice-send", invoice.pk), form, follow=True)

    assert len(mail.outbox) == 1
    assert InvoiceEmail.objects.count() == 1
    assert "already sent a moment ago" in second.content.decode()


def test_void_needs_a_reason_then_keeps_the_number(owner, owner_http):
    invoice = issued(owner)

    assert owner_http.post(url("invoice-void", invoice.pk), {"reason": ""}).status_code == 400
    invoice.refresh_from_db()
    assert invoice.status == S.ISSUED

    owner_http.post(url("invoice-void", invoice.pk), {"reason": "Wrong client"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.void_reason) == (S.VOID, "Wrong client")


def test_credit_button_makes_a_draft_credit_note(owner, owner_http):
    invoice = issued(owner)

    response = owner_http.post(url("invoice-credit", invoice.pk), {"reason": "Discount"})

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert response["Location"] == url("invoice-edit", note.pk)
    assert (note.status, note.credited_invoice_id, note.subject) == (
        S.DRAFT,
        invoice.pk,
        "Discount",
    )


def test_fapiao_form_and_file(owner, owner_http):
    invoice = issued(owner)
    upload = SimpleUploadedFile("fp.pdf", b"%PDF-1.7 fapiao", content_type="application/pdf")

    owner_http.post(
        url("invoice-fapiao", invoice.pk),
        {
            "fapiao_status": "issued_platform",
            "fapiao_number": "26442000000012345678",
            "fapiao_file": upload,
        },
    )
    response = owner_http.get(url("invoice-fapiao-file", invoice.pk))

    invoice.refresh_from_db()
    assert invoice.fapiao_number == "26442000000012345678"
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.7 fapiao"

    bad = owner_http.post(
        url("invoice-fapiao", invoice.pk),
        {"fapiao_status": "issued_platform", "fapiao_number": "12"},
    )
    assert bad.status_code == 400
    invoice.refresh_from_db()
    assert invoice.fapiao_number == "26442000000012345678"


# --- The PDF ----------------------------------------------------------------------------------


def test_pdf_says_rendering_then_serves_the_stored_file(owner, owner_http):
    invoice = issued(owner)

    pending = owner_http.get(url("invoice-pdf", invoice.pk))
    assert pending.status_code == 202
    assert pending["Retry-After"] == "3"
    assert pending["Refresh"] == "3"
    assert "rendering" in pending.content.decode()
    detail = owner_http.get(url("invoice-detail", invoice.pk)).content.decode()
    assert "The PDF is rendering…" in detail
    assert 'http-equiv="refresh"' in detail

    invoice = with_pdf(invoice)
    response = owner_http.get(url("invoice-pdf", invoice.pk))
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(body).hexdigest() == invoice.pdf_sha256
    assert response["ETag"] == f'"{invoice.pdf_sha256}"'
    partial = owner_http.get(url("invoice-pdf", invoice.pk), HTTP_RANGE="bytes=0-4")
    assert (partial.status_code, b"".join(partial.streaming_content)) == (206, b"%PDF-")


def test_draft_pdf_is_a_preview_rendered_on_request(owner, owner_http):
    invoice = draft(owner)

    response = owner_http.get(url("invoice-pdf", invoice.pk))

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    invoice.refresh_from_db()
    assert not invoice.pdf


# --- Statement -------------------------------------------------------------------------------


def test_statement_lists_documents_and_payments_with_a_running_balance(owner, producer_http):
    client = ClientFactory()
    with time_machine.travel(dt.datetime(2026, 2, 1, 4, tzinfo=dt.UTC)):
        first = issued(owner, client=client, lines=[line(price="1000")])
    with time_machine.travel(dt.datetime(2026, 2, 5, 4, tzinfo=dt.UTC)):
        services.record_payment(actor=owner, invoice=first, amount=D(600), method="cash")
        services.credit_invoice(actor=owner, invoice=first, lines=[line(price="100")])
        issued(owner, client=client, lines=[line(price="50")])
        draft(owner, client=client, lines=[line(price="9999")])

    response = producer_http.get(url("client-statement", client.pk))

    (statement,) = response.context["statements"]
    assert [(e.kind, e.balance) for e in statement.entries] == [
        ("invoice", D(1000)),
        ("credit_note", D(900)),
        ("invoice", D(950)),
        ("payment", D(350)),
    ]
    assert (statement.invoiced, statement.credited, statement.paid) == (D(1050), D(100), D(600))
    assert statement.balance == D(350)


# --- The client's page -----------------------------------------------------------------------


@pytest.fixture
def client_page(owner, studio_profile):
    order = order_for(client=ClientFactory(language="en"))
    invoice = issued(owner, order=order, lines=[line(price="880")])
    draft(owner, order=order, lines=[line("Secret draft", price="5")])
    link = portal.active_link(order)
    return order, invoice, link


def test_client_page_shows_issued_invoices_amount_due_and_how_to_pay(client_page):
    _order, invoice, link = client_page
    BillingSettings.objects.update(bank_name="CMB Shanghai")
    Invoice.objects.filter(pk=invoice.pk).update(payment_details={"bank_name": "CMB Shanghai"})

    response = HttpClient().get(url("portal", link.token))

    html = response.content.decode()
    assert invoice.number in html
    assert "Amount due: ¥880.00" in html
    assert "CMB Shanghai" in html
    assert "<svg" in html  # the QR code of this page
    assert "Secret draft" not in html
    assert url("portal-invoice-pdf", link.token, invoice.pk) in html


def test_client_downloads_the_pdf_through_their_link_with_private_headers(client_page):
    _order, invoice, link = client_page
    address = url("portal-invoice-pdf", link.token, invoice.pk)

    pending = HttpClient().get(address)
    assert pending.status_code == 202
    assert pending["Referrer-Policy"] == "no-referrer"

    with_pdf(invoice)
    response = HttpClient().get(address)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    assert response["Cache-Control"] == "private, no-store"


def test_a_link_opens_only_its_own_orders_invoices(owner, client_page):
    order, invoice, link = client_page
    other = issued(owner, order=order_for())
    hidden_draft = Invoice.objects.get(status=S.DRAFT)

    for pk in (other.pk, hidden_draft.pk):
        assert HttpClient().get(url("portal-invoice-pdf", link.token, pk)).status_code == 404
    assert HttpClient().get(url("portal-invoice-pdf", "x" * 43, invoice.pk)).status_code == 404
    portal.disable_link(actor=owner, order=order)
    assert HttpClient().get(url("portal-invoice-pdf", link.token, invoice.pk)).status_code == 404
