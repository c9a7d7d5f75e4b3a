"""Billing's reminder kinds (registered with studio.reminders in BillingConfig.ready):
invoices (billing.reminders.invoices) and subscription renewals
(billing.reminders.subscriptions)."""

from __future__ import annotations


def register_kinds() -> None:
    from billing.reminders import invoices, subscriptions

    invoices.register_kinds()
    subscriptions.register_kinds()
