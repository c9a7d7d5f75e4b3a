"""Reads behind the billing pages, each with a fixed query budget.

Sums run on whole hundredths (integers) so that they are exact on SQLite too, where
decimals are stored as floating point: a raw SUM() of 10,000 amounts drifts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, F, QuerySet, When
from django.shortcuts import get_object_or_404

from billing.forms import InvoiceFilters, period_range
from billing.models import Invoice, InvoiceEvent, Payment
from billing.models.invoices import today_in_studio
from orders.models import Client, Order
from orders.production_selectors import read_once
from studio.money import Money
from studio.sql import exact_sum

SCALE = 100  # every amount column has two decimal places


def from_cents(cents: int | None) -> Decimal:
    return Decimal(cents or 0) / SCALE


def access_invoice(pk: int, *, for_update: bool = False) -> Invoice:
    """The invoice with what its pages show (404 if missing). Callers check the role."""
    return get_object_or_404(
        Invoice.objects.select_related("client", "order", "credited_invoice", "created_by"),
        pk=pk,
    )


def filter_invoices(filters: InvoiceFilters) -> QuerySet[Invoice]:
    qs = Invoice.objects.all()
    if filters.nothing:
        qs = qs.none()
    today = today_in_studio()
    if filters.q:
        qs = qs.filter(number__icontains=filters.q)
    if filters.status == "open":
        qs = qs.unpaid()
    elif filters.status == "overdue":
        qs = qs.overdue(today)
    elif filters.status in Invoice.Status.values:
        qs = qs.filter(status=filters.status)
    if filters.kind in Invoice.Kind.values:
        qs = qs.filter(kind=filters.kind)
    if filters.client_id:
        qs = qs.filter(client_id=filters.client_id)
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    span = period_range(filters.period, today)
    if span is not None:
        qs = qs.filter(issue_date__gte=span[0], issue_date__lt=span[1])
    return qs


def invoice_rows(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return qs.select_related("client", "order").order_by(
        F("issue_date").desc(nulls_first=True), "-pk"
    )


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    invoiced: Money
    credited: Money
    paid: Money
    due: Money
    overdue: Money
    count: int

    @property
    def net(self) -> Money:
        return self.invoiced - self.credited


def totals_per_currency(qs: QuerySet[Invoice]) -> list[CurrencyTotals]:
    """For the issued documents in qs (drafts and void left out), per currency: invoiced,
    credited, paid, still due and overdue. One query, grouped by currency, kind, status
    and lateness (a few dozen groups), added up here: three sums a row instead of nine
    filtered ones."""
    today = today_in_studio()
    groups = (
        qs.filter(status__in=Invoice.COUNTING_STATUSES)
        .order_by()
        .annotate(late=Case(When(due_date__lt=today, then=True), default=False))
        .values("currency", "kind", "status", "late")
        .annotate(
            total=exact_sum("total"),
            paid=exact_sum("amount_paid"),
            credited=exact_sum("amount_credited"),
            n=Count("pk"),
        )
    )
    sums: dict[str, dict[str, int]] = {}
    for group in groups:
        row = sums.setdefault(group["currency"], dict.fromkeys(_TOTAL_KEYS, 0))
        row["n"] += group["n"]
        total, paid, credited = (group[k] or 0 for k in ("total", "paid", "credited"))
        if group["kind"] == Invoice.Kind.CREDIT_NOTE:
            row["credited"] += total
            continue
        row["invoiced"] += total
        row["paid"] += paid
        if group["status"] in Invoice.OPEN_STATUSES:
            row["open"] += total - paid - credited
            if group["late"]:
                row["late"] += total - paid - credited
    out = []
    for code in sorted(sums):
        row = sums[code]
        out.append(
            CurrencyTotals(
                currency=code,
                invoiced=Money(from_cents(row["invoiced"]), code),
                credited=Money(from_cents(row["credited"]), code),
                paid=Money(from_cents(row["paid"]), code),
                due=Money(max(from_cents(row["open"]), Decimal(0)), code),
                overdue=Money(max(from_cents(row["late"]), Decimal(0)), code),
                count=row["n"],
            )
        )
    return out


_TOTAL_KEYS = ("invoiced", "credited", "paid", "open", "late", "n")


def invoice_history(invoice: Invoice, *, limit: int = 100) -> list[InvoiceEvent]:
    return list(invoice.events.select_related("actor").order_by("-created_at", "-pk")[:limit])


# --- An order's invoices (the section on the order page) -----------------------------------


@dataclass
class OrderBilling:
    invoices: list[Invoice]
    invoiced: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    due: Decimal = Decimal(0)
    has_deposit: bool = False
    has_final_draft: bool = False

    def remaining(self, order: Order) -> Decimal:
        return order.price - self.invoiced


def order_invoices(order: Order) -> list[Invoice]:
    """The order's invoices and credit notes, drafts and void ones included, newest
    first. One query, read once per order page (the invoices and the margin sections
    both need them: orders.production_selectors.read_once)."""
    return read_once(
        order,
        "billing.invoices",
        lambda: list(
            Invoice.objects.filter(order_id=order.pk)
            .select_related("credited_invoice")
            .order_by(F("issue_date").desc(nulls_first=True), "-pk")
        ),
    )


def order_billing(order: Order) -> OrderBilling:
    """The order's invoices and credit notes and what they add up to. One query."""
    documents = order_invoices(order)
    result = OrderBilling(invoices=documents)
    for doc in documents:
        if doc.purpose == Invoice.Purpose.DEPOSIT and doc.status != Invoice.Status.VOID:
            result.has_deposit = True
        if doc.purpose == Invoice.Purpose.FINAL and doc.is_draft:
            result.has_final_draft = True
        if doc.status not in Invoice.COUNTING_STATUSES:
            continue
        basis = doc.total if doc.prices_include_tax else doc.subtotal
        if doc.is_credit_note:
            result.invoiced -= basis
        else:
            result.invoiced += basis
            result.paid += doc.amount_paid
            result.due += doc.amount_due
    return result


