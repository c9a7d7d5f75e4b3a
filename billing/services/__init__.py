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
from billing.services.expenses import (
    attach_receipt,
    create_expense,
    delete_expense,
    remove_receipt,
    update_expense,
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
from billing.services.rates import (
    RateResult,
    delete_rate,
    import_rates,
    preview_rates_csv,
    set_rate,
    update_rate,
)
from billing.services.sending import SendResult, send_invoice
from billing.services.subscriptions import (
    book_due_renewals,
    cancel_subscription,
    create_subscription,
    delete_subscription,
    resume_subscription,
    update_subscription,
)

__all__ = [
    "MAX_LINES",
    "ORDER_EVENT_KIND",
    "SETTINGS_FIELDS",
    "LineInput",
    "PaymentResult",
    "RateResult",
    "SendResult",
    "attach_receipt",
    "book_due_renewals",
    "buyer_snapshot",
    "cancel_subscription",
    "check_lines",
    "create_credit_note",
    "create_deposit_invoice",
    "create_expense",
    "create_final_invoice",
    "create_invoice",
    "create_subscription",
    "credit_invoice",
    "delete_draft",
    "delete_expense",
    "delete_rate",
    "delete_subscription",
    "import_rates",
    "invoice_payload",
    "invoiced_for_order",
    "issue_invoice",
    "money_text",
    "payment_snapshot",
    "preview_rates_csv",
    "record_payment",
    "remove_receipt",
    "resume_subscription",
    "seller_snapshot",
    "send_invoice",
    "set_rate",
    "update_billing_settings",
    "update_draft",
    "update_expense",
    "update_fapiao",
    "update_rate",
    "update_subscription",
    "void_invoice",
]
