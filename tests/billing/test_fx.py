"""billing.fx: the rate of the day or the latest before it, MissingRate otherwise, and
half-up rounding to the reporting currency's minor unit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.fx import MissingRate, RateTable, convert
from billing.models import ExchangeRate
from studio.money import Money

D = Decimal
pytestmark = pytest.mark.django_db


def rate(currency: str, day: str, value: str, quote: str = "CNY") -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency=currency, quote_currency=quote, on=dt.date.fromisoformat(day), rate=D(value)
    )


def test_same_currency_converts_without_any_rate():
    table = RateTable.load("CNY")

    assert table.convert(Money(D("12.345"), "CNY"), dt.date(2026, 3, 5)) == Money(D("12.35"), "CNY")
    assert convert(Money(D("100"), "CNY"), on=dt.date(2026, 3, 5), to="CNY") == Money(
        D("100.00"), "CNY"
    )


def test_rate_of_the_exact_day_is_used():
    rate("USD", "2026-03-04", "7.0")
    rate("USD", "2026-03-05", "7.2")
    rate("USD", "2026-03-06", "7.4")

    converted = RateTable.load("CNY").convert(Money(D("10"), "USD"), dt.date(2026, 3, 5))

    assert converted == Money(D("72.00"), "CNY")


def test_latest_rate_before_the_day_is_used_when_the_day_has_none():
    rate("USD", "2026-03-01", "7.0")
    rate("USD", "2026-03-03", "7.1")
    rate("USD", "2026-03-09", "9.9")

    table = RateTable.load("CNY")

    assert table.rate_on("USD", dt.date(2026, 3, 5)) == D("7.1")
    assert table.convert(Money(D("10"), "USD"), dt.date(2026, 3, 5)).amount == D("71.00")


def test_no_rate_on_or_before_the_day_raises_missing_rate():
    rate("USD", "2026-03-09", "7.2")
    table = RateTable.load("CNY")

    with pytest.raises(MissingRate) as caught:
        table.convert(Money(D("10"), "USD"), dt.date(2026, 3, 8))

    assert (caught.value.currency, caught.value.quote, caught.value.day) == (
        "USD",
        "CNY",
        dt.date(2026, 3, 8),
    )
    assert table.try_convert(Money(D("10"), "USD"), dt.date(2026, 3, 8)) is None
    with pytest.raises(MissingRate):
        table.convert(Money(D("10"), "EUR"), dt.date(2026, 3, 9))


def test_rates_to_another_quote_currency_are_not_used():
    rate("USD", "2026-03-01", "150", quote="JPY")

    with pytest.raises(MissingRate):
        convert(Money(D("10"), "USD"), on=dt.date(2026, 3, 5), to="CNY")


def test_converted_amounts_round_half_up_to_the_quote_minor_unit():
    rate("USD", "2026-03-01", "7.125")

    table = RateTable.load("CNY")

    # 1.00 x 7.125 = 7.125 -> 7.13 (half-up, not banker's 7.12)
    assert table.convert(Money(D("1.00"), "USD"), dt.date(2026, 3, 1)).amount == D("7.13")
    assert table.convert(Money(D("0.01"), "USD"), dt.date(2026, 3, 1)).amount == D("0.07")


def test_yen_has_no_decimals_and_rounds_half_up():
    rate("USD", "2026-03-01", "150.5", quote="JPY")
    rate("CNY", "2026-03-01", "20.75", quote="JPY")

    table = RateTable.load("JPY")

    # 1.00 USD = 150.5 JPY -> 151; 2 CNY = 41.5 -> 42; 1 CNY = 20.75 -> 21
    assert table.convert(Money(D("1.00"), "USD"), dt.date(2026, 3, 2)) == Money(D("151"), "JPY")
    assert table.convert(Money(D("2"), "CNY"), dt.date(2026, 3, 2)).amount == D("42")
    assert table.convert(Money(D("1"), "CNY"), dt.date(2026, 3, 2)).amount == D("21")
    assert str(table.convert(Money(D("1"), "CNY"), dt.date(2026, 3, 2)).amount) == "21"


def test_converting_from_yen_rounds_to_two_decimals():
    rate("JPY", "2026-03-01", "0.04785")

    converted = convert(Money(D("1000"), "JPY"), on=dt.date(2026, 3, 1), to="CNY")

    assert converted == Money(D("47.85"), "CNY")


def test_load_limited_to_currencies_ignores_the_others():
    rate("USD", "2026-03-01", "7.2")
    rate("EUR", "2026-03-01", "7.8")

    table = RateTable.load("CNY", ["USD"])

    assert table.rate_on("USD", dt.date(2026, 3, 1)) == D("7.2")
    assert table.rate_on("EUR", dt.date(2026, 3, 1)) is None


def test_one_query_loads_every_rate(django_assert_num_queries):
    for day in range(1, 29):
        rate("USD", f"2026-02-{day:02d}", "7.1")

    with django_assert_num_queries(1):
        table = RateTable.load("CNY")
    total = sum(
        (table.convert(Money(D("1"), "USD"), dt.date(2026, 2, d)) for d in range(1, 29)),
        Money.zero("CNY"),
    )

    assert total == Money(D("198.80"), "CNY")
