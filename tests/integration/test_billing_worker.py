"""A real Celery worker on Redis renders an issued invoice's PDF (once) and e-mails it."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from billing import services
from billing.models import Invoice, InvoiceEmail, InvoicePdfJob
from tests.factories import ClientFactory, UserFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _issued_invoice() -> tuple[object, Invoice]:
    owner = UserFactory(username="olivia", role="owner")
    client = ClientFactory(name="上海星河文化传媒有限公司", email="li@xinghe.example")
    line = services.LineInput(
        description="短剧第一集制作", quantity=Decimal(1), unit_price=Decimal("1500.00")
    )
    invoice = services.create_invoice(actor=owner, client=client, lines=[line])
    return owner, services.issue_invoice(actor=owner, invoice=invoice)


def test_worker_renders_and_stores_the_pdf_after_issue(celery_worker_process):
    _owner, invoice = _issued_invoice()

    done = wait_for(
        lambda: InvoicePdfJob.objects.filter(invoice=invoice, state="done").exists(), timeout=60
    )
    assert done, celery_worker_process.log()[-3000:]
    invoice.refresh_from_db()
    with invoice.pdf.open("rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == invoice.pdf_sha256
    assert celery_worker_process.wait_for_task("billing.tasks.render_invoice_pdf")


def test_worker_sends_the_invoice_email_once(celery_worker_process, tmp_path):
    owner, invoice = _issued_invoice()

    services.send_invoice(actor=owner, invoice=invoice, key="worker-send-1")
    services.send_invoice(actor=owner, invoice=invoice, key="worker-send-1")

    sent = wait_for(
        lambda: InvoiceEmail.objects.filter(invoice=invoice, state="sent").exists(), timeout=60
    )
    assert sent, celery_worker_process.log()[-3000:]
    assert InvoiceEmail.objects.count() == 1
    mail_dir = Path(tmp_path / "var" / "mail")
    messages = [p.read_text(errors="replace") for p in mail_dir.glob("*.log")]
    assert len(messages) == 1
    assert invoice.number in messages[0]
    assert "application/pdf" in messages[0]
