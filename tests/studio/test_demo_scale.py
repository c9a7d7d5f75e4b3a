"""studio.demo_scale: the large demo at a tiny size keeps every invariant the services keep."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from billing import services as billing
from billing.models import Expense, Invoice, Payment, Subscription
from billing.models.invoices import today_in_studio
from orders import services as order_services
from orders.models import Client, Episode, Order, Shot, Take
from studio import demo_scale
from studio.models import AITool, Counter
from studio.money import quantize
from studio.tools import price_in_force, prices_by_tool

pytestmark = pytest.mark.django_db

SCALE = 0.001


@pytest.fixture
def built(owner, producer, artist):
    return demo_scale.build(owner=owner, producer=producer, artists=[artist], scale=SCALE)


def test_volumes_are_proportional_to_the_scale(built):
    volumes = demo_scale.Volumes.at(SCALE)

    assert Client.objects.count() == volumes.clients == 2
    assert Order.objects.count() == volumes.orders == 20
    assert Episode.objects.count() == volumes.episodes == 3
    assert Shot.objects.count() == volumes.shots == 120
    assert 0.5 * volumes.takes <= Take.objects.count() <= 1.5 * volumes.takes
    assert 0 < Invoice.objects.count() <= volumes.invoices
    renewals = Expense.objects.filter(subscription__isnull=False).count()
    assert Expense.objects.count() == max(volumes.expenses, renewals)
    assert set(Order.objects.filter(episodes__isnull=False).values_list("kind", flat=True)) == {
        Order.Kind.SHORT_DRAMA
    }


def test_invoice_totals_are_sums_of_rounded_lines_and_paid_is_sum_of_payments(built):
    today = today_in_studio()
    invoices = Invoice.objects.annotate(
        nets=Sum("lines__net_amount"),
        taxes=Sum("lines__tax_amount"),
        gross=Sum("lines__gross_amount"),
    )
    paid = dict(
        Payment.objects.values("invoice").annotate(s=Sum("amount")).values_list("invoice", "s")
    )
    assert invoices.exists()
    for invoice in invoices:
        assert invoice.subtotal == invoice.nets
        assert invoice.tax_total == invoice.taxes
        assert invoice.total == invoice.gross == invoice.subtotal + invoice.tax_total
        assert invoice.amount_paid == paid.get(invoice.pk, Decimal(0))
        assert invoice.total == quantize(invoice.total, invoice.currency)
        if invoice.is_credit_note or invoice.status == Invoice.Status.DRAFT:
            continue
        assert invoice.due_date == invoice.issue_date + dt.timedelta(days=invoice.net_days)
        settled = invoice.amount_paid + invoice.amount_credited
        expected = (
            Invoice.Status.VOID
            if invoice.status == Invoice.Status.VOID
            else Invoice.Status.PAID
            if invoice.amount_paid and settled >= invoice.total
            else Invoice.Status.CREDITED
            if settled >= invoice.total
            else Invoice.Status.PARTIALLY_PAID
            if invoice.amount_paid
            else Invoice.Status.ISSUED
        )
        assert invoice.status == expected
        for payment in invoice.payments.all():
            assert invoice.issue_date <= payment.paid_on <= today
            assert payment.currency == invoice.currency


def test_numbers_are_gapless_per_year_in_date_order_and_match_the_counters(built):
    by_series: dict[tuple[str, int], list[tuple[dt.date, int]]] = defaultdict(list)
    for invoice in Invoice.objects.exclude(status=Invoice.Status.DRAFT):
        assert invoice.number == f"{invoice.series}-{invoice.year}-{invoice.sequence:04d}"
        assert invoice.issue_date.year == invoice.year
        by_series[invoice.series, invoice.year].append((invoice.issue_date, invoice.sequence))
    assert by_series
    for (series, year), issued in by_series.items():
        issued.sort(key=lambda pair: pair[1])
        assert [seq for _day, seq in issued] == list(range(1, len(issued) + 1))
        assert [day for day, _seq in issued] == sorted(day for day, _seq in issued)
        assert Counter.objects.get(series=series, year=year).value == len(issued)
    references: dict[int, list[int]] = defaultdict(list)
    for order in Order.objects.all():
        _prefix, year, number = order.reference.split("-")
        assert int(year) == order.created_at.year
        references[int(year)].append(int(number))
    for year, numbers in references.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        assert Counter.objects.get(series="ORD", year=year).value == len(numbers)


def test_issuing_and_ordering_afterwards_continue_the_numbers(built, owner):
    year = timezone.now().year
    client = Client.objects.order_by("pk").first()
    order_counter = Counter.objects.filter(series="ORD", year=year).first()
    order = order_services.create_order(
        actor=owner, client=client, title="After the demo", price=Decimal(1000)
    )
    assert order.reference == f"ORD-{year}-{(order_counter.value if order_counter else 0) + 1:04d}"

    invoice_year = today_in_studio().year
    invoice_counter = Counter.objects.filter(series="INV", year=invoice_year).first()
    draft = billing.create_invoice(
        actor=owner,
        client=client,
        order=order,
        lines=[billing.LineInput(description="Film", quantity=Decimal(1), unit_price=Decimal(10))],
    )
    issued = billing.issue_invoice(actor=owner, invoice=draft)
    expected = (invoice_counter.value if invoice_counter else 0) + 1
    assert issued.number == f"INV-{invoice_year}-{expected:04d}"


def test_orders_statuses_fit_their_age_and_dates_are_coherent(built):
    now = timezone.now()
    for order in Order.objects.all():
        age = (now - order.created_at).days
        if age >= 45:
            assert order.status in {"completed", "cancelled", "on_hold", "delivered"}
        if order.accepted_at:
            assert order.created_at <= order.accepted_at <= now
            assert order.due_at is not None
            assert order.due_at > order.accepted_at
        if order.status in {"delivered", "completed"}:
            assert order.accepted_at <= order.delivered_at <= now
        if order.status == "completed":
            assert order.delivered_at <= order.completed_at <= now
        if order.status == "on_hold":
            assert order.status_before_hold


def test_takes_cost_seconds_times_the_price_of_their_day(built):
    takes = Take.objects.all()
    assert takes.exists()
    prices = prices_by_tool(list(AITool.objects.values_list("pk", flat=True)))
    for take in takes:
        assert take.cost is not None
        assert take.cost == quantize(take.generated_seconds * take.price_per_second, take.currency)
        price = price_in_force(prices[take.tool_id], take.generated_on)
        assert price is not None
        assert price.per_second == take.price_per_second
    selected = Take.objects.filter(is_selected=True).values("shot").annotate(n=Count("pk"))
    assert all(row["n"] == 1 for row in selected)
    assert not Take.objects.filter(shot__status=Shot.Status.TODO).exists()


def test_subscriptions_have_every_renewal_up_to_today_booked_once(built):
    today = today_in_studio()
    assert Subscription.objects.exists()
    for sub in Subscription.objects.all():
        days = list(sub.expenses.order_by("renewal_on").values_list("renewal_on", flat=True))
        assert days[0] == sub.started_on
        for before, after in itertools.pairwise(days):
            assert after == sub.renewal_after(before)
        assert sub.next_renewal_on == sub.renewal_after(days[-1])
        if sub.cancelled_from is None:
            assert days[-1] <= today < sub.next_renewal_on


def test_the_large_demo_goes_only_into_an_empty_database(built, owner):
    with pytest.raises(RuntimeError, match="empty database"):
        demo_scale.build(owner=owner, scale=SCALE)


def test_the_same_seed_builds_the_same_data(owner):
    now = timezone.now().replace(microsecond=0)

    def snapshot() -> list[tuple]:
        demo_scale.build(owner=owner, scale=SCALE, now=now)
        return list(Order.objects.order_by("reference").values_list("reference", "price", "status"))

    sid = transaction.savepoint()
    first = snapshot()
    transaction.savepoint_rollback(sid)
    assert snapshot() == first


def test_seed_demo_scale_large_loads_the_team_and_the_data(monkeypatch):
    tiny = demo_scale.Volumes.at(SCALE)
    monkeypatch.setattr(demo_scale.Volumes, "at", classmethod(lambda cls, scale: tiny))
    out = StringIO()

    call_command("seed_demo", "--scale", "large", stdout=out)

    assert "orders" in out.getvalue()
    assert "Large demo written in" in out.getvalue()
    assert Order.objects.count() == tiny.orders
    assert get_user_model().objects.filter(username="demo").exists()


def test_seed_demo_scale_large_refuses_a_database_with_clients():
    Client.objects.create(name="Real client")
    out = StringIO()

    call_command("seed_demo", "--scale", "large", stdout=out)

    assert "not loaded" in out.getvalue()
    assert Order.objects.count() == 0
    assert Client.objects.count() == 1
