"""Invoice lifecycle through the services: drafts, issue, numbers, void, credit notes,
payments, fapiao, events and the order's timeline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from billing import services
from billing.models import Invoice, InvoiceEvent, InvoicePdfJob, Payment
from orders import portal
from orders.models import Order, OrderEvent
from studio import events
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.models import Counter
from tests.billing.helpers import draft, issued, line, order_for, set_billing
from tests.factories import ClientFactory

D = Decimal
S = Invoice.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    seen: list[tuple[str, dict]] = []

    def listener(name, payload):
        seen.append((name, payload))

    events.subscribe(listener)
    yield seen
    events._subscribers.remove(listener)


# --- Drafts ---------------------------------------------------------------------------------


def test_draft_takes_currency_language_terms_and_default_tax_from_client_and_studio(owner):
    set_billing(default_tax_rate=D(6), net_days=10, prices_include_tax=True)
    client = ClientFactory(currency="USD", language="en")

    invoice = draft(owner, client=client, lines=[line(price="100", rate=None)])

    assert invoice.status == S.DRAFT
    assert invoice.number == ""
    assert (invoice.currency, invoice.language, invoice.net_days) == ("USD", "en", 10)
    assert invoice.prices_include_tax is True
    only = invoice.lines.get()
    assert only.tax_rate == D(6)
    assert (only.net_amount, only.tax_amount, only.gross_amount) == (
        D("94.34"),
        D("5.66"),
        D("100"),
    )
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (D("94.34"), D("5.66"), D(100))
    assert invoice.events.get().kind == InvoiceEvent.Kind.CREATED


def test_totals_are_sums_of_rounded_lines(owner):
    invoice = draft(owner, lines=[line(price="0.335") for _ in range(3)])

    assert invoice.total == D("1.02")
    assert sum(line.gross_amount for line in invoice.lines.all()) == invoice.total


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"quantity": "-1"}, "lines.0.quantity", "The quantity must be more than zero."),
        ({"quantity": "0"}, "lines.0.quantity", "The quantity must be more than zero."),
        ({"price": "-5"}, "lines.0.unit_price", "The unit price cannot be negative."),
        ({"rate": "100.5"}, "lines.0.tax_rate", "The tax rate is a percentage from 0 to 100."),
        ({"rate": "-1"}, "lines.0.tax_rate", "The tax rate is a percentage from 0 to 100."),
        ({"price": "NaN"}, "lines.0.unit_price", "Enter a number."),
        (
            {"price": "1.23456"},
            "lines.0.unit_price",
            "Enter a unit price below 10¹² with at most 4 decimals.",
        ),
        ({"description": "  "}, "lines.0.description", "Describe what the line is for."),
    ],
)
def test_bad_lines_are_refused_naming_the_field_and_nothing_is_created(owner, bad, field, message):
    values = {"description": "Clip", "quantity": "1", "price": "10", "rate": "0", **bad}

    with pytest.raises(InvalidInput) as caught:
        draft(owner, lines=[line(**values)])

    assert caught.value.fields == {field: [message]}
    assert Invoice.objects.count() == 0


def test_unknown_currency_is_refused(owner):
    with pytest.raises(InvalidInput) as caught:
        draft(owner, currency="XYZ")
    assert "currency" in caught.value.fields
    assert Invoice.objects.count() == 0


def test_artists_cannot_create_invoices(artist):
    with pytest.raises(NotPermitted):
        draft(artist)
    assert Invoice.objects.count() == 0


def test_update_draft_replaces_lines_and_records_what_changed(owner):
    invoice = draft(owner)

    services.update_draft(
        actor=owner,
        invoice=invoice,
        lines=[line(price="200"), line("Second", quantity="2", price="50", rate="6")],
        subject="Spring campaign",
        net_days=14,
    )

    invoice.refresh_from_db()
    assert [item.description for item in invoice.lines.all()] == ["Product clip", "Second"]
    assert invoice.total == D("306.00")
    assert invoice.net_days == 14
    event = invoice.events.filter(kind=InvoiceEvent.Kind.UPDATED).get()
    assert event.data == {"fields": ["subject", "net_days", "lines"]}


def test_issued_invoice_cannot_be_edited_or_deleted(owner):
    invoice = issued(owner)
    before = list(invoice.lines.values_list("description", "gross_amount"))

    with pytest.raises(Conflict):
        services.update_draft(actor=owner, invoice=invoice, lines=[line(price="1")])
    with pytest.raises(Conflict):
        services.delete_draft(actor=owner, invoice=invoice)

    invoice.refresh_from_db()
    assert list(invoice.lines.values_list("description", "gross_amount")) == before
    assert invoice.total == D("1000.00")


def test_draft_can_be_deleted(owner):
    order = order_for()
    invoice = draft(owner, order=order)

    services.delete_draft(actor=owner, invoice=invoice)

    assert not Invoice.objects.exists()


# --- Deposit and final invoices --------------------------------------------------------------


def test_deposit_invoice_is_the_deposit_percent_of_the_price_in_the_clients_language(owner):
    order = order_for(price=D("1500.00"), deposit_percent=D(30), title="Teaser")

    invoice = services.create_deposit_invoice(actor=owner, order=order)

    only = invoice.lines.get()
    assert only.unit_price == D("450.00")
    assert invoice.purpose == Invoice.Purpose.DEPOSIT
    assert invoice.currency == order.currency
    assert order.reference in only.description
    assert invoice.total == D("450.00")


def test_a_second_deposit_invoice_is_refused_until_the_first_is_void(owner):
    order = order_for()
    first = services.create_deposit_invoice(actor=owner, order=order)

    with pytest.raises(Conflict):
        services.create_deposit_invoice(actor=owner, order=order)
    services.issue_invoice(actor=owner, invoice=first)
    services.void_invoice(actor=owner, invoice=first, reason="Wrong amount")

    assert services.create_deposit_invoice(actor=owner, order=order).pk != first.pk


def test_final_invoice_bills_the_price_less_what_issued_invoices_billed(owner):
    order = order_for(price=D("1500.00"), deposit_percent=D(50))
    deposit = services.create_deposit_invoice(actor=owner, order=order)
    services.issue_invoice(actor=owner, invoice=deposit)

    final = services.create_final_invoice(actor=owner, order=order)

    assert final.lines.get().unit_price == D("750.00")
    assert final.purpose == Invoice.Purpose.FINAL


def test_final_invoice_counts_credit_notes_and_ignores_void_and_drafts(owner):
    order = order_for(price=D("1000.00"), deposit_percent=D(50))
    deposit = services.issue_invoice(
        actor=owner, invoice=services.create_deposit_invoice(actor=owner, order=order)
    )
    services.credit_invoice(actor=owner, invoice=deposit, lines=[line(price="100")])
    other = issued(owner, order=order, lines=[line(price="50")])
    services.void_invoice(actor=owner, invoice=other, reason="Duplicate")

    final = services.create_final_invoice(actor=owner, order=order)

    assert final.lines.get().unit_price == D("600.00")  # 1000 - (500 - 100)


def test_final_invoice_is_refused_when_everything_is_invoiced(owner):
    order = order_for(price=D("500.00"))
    issued(owner, order=order, lines=[line(price="500")])

    with pytest.raises(Conflict) as caught:
        services.create_final_invoice(actor=owner, order=order)
    assert caught.value.code == "fully_invoiced"


def test_cancelled_orders_are_not_invoiced(owner):
    order = order_for(status=Order.Status.CANCELLED)
    with pytest.raises(Conflict):
        services.create_deposit_invoice(actor=owner, order=order)
    assert not Invoice.objects.exists()


# --- Issue ---------------------------------------------------------------------------------


@time_machine.travel(
    dt.datetime(2026, 3, 30, 17, 0, tzinfo=dt.UTC)
)  # 01:00 on the 31st in Shanghai
def test_issue_numbers_dates_and_freezes_details(owner, studio_profile, published):
    set_billing(bank_name="CMB", net_days=7)
    client = ClientFactory(name="Old Name", billing_address="Shanghai")
    invoice = draft(owner, client=client)

    invoice = services.issue_invoice(actor=owner, invoice=invoice)

    assert invoice.number == "INV-2026-0001"
    assert (invoice.series, invoice.year, invoice.sequence) == ("INV", 2026, 1)
    assert invoice.issue_date == dt.date(2026, 3, 31)  # the studio's day, not UTC's
    assert invoice.due_date == dt.date(2026, 4, 7)
    assert invoice.status == S.ISSUED
    assert invoice.seller["name"] == "Moonlight Frames"
    assert invoice.buyer["name"] == "Old Name"
    assert invoice.payment_details["bank_name"] == "CMB"
    assert InvoicePdfJob.objects.get(invoice=invoice).state == InvoicePdfJob.State.PENDING
    assert [name for name, _payload in published] == ["invoice.issued"]
    assert published[0][1]["invoice"]["number"] == "INV-2026-0001"

    client.name = "New Name"
    client.save()
    studio_profile.name = "Renamed"
    studio_profile.save()
    invoice.refresh_from_db()
    assert (invoice.buyer["name"], invoice.seller["name"]) == ("Old Name", "Moonlight Frames")


def test_numbers_are_consecutive_per_series_and_year(owner):
    with time_machine.travel(dt.datetime(2026, 6, 1, tzinfo=dt.UTC)):
        first = issued(owner)
        second = issued(owner)
        note = services.credit_invoice(actor=owner, invoice=first)
    with time_machine.travel(dt.datetime(2027, 1, 5, tzinfo=dt.UTC)):
        third = issued(owner)

    assert [first.number, second.number, note.number, third.number] == [
        "INV-2026-0001",
        "INV-2026-0002",
        "CN-2026-0001",
        "INV-2027-0001",
    ]


def test_a_rolled_back_issue_gives_its_number_back(owner):
    invoice = draft(owner)

    class Boom(Exception):
        pass

    from django.db import transaction

    def issue_then_fail() -> None:
        with transaction.atomic():
            services.issue_invoice(actor=owner, invoice=invoice)
            raise Boom

    with pytest.raises(Boom):
        issue_then_fail()

    invoice.refresh_from_db()
    assert invoice.status == S.DRAFT
    assert issued(owner).number.endswith("-0001")


def test_issuing_twice_is_refused_and_keeps_the_number(owner):
    invoice = issued(owner)

    with pytest.raises(Conflict) as caught:
        services.issue_invoice(actor=owner, invoice=invoice)

    assert caught.value.code == "invalid_transition"
    assert Counter.objects.get(series="INV").value == 1


def test_empty_or_zero_invoice_is_not_issued(owner):
    empty = draft(owner, lines=[])
    zero = draft(owner, lines=[line(price="0")])

    for invoice in (empty, zero):
        with pytest.raises(InvalidInput):
            services.issue_invoice(actor=owner, invoice=invoice)
        invoice.refresh_from_db()
        assert invoice.status == S.DRAFT
    assert not Counter.objects.filter(series="INV").exists()


def test_issuing_for_an_order_turns_the_client_link_on_and_writes_the_timeline(owner):
    order = order_for()
    assert portal.active_link(order) is None

    invoice = issued(owner, order=order)

    assert portal.active_link(order) is not None
    messages = list(order.events.values_list("kind", "message"))
    assert (OrderEvent.Kind.PORTAL_LINK, "Client link enabled.") in messages
    assert any(f"Invoice {invoice.number} issued" in message for _kind, message in messages)


def test_issuing_keeps_an_existing_client_link(owner):
    order = order_for()
    link = portal.rotate_link(actor=owner, order=order)

    issued(owner, order=order)

    assert portal.active_link(order).pk == link.pk


# --- Void ----------------------------------------------------------------------------------


def test_void_keeps_the_number_and_records_why(owner, published):
    order = order_for()
    invoice = issued(owner, order=order)

    services.void_invoice(actor=owner, invoice=invoice, reason="Issued to the wrong client")

    invoice.refresh_from_db()
    assert invoice.status == S.VOID
    assert invoice.number == f"INV-{invoice.year}-0001"
    assert invoice.void_reason == "Issued to the wrong client"
    assert invoice.amount_due == 0
    assert published[-1][0] == "invoice.voided"
    assert order.events.filter(message=f"{invoice.number} voided.").exists()


@pytest.mark.parametrize("state", ["draft", "void", "paid", "credited"])
def test_void_is_refused_for_drafts_void_paid_and_credited_invoices(owner, state):
    invoice = draft(owner) if state == "draft" else issued(owner)
    if state == "void":
        services.void_invoice(actor=owner, invoice=invoice, reason="x")
    elif state == "paid":
        services.record_payment(actor=owner, invoice=invoice, amount=D(10), method="cash")
    elif state == "credited":
        services.credit_invoice(actor=owner, invoice=invoice, lines=[line(price="5")])
    invoice.refresh_from_db()
    before = invoice.status

    with pytest.raises(Conflict):
        services.void_invoice(actor=owner, invoice=invoice, reason="Oops")

    invoice.refresh_from_db()
    assert invoice.status == before


def test_void_needs_a_reason(owner):
    invoice = issued(owner)
    with pytest.raises(InvalidInput):
        services.void_invoice(actor=owner, invoice=invoice, reason="   ")
    invoice.refresh_from_db()
    assert invoice.status == S.ISSUED


# --- Credit notes --------------------------------------------------------------------------


def test_full_credit_note_copies_the_lines_and_settles_the_invoice(owner, published):
    invoice = issued(owner, lines=[line(price="100", rate="6"), line("B", price="50")])

    note = services.credit_invoice(actor=owner, invoice=invoice, reason="Project cancelled")

    invoice.refresh_from_db()
    assert note.number.startswith("CN-")
    assert note.credited_invoice_id == invoice.pk
    assert note.total == invoice.total == D("156.00")
    assert invoice.amount_credited == D("156.00")
    assert invoice.status == S.CREDITED
    assert invoice.amount_due == 0
    assert "credit_note.issued" in [name for name, _p in published]


def test_partial_credit_reduces_what_is_due_and_a_payment_settles_the_rest(owner):
    invoice = issued(owner, lines=[line(price="1000")])

    services.credit_invoice(actor=owner, invoice=invoice, lines=[line(price="200")])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (S.ISSUED, D("800.00"))

    services.record_payment(actor=owner, invoice=invoice, amount=D(800), method="alipay")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (S.PAID, D(0))


def test_credit_beyond_what_is_left_is_refused(owner):
    invoice = issued(owner, lines=[line(price="100")])
    services.credit_invoice(actor=owner, invoice=invoice, lines=[line(price="60")])

    with pytest.raises(InvalidInput):
        services.credit_invoice(actor=owner, invoice=invoice, lines=[line(price="50")])

    invoice.refresh_from_db()
    assert invoice.amount_credited == D(60)
    assert invoice.credit_notes.count() == 1


def test_default_second_credit_note_credits_the_rest(owner):
    invoice = issued(owner, lines=[line(price="100", rate="6")])
    services.credit_invoice(actor=owner, invoice=invoice, lines=[line(price="40", rate="6")])

    rest = services.credit_invoice(actor=owner, invoice=invoice)

    invoice.refresh_from_db()
    assert rest.total == D("63.60")
    assert invoice.amount_credited == invoice.total
    assert invoice.status == S.CREDITED


def test_voiding_a_credit_note_gives_its_amount_back(owner):
    invoice = issued(owner, lines=[line(price="100")])
    note = services.credit_invoice(actor=owner, invoice=invoice)

    services.void_invoice(actor=owner, invoice=note, reason="Credited by mistake")

    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.status, invoice.amount_due) == (D(0), S.ISSUED, D(100))


def test_drafts_void_invoices_and_credit_notes_cannot_be_credited(owner):
    void = issued(owner)
    services.void_invoice(actor=owner, invoice=void, reason="x")
    note = services.credit_invoice(actor=owner, invoice=issued(owner))
    for invoice in (draft(owner), void, note):
        with pytest.raises(Conflict):
            services.create_credit_note(actor=owner, invoice=invoice)


# --- Payments ------------------------------------------------------------------------------


def test_partial_then_full_payment_moves_the_status(owner, published):
    order = order_for()
    invoice = issued(owner, order=order, lines=[line(price="1000")])

    services.record_payment(
        actor=owner, invoice=invoice, amount=D("400"), method="bank_transfer", reference="TX1"
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (S.PARTIALLY_PAID, D(600))

    services.record_payment(actor=owner, invoice=invoice, amount=D("600"), method="wechat_pay")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (S.PAID, D(1000), D(0))
    names = [name for name, _payload in published]
    assert names.count("payment.recorded") == 2
    assert names[-1] == "invoice.paid"
    assert invoice.events.filter(kind=InvoiceEvent.Kind.PAYMENT).count() == 2
    assert order.events.filter(message=f"Payment recorded on {invoice.number}.").count() == 2
    assert not order.events.filter(message__contains="1,000").exists()  # artists read it


def test_overpayment_is_a_clear_error_and_records_nothing(owner):
    invoice = issued(owner, lines=[line(price="100")])

    with pytest.raises(InvalidInput) as caught:
        services.record_payment(actor=owner, invoice=invoice, amount=D("100.01"), method="cash")

    assert caught.value.fields == {
        "amount": ["The payment (¥100.01) is more than the amount due (¥100.00)."]
    }
    assert not Payment.objects.exists()


@pytest.mark.parametrize("state", ["draft", "void"])
def test_payment_on_draft_or_void_invoice_is_refused(owner, state):
    invoice = draft(owner)
    if state == "void":
        invoice = services.issue_invoice(actor=owner, invoice=invoice)
        services.void_invoice(actor=owner, invoice=invoice, reason="x")

    with pytest.raises(Conflict) as caught:
        services.record_payment(actor=owner, invoice=invoice, amount=D(1), method="cash")

    assert caught.value.code == "not_payable"
    assert not Payment.objects.exists()


def test_same_reference_is_not_recorded_twice(owner):
    invoice = issued(owner, lines=[line(price="1000")])
    first = services.record_payment(
        actor=owner, invoice=invoice, amount=D(300), method="alipay", reference="2026 0401 77"
    )

    again = services.record_payment(
        actor=owner, invoice=invoice, amount=D(300), method="alipay", reference="2026 0401 77"
    )

    assert (first.created, again.created) == (True, False)
    assert again.payment.pk == first.payment.pk
    invoice.refresh_from_db()
    assert invoice.amount_paid == D(300)
    with pytest.raises(Conflict) as caught:
        services.record_payment(
            actor=owner, invoice=invoice, amount=D(200), method="alipay", reference="2026 0401 77"
        )
    assert caught.value.code == "duplicate_reference"
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "field"),
    [(D(0), "amount"), (D("-5"), "amount"), (D("1.005"), "amount"), ("abc", "amount")],
)
def test_bad_payment_amounts_are_refused(owner, amount, field):
    invoice = issued(owner)
    with pytest.raises(InvalidInput) as caught:
        services.record_payment(actor=owner, invoice=invoice, amount=amount, method="cash")
    assert field in caught.value.fields
    assert not Payment.objects.exists()


def test_payment_in_the_future_or_with_an_unknown_method_is_refused(owner):
    invoice = issued(owner)
    with pytest.raises(InvalidInput):
        services.record_payment(
            actor=owner,
            invoice=invoice,
            amount=D(1),
            method="cash",
            paid_on=dt.date.today() + dt.timedelta(days=3),
        )
    with pytest.raises(InvalidInput):
        services.record_payment(actor=owner, invoice=invoice, amount=D(1), method="bitcoin")
    assert not Payment.objects.exists()


def test_jpy_payment_must_be_whole_yen(owner):
    invoice = issued(owner, client=ClientFactory(currency="JPY"), lines=[line(price="12000")])
    with pytest.raises(InvalidInput):
        services.record_payment(actor=owner, invoice=invoice, amount=D("100.50"), method="card")
    services.record_payment(actor=owner, invoice=invoice, amount=D("12000"), method="card")
    invoice.refresh_from_db()
    assert invoice.status == S.PAID


# --- Overdue (computed) -----------------------------------------------------------------------


def test_overdue_is_computed_from_the_due_date_not_stored(owner):
    with time_machine.travel(dt.datetime(2026, 5, 1, 4, tzinfo=dt.UTC)):
        invoice = issued(owner, net_days=7)
    with time_machine.travel(dt.datetime(2026, 5, 8, 4, tzinfo=dt.UTC)):
        assert not invoice.is_overdue
        assert not Invoice.objects.overdue().exists()
    with time_machine.travel(dt.datetime(2026, 5, 9, 4, tzinfo=dt.UTC)):
        assert invoice.is_overdue
        assert list(Invoice.objects.overdue()) == [invoice]
        assert invoice.display_status()[0] == "overdue"
        services.record_payment(actor=owner, invoice=invoice, amount=invoice.total, method="cash")
        invoice.refresh_from_db()
        assert not invoice.is_overdue
    invoice.refresh_from_db()
    assert invoice.status == S.PAID


# --- Fapiao --------------------------------------------------------------------------------


def test_fapiao_tracking_records_status_number_and_file(owner):
    order = order_for()
    invoice = issued(owner, order=order)
    services.update_fapiao(actor=owner, invoice=invoice, status="requested")

    pdf = SimpleUploadedFile("fp.pdf", b"%PDF-1.7\n%fapiao\n", content_type="application/pdf")
    services.update_fapiao(
        actor=owner,
        invoice=invoice,
        status="issued_platform",
        number="2644 2000 0000 1234 5678",
        upload=pdf,
    )

    invoice.refresh_from_db()
    assert invoice.fapiao_status == "issued_platform"
    assert invoice.fapiao_number == "26442000000012345678"
    assert invoice.fapiao_file.name.endswith(".pdf")
    assert invoice.fapiao_file_type == "application/pdf"
    assert invoice.fapiao_issued_on is not None
    assert invoice.events.filter(kind=InvoiceEvent.Kind.FAPIAO).count() == 2
    assert order.events.filter(message__startswith=f"Fapiao for {invoice.number}").count() == 2


@pytest.mark.parametrize(
    ("number", "upload"),
    [
        ("1234", None),
        ("2644200000001234567X", None),
        ("", None),  # issued without a number
        ("26442000000012345678", SimpleUploadedFile("x.exe", b"MZ\x90\x00rest")),
    ],
)
def test_bad_fapiao_details_are_refused(owner, number, upload):
    invoice = issued(owner)

    with pytest.raises(InvalidInput):
        services.update_fapiao(
            actor=owner, invoice=invoice, status="issued_on_behalf", number=number, upload=upload
        )

    invoice.refresh_from_db()
    assert (invoice.fapiao_status, invoice.fapiao_number, invoice.fapiao_file.name) == ("", "", "")


def test_drafts_have_no_fapiao(owner):
    with pytest.raises(Conflict):
        services.update_fapiao(actor=owner, invoice=draft(owner), status="requested")


# --- Settings ----------------------------------------------------------------------------


def test_only_the_owner_changes_billing_settings(owner, producer):
    with pytest.raises(NotPermitted):
        services.update_billing_settings(actor=producer, fields={"net_days": 30})
    with pytest.raises(InvalidInput):
        services.update_billing_settings(actor=owner, fields={"default_tax_rate": D(101)})

    prefs = services.update_billing_settings(actor=owner, fields={"net_days": 30})

    assert prefs.net_days == 30
