"""REST API for invoices and payments: drafts, transitions, the PDF, idempotency keys,
the one error shape."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.core import mail
from rest_framework.test import APIClient

from billing import delivery, services
from billing.models import IdempotencyRecord, Invoice, Payment
from tests.billing.helpers import draft, issued, line, order_for, set_billing
from tests.factories import ClientFactory
from tests.orders.factories_api import bearer_client, error_of

D = Decimal
S = Invoice.Status
pytestmark = pytest.mark.django_db
INVOICES = "/api/invoices/"
PAYMENTS = "/api/payments/"


@pytest.fixture
def api(owner):
    return bearer_client(owner)


def lines_body(*lines: dict) -> list[dict]:
    return [{"description": "Clip", "quantity": "1", "unit_price": "100", **item} for item in lines]


# --- Access --------------------------------------------------------------------------------


def test_anonymous_gets_401_and_artists_and_outsiders_403(owner, artist, outsider):
    invoice = issued(owner)
    assert APIClient().get(INVOICES).status_code == 401
    for user in (artist, outsider):
        http = bearer_client(user)
        for method, path in (
            ("get", INVOICES),
            ("get", f"{INVOICES}{invoice.pk}/"),
            ("get", f"{INVOICES}{invoice.pk}/pdf/"),
            ("get", PAYMENTS),
            ("post", PAYMENTS),
        ):
            response = getattr(http, method)(path, {}, format="json")
            assert response.status_code == 403, (user, path)
            assert error_of(response)["code"] == "permission_denied"


# --- Drafts --------------------------------------------------------------------------------


def test_create_a_draft_with_lines(api, owner):
    set_billing(default_tax_rate=D(6))
    client = ClientFactory(currency="USD")

    response = api.post(
        INVOICES,
        {
            "client": client.pk,
            "subject": "Teaser",
            "lines": lines_body(
                {"quantity": "2.5", "unit_price": "99.99", "tax_rate": "13"},
                {"unit_price": "10.05"},
            ),
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    invoice = Invoice.objects.get()
    assert response["Location"].endswith(f"{INVOICES}{invoice.pk}/")
    assert (body["status"], body["number"], body["currency"]) == ("draft", "", "USD")
    assert [item["gross_amount"] for item in body["lines"]] == ["282.48", "10.65"]
    assert (body["subtotal"], body["tax_total"], body["total"]) == ("260.03", "33.10", "293.13")
    assert body["pdf_status"] == "none"
    assert body["pdf_url"] is None


def test_create_deposit_and_final_invoices_for_an_order(api):
    order = order_for(price=D("1500"), deposit_percent=D(50))

    deposit = api.post(INVOICES, {"order": order.pk, "purpose": "deposit"}, format="json")
    again = api.post(INVOICES, {"order": order.pk, "purpose": "deposit"}, format="json")
    api.post(f"{INVOICES}{deposit.json()['id']}/issue/")
    final = api.post(
        INVOICES, {"order": order.pk, "purpose": "final", "net_days": 3}, format="json"
    )

    assert deposit.status_code == 201
    assert deposit.json()["total"] == "750.00"
    assert again.status_code == 409
    assert error_of(again)["code"] == "deposit_exists"
    assert final.status_code == 201
    assert (final.json()["total"], final.json()["net_days"]) == ("750.00", 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": lines_body({"quantity": "-1"})}, "lines.0.quantity"),
        ({"lines": lines_body({"unit_price": "-1"})}, "lines.0.unit_price"),
        ({"lines": lines_body({"tax_rate": "100.5"})}, "lines.0.tax_rate"),
        ({"lines": lines_body({"quantity": "NaN"})}, "lines.0.quantity"),
        ({"lines": lines_body({"description": ""})}, "lines.0.description"),
        ({"currency": "XYZ"}, "currency"),
        ({"purpose": "deposit"}, "order"),
        ({"net_days": 400}, "net_days"),
    ],
)
def test_bad_drafts_are_400_and_create_nothing(api, body, field):
    client = ClientFactory()

    response = api.post(INVOICES, {"client": client.pk, **body}, format="json")

    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    assert not Invoice.objects.exists()


def test_order_of_another_client_is_refused(api):
    order = order_for()
    response = api.post(INVOICES, {"client": ClientFactory().pk, "order": order.pk}, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"order": ["The order belongs to another client."]}


def test_patch_replaces_a_drafts_lines_but_an_issued_invoice_is_409(api, owner):
    invoice = draft(owner)

    ok = api.patch(
        f"{INVOICES}{invoice.pk}/",
        {"lines": lines_body({"unit_price": "5"}, {"unit_price": "7"}), "notes": "Hi"},
        format="json",
    )
    assert ok.status_code == 200
    assert ok.json()["total"] == "12.00"

    services.issue_invoice(actor=owner, invoice=invoice)
    refused = api.patch(f"{INVOICES}{invoice.pk}/", {"lines": lines_body()}, format="json")
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "invoice_issued"
    invoice.refresh_from_db()
    assert invoice.total == D(12)


def test_put_is_not_offered(api, owner):
    invoice = draft(owner)
    assert api.put(f"{INVOICES}{invoice.pk}/", {}, format="json").status_code == 405


def test_delete_only_drafts(api, owner):
    kept = issued(owner)
    gone = draft(owner)

    assert api.delete(f"{INVOICES}{gone.pk}/").status_code == 204
    refused = api.delete(f"{INVOICES}{kept.pk}/")
    assert refused.status_code == 409
    assert list(Invoice.objects.values_list("pk", flat=True)) == [kept.pk]


# --- Transitions ---------------------------------------------------------------------------


def test_issue_void_and_their_refusals(api, owner):
    invoice = draft(owner)

    issued_ = api.post(f"{INVOICES}{invoice.pk}/issue/")
    again = api.post(f"{INVOICES}{invoice.pk}/issue/")
    no_reason = api.post(f"{INVOICES}{invoice.pk}/void/", {}, format="json")
    voided = api.post(f"{INVOICES}{invoice.pk}/void/", {"reason": "Duplicate"}, format="json")

    assert issued_.status_code == 200
    assert issued_.json()["number"].startswith("INV-")
    assert issued_.json()["pdf_status"] == "rendering"
    assert again.status_code == 409
    assert error_of(again)["code"] == "invalid_transition"
    assert no_reason.status_code == 400
    assert voided.status_code == 200
    assert voided.json()["status"] == "void"


def test_issue_of_an_empty_draft_is_400(api, owner):
    invoice = draft(owner, lines=[])
    response = api.post(f"{INVOICES}{invoice.pk}/issue/")
    assert response.status_code == 400
    invoice.refresh_from_db()
    assert invoice.status == S.DRAFT


def test_credit_issues_a_credit_note_and_honours_idempotency_keys(api, owner):
    invoice = issued(owner, lines=[line(price="100")])
    address = f"{INVOICES}{invoice.pk}/credit/"
    body = {"reason": "Discount", "lines": lines_body({"unit_price": "30"})}

    first = api.post(address, body, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")
    replay = api.post(address, body, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")
    other = api.post(
        address, {**body, "reason": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="credit-1"
    )

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert replay["Location"] == first["Location"]
    assert first.json()["number"].startswith("CN-")
    assert other.status_code == 409
    assert error_of(other)["code"] == "idempotency_key_reused"
    assert Invoice.objects.credit_notes().count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_credited == D(30)


def test_send_queues_once(api, owner, studio_profile, django_capture_on_commit_callbacks):
    invoice = issued(owner, client=ClientFactory(email="li@example.com"))

    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"{INVOICES}{invoice.pk}/send/", {}, format="json")
        second = api.post(f"{INVOICES}{invoice.pk}/send/", {}, format="json")

    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.json()["repeated"], second.json()["repeated"]) == (False, True)
    assert len(mail.outbox) == 1


# --- The PDF --------------------------------------------------------------------------------


def test_pdf_is_202_while_rendering_then_the_stored_file(api, owner):
    invoice = issued(owner)
    address = f"{INVOICES}{invoice.pk}/pdf/"

    pending = api.get(address, HTTP_ACCEPT="application/pdf")
    assert pending.status_code == 202
    assert pending["Content-Type"] == "application/json"
    assert pending.json() == {"status": "rendering", "retry_after": 3}
    assert pending["Retry-After"] == "3"

    delivery.render_invoice_pdf(job_id=invoice.pdf_job.pk)
    invoice.refresh_from_db()
    response = api.get(address)
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(body).hexdigest() == invoice.pdf_sha256
    assert api.get(f"{INVOICES}{invoice.pk}/").json()["pdf_status"] == "ready"


def test_a_draft_has_no_pdf(api, owner):
    response = api.get(f"{INVOICES}{draft(owner).pk}/pdf/")
    assert response.status_code == 409
    assert error_of(response)["code"] == "not_issued"


# --- Lists ---------------------------------------------------------------------------------


def test_list_filters(api, owner):
    usd = ClientFactory(currency="USD")
    old = issued(owner, client=usd)
    Invoice.objects.filter(pk=old.pk).update(due_date=dt.date(2020, 1, 1))
    issued(owner)
    draft(owner)

    overdue = api.get(INVOICES, {"overdue": "true"}).json()
    by_status = api.get(INVOICES, {"status": "draft,issued"}).json()
    by_currency = api.get(INVOICES, {"currency": "USD"}).json()
    bad = api.get(INVOICES, {"status": "nope"})

    assert [item["id"] for item in overdue["results"]] == [old.pk]
    assert overdue["results"][0]["overdue"] is True
    assert by_status["count"] == 3
    assert [item["id"] for item in by_currency["results"]] == [old.pk]
    assert bad.status_code == 400


# --- Payments ------------------------------------------------------------------------------


def test_record_a_payment(api, owner):
    invoice = issued(owner, lines=[line(price="1000")])

    response = api.post(
        PAYMENTS,
        {"invoice": invoice.pk, "amount": "400.00", "method": "wechat_pay", "reference": "WX1"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["currency"], body["invoice_number"]) == (
        "400.00",
        "CNY",
        invoice.number,
    )
    assert response["Location"].endswith(f"{PAYMENTS}{body['id']}/")
    invoice.refresh_from_db()
    assert invoice.status == S.PARTIALLY_PAID


def test_payment_refusals_change_nothing(api, owner):
    open_invoice = issued(owner, lines=[line(price="100")])
    void = issued(owner)
    services.void_invoice(actor=owner, invoice=void, reason="x")
    a_draft = draft(owner)

    over = api.post(
        PAYMENTS, {"invoice": open_invoice.pk, "amount": "100.01", "method": "cash"}, format="json"
    )
    on_void = api.post(
        PAYMENTS, {"invoice": void.pk, "amount": "1", "method": "cash"}, format="json"
    )
    on_draft = api.post(
        PAYMENTS, {"invoice": a_draft.pk, "amount": "1", "method": "cash"}, format="json"
    )
    zero = api.post(
        PAYMENTS, {"invoice": open_invoice.pk, "amount": "0", "method": "cash"}, format="json"
    )
    bad_method = api.post(
        PAYMENTS, {"invoice": open_invoice.pk, "amount": "1", "method": "gold"}, format="json"
    )
    missing = api.post(
        PAYMENTS, {"invoice": 999999, "amount": "1", "method": "cash"}, format="json"
    )

    assert over.status_code == 400
    assert error_of(over)["fields"]["amount"] == [
        "The payment (¥100.01) is more than the amount due (¥100.00)."
    ]
    assert (on_void.status_code, on_draft.status_code) == (409, 409)
    assert (zero.status_code, bad_method.status_code, missing.status_code) == (400, 400, 400)
    assert not Payment.objects.exists()


def test_a_reference_already_recorded_returns_the_first_payment(api, owner):
    invoice = issued(owner, lines=[line(price="1000")])
    body = {"invoice": invoice.pk, "amount": "300", "method": "bank_transfer", "reference": "TX-9"}

    first = api.post(PAYMENTS, body, format="json")
    again = api.post(PAYMENTS, body, format="json")
    conflict = api.post(PAYMENTS, {**body, "amount": "200"}, format="json")

    assert (first.status_code, again.status_code, conflict.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"]
    assert Payment.objects.count() == 1


def test_idempotency_key_returns_the_first_result_for_the_same_request(api, owner):
    invoice = issued(owner, lines=[line(price="1000")])
    body = {"invoice": invoice.pk, "amount": "100", "method": "cash"}

    first = api.post(PAYMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-0001")
    replay = api.post(PAYMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-0001")
    other = api.post(
        PAYMENTS, {**body, "amount": "50"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-0001"
    )
    new_key = api.post(PAYMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-0002")

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert other.status_code == 409
    assert new_key.status_code == 201
    assert Payment.objects.count() == 2
    invoice.refresh_from_db()
    assert invoice.amount_paid == D(200)


def test_idempotency_keys_belong_to_their_user(api, owner, producer):
    invoice = issued(owner, lines=[line(price="1000")])
    body = {"invoice": invoice.pk, "amount": "100", "method": "cash"}

    api.post(PAYMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="shared-key")
    theirs = bearer_client(producer).post(
        PAYMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="shared-key"
    )

    assert theirs.status_code == 201
    assert Payment.objects.count() == 2


def test_a_failed_request_does_not_use_up_its_key(api, owner):
    invoice = issued(owner, lines=[line(price="100")])
    body = {"invoice": invoice.pk, "amount": "150", "method": "cash"}

    refused = api.post(PAYMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    fixed = api.post(
        PAYMENTS, {**body, "amount": "100"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me"
    )

    assert (refused.status_code, fixed.status_code) == (400, 201)
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize("key", ["", " ", "has space", "x" * 256])
def test_a_malformed_idempotency_key_is_400(api, owner, key):
    invoice = issued(owner)
    response = api.post(
        PAYMENTS,
        {"invoice": invoice.pk, "amount": "1", "method": "cash"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in error_of(response)["fields"]
    assert not Payment.objects.exists()


def test_draft_creation_is_idempotent_too(api):
    client = ClientFactory()
    body = {"client": client.pk, "lines": lines_body()}

    first = api.post(INVOICES, body, format="json", HTTP_IDEMPOTENCY_KEY="draft-1")
    replay = api.post(INVOICES, body, format="json", HTTP_IDEMPOTENCY_KEY="draft-1")

    assert replay.json()["id"] == first.json()["id"]
    assert Invoice.objects.count() == 1


def test_payments_list_filters_by_invoice(api, owner):
    first = issued(owner, lines=[line(price="100")])
    second = issued(owner, lines=[line(price="100")])
    services.record_payment(actor=owner, invoice=first, amount=D(10), method="cash")
    services.record_payment(actor=owner, invoice=second, amount=D(20), method="card")

    body = api.get(PAYMENTS, {"invoice": second.pk}).json()

    assert [item["amount"] for item in body["results"]] == ["20.00"]
