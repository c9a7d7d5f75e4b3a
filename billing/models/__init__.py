"""Billing models, one module per area. Importing them here registers them with Django."""

from billing.models.costs import (
    CostEvent,
    ExchangeRate,
    Expense,
    ExpenseQuerySet,
    Subscription,
    SubscriptionQuerySet,
    add_months,
)
from billing.models.invoices import (
    TAX_RATE_PRESETS,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceQuerySet,
    Payment,
)
from billing.models.jobs import IdempotencyRecord, InvoiceEmail, InvoicePdfJob
from billing.models.margins import (
    MarginChange,
    MarginMissingNote,
    MarginMonth,
    MarginState,
    MarginStateQuerySet,
    OrderMarginRow,
    OrderMonthMargin,
)
from billing.models.preferences import BillingSettings

__all__ = [
    "TAX_RATE_PRESETS",
    "BillingSettings",
    "CostEvent",
    "ExchangeRate",
    "Expense",
    "ExpenseQuerySet",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceEmail",
    "InvoiceEvent",
    "InvoiceLine",
    "InvoicePdfJob",
    "InvoiceQuerySet",
    "MarginChange",
    "MarginMissingNote",
    "MarginMonth",
    "MarginState",
    "MarginStateQuerySet",
    "OrderMarginRow",
    "OrderMonthMargin",
    "Payment",
    "Subscription",
    "SubscriptionQuerySet",
    "add_months",
]
