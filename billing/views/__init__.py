"""HTML pages of the billing app. One module per area; names re-exported here."""

from billing.views.documents import (
    invoice_fapiao_file,
    invoice_pdf,
    invoice_pdf_retry,
    portal_fapiao_file,
    portal_invoice_pdf,
)
from billing.views.invoices import (
    invoice_create,
    invoice_credit,
    invoice_delete,
    invoice_detail,
    invoice_edit,
    invoice_fapiao,
    invoice_from_order,
    invoice_issue,
    invoice_list,
    invoice_payment,
    invoice_send,
    invoice_void,
)
from billing.views.preferences import billing_settings
from billing.views.statements import client_statement

__all__ = [
    "billing_settings",
    "client_statement",
    "invoice_create",
    "invoice_credit",
    "invoice_delete",
    "invoice_detail",
    "invoice_edit",
    "invoice_fapiao",
    "invoice_fapiao_file",
    "invoice_from_order",
    "invoice_issue",
    "invoice_list",
    "invoice_payment",
    "invoice_pdf",
    "invoice_pdf_retry",
    "invoice_send",
    "invoice_void",
    "portal_fapiao_file",
    "portal_invoice_pdf",
]
