"""10,000 awkward amounts summed through the ORM must equal Python's Decimal sum
(SQLite stores decimals as floating point; a raw SUM() drifts)."""

from __future__ import annotations

import random
from decimal import Decimal

from billing import selectors
from billing.models import Invoice
from orders.models import Client

COUNT = 10_000


def awkward_amounts(seed: int = 20260401) -> list[Decimal]:
    """Amounts whose binary floating-point forms are inexact (0.1, 0.7, 1234567.89…)."""
    rng = random.Random(seed)
    fixed = [Decimal(v) for v in ("0.10", "0.20", "0.70", "1234567.89", "0.01", "99999.99")]
    amounts = [fixed[i % len(fixed)] for i in range(COUNT // 2)]
    amounts += [Decimal(rng.randint(1, 999_999_999)) / 100 for _ in range(COUNT - len(amounts))]
    return amounts


def store(amounts: list[Decimal], client: Client) -> None:
    Invoice.objects.bulk_create(
        [
            Invoice(
                client=client,
                currency="CNY",
                status=Invoice.Status.ISSUED,
                number=f"T-{n}",
                total=amount,
                subtotal=amount,
                amount_paid=amount,
            )
            for n, amount in enumerate(amounts)
        ],
        batch_size=1000,
    )


def check_exact(amounts: list[Decimal]) -> None:
    expected = sum(amounts, Decimal(0))
    (row,) = selectors.totals_per_currency(Invoice.objects.all())
    assert row.invoiced.amount == expected
    assert row.paid.amount == expected
    aggregate = Invoice.objects.aggregate(total=selectors.exact_sum("total"))
    assert selectors.from_cents(aggregate["total"]) == expected
