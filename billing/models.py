"""Invoices, payments, expenses and subscriptions (see the billing issues)."""