# --- A client's statement -----------------------------------------------------------------


@dataclass
class StatementEntry:
    date: dt.date
    kind: str  # invoice, credit_note, payment
    label: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    balance: Decimal = Decimal(0)
    invoice: Invoice | None = None
    payment: Payment | None = None
    overdue: bool = False


@dataclass
class Statement:
    currency: str
    entries: list[StatementEntry] = field(default_factory=list)
    invoiced: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    overdue: Decimal = Decimal(0)

    @property
    def balance(self) -> Decimal:
        return self.invoiced - self.credited - self.paid


def client_statement(client: Client) -> list[Statement]:
    """Per currency, the client's issued invoices, credit notes and payments in date
    order with a running balance (what they owe; negative: what the studio owes them).
    Void and draft documents are left out. Two queries."""
    today = today_in_studio()
    documents = list(
        Invoice.objects.filter(client=client, status__in=Invoice.COUNTING_STATUSES)
        .select_related("order")
        .order_by("issue_date", "pk")
    )
    payments = list(
        Payment.objects.filter(invoice__client=client)
        .exclude(invoice__status=Invoice.Status.VOID)
        .select_related("invoice")
        .order_by("paid_on", "pk")
    )
    statements: dict[str, Statement] = {}
    entries: list[tuple[tuple[dt.date, int, int], str, StatementEntry]] = []
    for doc in documents:
        statement = statements.setdefault(doc.currency, Statement(currency=doc.currency))
        assert doc.issue_date is not None
        if doc.is_credit_note:
            statement.credited += doc.total
            entry = StatementEntry(
                date=doc.issue_date,
                kind="credit_note",
                label=doc.number,
                credit=doc.total,
                invoice=doc,
            )
        else:
            statement.invoiced += doc.total
            overdue = doc.is_overdue_on(today)
            if overdue:
                statement.overdue += doc.amount_due
            entry = StatementEntry(
                date=doc.issue_date,
                kind="invoice",
                label=doc.number,
                debit=doc.total,
                invoice=doc,
                overdue=overdue,
            )
        entries.append(((doc.issue_date, 0, doc.pk), doc.currency, entry))
    for payment in payments:
        statement = statements.setdefault(payment.currency, Statement(currency=payment.currency))
        statement.paid += payment.amount
        entry = StatementEntry(
            date=payment.paid_on,
            kind="payment",
            label=payment.invoice.number,
            credit=payment.amount,
            payment=payment,
            invoice=payment.invoice,
        )
        entries.append(((payment.paid_on, 1, payment.pk), payment.currency, entry))
    running: dict[str, Decimal] = {}
    for _key, currency, entry in sorted(entries, key=lambda item: item[0]):
        running[currency] = running.get(currency, Decimal(0)) + entry.debit - entry.credit
        entry.balance = running[currency]
        statements[currency].entries.append(entry)
    return [statements[code] for code in sorted(statements)]
