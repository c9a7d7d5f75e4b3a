"""Operations that change invoices, credit notes, payments and billing settings.

One function per business action: keyword-only arguments, the rule checks, one
transaction that writes the change, the invoice's history (and the order's timeline)
and the domain event, with side effects (PDF render, e-mail) queued on commit.
Delivery (rendering, storing and e-mailing PDFs) lives in billing.delivery.
"""

from billing.services.common import (
    MAX_LINES,
    ORDER_EVENT_KIND,
    LineInput,
    check_lines,
    invoice_payload,
    money_text,
)
from billing.services.drafts import (
    create_deposit_invoice,
    create_final_invoice,
    create_invoice,
    delete_draft,
    invoiced_for_order,
    update_draft,
)
from billing.services.fapiao import update_fapiao
from billing.services.issuing import (
    buyer_snapshot,
    create_credit_note,
    credit_invoice,
    issue_invoice,
    payment_snapshot,
    seller_snapshot,
    void_invoice,
)
from billing.services.payments import PaymentResult, record_payment
from billing.services.preferences import SETTINGS_FIELDS, update_billing_settings
from billing.services.sending import SendResult, send_invoice

__all__ = [
    "MAX_LINES",
    "ORDER_EVENT_KIND",
    "SETTINGS_FIELDS",
    "LineInput",
    "PaymentResult",
    "SendResult",
    "buyer_snapshot",
    "check_lines",
    "create_credit_note",
    "create_deposit_invoice",
    "create_final_invoice",
    "create_invoice",
    "credit_invoice",
    "delete_draft",
    "invoice_payload",
    "invoiced_for_order",
    "issue_invoice",
    "money_text",
    "payment_snapshot",
    "record_payment",
    "seller_snapshot",
    "send_invoice",
    "update_billing_settings",
    "update_draft",
    "update_fapiao",
    "void_invoice",
]
