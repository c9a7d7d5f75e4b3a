"""The money side of the small demo studio: invoices and payments for its orders, tool
subscriptions with their booked renewals, expenses and exchange rates — so that the
invoice list, the cost pages, margins and the monthly report have something true to
show after `make run`.

Everything goes through the services (numbers, totals, history, events), then dates
are moved back where the demo needs a past (demo data only, like seed_demo's
_spread_in_time). Amounts are plausible demo values, not anyone's price list.
"""

# Demo text is Chinese and English: full-width punctuation is meant.
# ruff: noqa: RUF001

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.utils import timezone

from billing import services as billing
from billing.models import Expense, Invoice, Payment, Subscription, add_months
from billing.models.invoices import today_in_studio
from billing.services import expenses, rates, subscriptions
from orders.models import Order
from studio.models import AITool

S = Order.Status
# Monthly averages to CNY over the last year (demo values).
RATES = {"USD": "7.18", "EUR": "7.79", "HKD": "0.92", "JPY": "0.0481", "GBP": "9.12"}
# tool name, plan, amount, currency, period, months ago started, auto renew, cancelled
SUBSCRIPTIONS: list[tuple[str, str, str, str, str, int, bool, int | None]] = [
    # As old as the demo's orders (about three months), so every month has work to carry
    # its overhead; started on different days of the month.
    ("Kling", "黄金会员 Gold", "66.00", "CNY", "monthly", 3, True, None),
    ("Hailuo 02", "Standard", "9.99", "USD", "monthly", 3, True, None),
    ("Jimeng", "高级会员 Premium", "69.00", "CNY", "monthly", 2, True, None),
    ("ElevenLabs", "Creator", "22.00", "USD", "monthly", 3, True, None),
    ("Suno", "Pro (yearly)", "96.00", "USD", "yearly", 2, True, None),
    ("CapCut / 剪映", "剪映专业版 年度 VIP", "218.00", "CNY", "yearly", 1, True, None),
    ("PixVerse", "Pro", "15.00", "USD", "monthly", 3, True, 1),
]
# category, vendor, amount, currency, days ago, note, on the breakdown order?
EXPENSES: list[tuple[str, str, str, str, int, str, bool]] = [
    ("generation_credits", "Kuaishou", "300.00", "CNY", 40, "可灵加油包 3000 灵感值", False),
    ("hardware", "京东 JD.com", "1299.00", "CNY", 75, "外接显示器 / monitor", False),
    ("stock", "Pond5", "49.00", "USD", 20, "Stock footage: city night aerials", False),
    ("other", "阿里云 Aliyun", "120.00", "CNY", 15, "对象存储与带宽 / storage", False),
    (
        "dubbing",
        "自由配音演员 王老师",
        "800.00",
        "CNY",
        12,
        "第 1–3 集配音 / dubbing ep. 1–3",
        True,
    ),
    ("music_licence", "Artlist", "199.00", "USD", 25, "年度音乐授权 / music licence", True),
    ("freelancer", "剪辑师 小李", "600.00", "CNY", 9, "精剪与调色 / final cut and grade", True),
]


def _months_ago(today: dt.date, months: int) -> dt.date:
    return add_months(today.replace(day=min(today.day, 28)), -months)


def seed_rates(*, owner: Any, today: dt.date) -> int:
    """A rate on the first of each month for the last 14 months, and today's."""
    count = 0
    for currency, value in RATES.items():
        days = [_months_ago(today, m).replace(day=1) for m in range(14, -1, -1)] + [today]
        for index, day in enumerate(days):
            # A small drift so the months differ, as real rates do.
            drift = Decimal(1) + Decimal(index % 5 - 2) / Decimal(200)
            rate = (Decimal(value) * drift).quantize(Decimal("0.000001"))
            rates.set_rate(actor=owner, currency=currency, on=day, rate=rate)
            count += 1
    return count


def seed_subscriptions(*, owner: Any, today: dt.date) -> int:
    tools = {tool.name: tool for tool in AITool.objects.all()}
    for index, (name, plan, amount, currency, period, ago, renew, cancelled) in enumerate(
        SUBSCRIPTIONS
    ):
        tool = tools.get(name)
        if tool is None:
            continue
        started = _months_ago(today, ago) + dt.timedelta(days=5 * index - 12)
        subscription = subscriptions.create_subscription(
            actor=owner,
            tool=tool,
            plan_name=plan,
            amount=Decimal(amount),
            currency=currency,
            period=period,
            started_on=started,
            # The first renewal one period after the start: the catch-up below books the
            # year's renewals, as if the studio had used ReelDesk all along.
            next_renewal_on=add_months(started, Subscription.MONTHS[period]),
            auto_renew=renew,
            book_first_payment=True,
            notes="Demo subscription.",
        )
        if cancelled is not None:
            ended = _months_ago(today, cancelled)
            subscriptions.book_renewals_of(
                subscription_id=subscription.pk, today=ended - dt.timedelta(days=1)
            )
            subscription.refresh_from_db()
            subscriptions.cancel_subscription(
                actor=owner, subscription=subscription, from_date=ended
            )
    subscriptions.book_due_renewals(today=today)
    return Subscription.objects.count()


def seed_expenses(*, owner: Any, today: dt.date, drama: Order | None) -> int:
    tools = {tool.vendor: tool for tool in AITool.objects.all()}
    for category, vendor, amount, currency, ago, note, on_drama in EXPENSES:
        expenses.create_expense(
            actor=owner,
            spent_on=today - dt.timedelta(days=ago),
            amount=Decimal(amount),
            currency=currency,
            category=category,
            vendor=vendor,
            tool=tools.get(vendor),
            order=drama if on_drama else None,
            note=note,
        )
    return Expense.objects.count()


def _backdate(invoice: Invoice, issued: dt.date) -> None:
    """Demo data only: the invoice was issued on `issued`."""
    due = issued + dt.timedelta(days=invoice.net_days)
    Invoice.objects.filter(pk=invoice.pk).update(issue_date=issued, due_date=due)
    invoice.refresh_from_db()


def _local_day(moment: dt.datetime | None, fallback: dt.date) -> dt.date:
    from studio.models import StudioProfile

    if moment is None:
        return fallback
    return moment.astimezone(StudioProfile.load().zone).date()


def seed_invoices(*, owner: Any, orders: Iterable[Order], today: dt.date) -> int:
    """Deposits for accepted work, finals for delivered work; most are paid, one final
    is left overdue and one deposit partly paid, as in any studio."""
    overdue_left = partly_left = 1
    for order in orders:
        if order.status in {S.INQUIRY, S.QUOTED, S.CANCELLED, S.ON_HOLD} or order.price <= 0:
            continue
        accepted = _local_day(order.accepted_at, today - dt.timedelta(days=10))
        if order.deposit_percent > 0:
            deposit = billing.create_deposit_invoice(actor=owner, order=order)
            deposit = billing.issue_invoice(actor=owner, invoice=deposit)
            _backdate(deposit, min(accepted, today))
            if order.status == S.ACCEPTED and partly_left:
                partly_left -= 1
                billing.record_payment(
                    actor=owner,
                    invoice=deposit,
                    amount=(deposit.total / 2).quantize(Decimal("0.01")),
                    method=Payment.Method.ALIPAY,
                    paid_on=min(accepted + dt.timedelta(days=1), today),
                    reference=f"DEMO-{deposit.number}-1",
                )
            else:
                billing.record_payment(
                    actor=owner,
                    invoice=deposit,
                    amount=deposit.total,
                    method=Payment.Method.BANK_TRANSFER,
                    paid_on=min(accepted + dt.timedelta(days=2), today),
                    reference=f"DEMO-{deposit.number}",
                )
        if order.status in {S.DELIVERED, S.COMPLETED} and (
            billing.invoiced_for_order(order) < order.price
        ):
            delivered = _local_day(order.delivered_at, today - dt.timedelta(days=3))
            final = billing.create_final_invoice(actor=owner, order=order)
            final = billing.issue_invoice(actor=owner, invoice=final)
            if order.status == S.DELIVERED and overdue_left:
                # The client is late: reminders and receivables aging have a case.
                overdue_left -= 1
                _backdate(final, min(delivered, today - dt.timedelta(days=12)))
                continue
            _backdate(final, min(delivered, today))
            if order.status == S.COMPLETED or (final.due_date or today) < today:
                billing.record_payment(
                    actor=owner,
                    invoice=final,
                    amount=final.total,
                    method=Payment.Method.WECHAT_PAY,
                    paid_on=min(delivered + dt.timedelta(days=4), today),
                    reference=f"DEMO-{final.number}",
                )
    return Invoice.objects.count()


def _noon(day: dt.date) -> dt.datetime:
    from studio.models import StudioProfile

    return dt.datetime.combine(day, dt.time(12), tzinfo=StudioProfile.load().zone)


def settle_timelines(*, now: dt.datetime) -> None:
    """Demo data only: the invoice history happened on the invoices' dates, and the
    orders' timelines stay in order (an invoice line never predates the change before
    it, nor lies in the future)."""
    from billing.models import InvoiceEvent
    from orders.models import OrderEvent

    issued_on: dict[int, dt.date] = {}
    for invoice in Invoice.objects.exclude(issue_date=None).only("pk", "issue_date"):
        assert invoice.issue_date is not None
        issued_on[invoice.pk] = invoice.issue_date
        for step, line in enumerate(invoice.events.order_by("pk")):
            moment = min(now, _noon(invoice.issue_date) + dt.timedelta(minutes=step))
            InvoiceEvent.objects.filter(pk=line.pk).update(created_at=moment)
    for order in Order.objects.filter(invoices__isnull=False).distinct():
        previous: dt.datetime | None = None
        for event in order.events.order_by("pk"):
            moment = event.created_at
            if event.kind == OrderEvent.Kind.INVOICE:
                issued = issued_on.get(event.data.get("invoice") or 0)
                wanted = _noon(issued) if issued else moment
                floor = previous + dt.timedelta(seconds=1) if previous else wanted
                moment = min(now, max(wanted, floor))
                OrderEvent.objects.filter(pk=event.pk).update(created_at=moment)
            previous = moment
        if previous is not None and previous > order.updated_at:
            Order.objects.filter(pk=order.pk).update(updated_at=previous)


def seed(*, owner: Any, drama: Order | None) -> dict[str, int]:
    """Load the money side of the demo (after its orders). Returns counts."""
    today = today_in_studio()
    counts = {"rates": seed_rates(owner=owner, today=today)}
    counts["subscriptions"] = seed_subscriptions(owner=owner, today=today)
    counts["expenses"] = seed_expenses(owner=owner, today=today, drama=drama)
    orders = Order.objects.select_related("client").order_by("created_at", "pk")
    counts["invoices"] = seed_invoices(owner=owner, orders=orders, today=today)
    settle_timelines(now=timezone.now())
    # Queryset updates above bypass the model signals: fill the stored margins now, so
    # the demo's margin pages show figures at once (billing.services.margins).
    from billing.services.margins import recompute

    recompute()
    return counts
