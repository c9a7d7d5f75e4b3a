from __future__ import annotations

from decimal import Decimal

import pytest

from studio.money import CurrencyMismatch, Money, check_currency, quantize


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.005", "CNY", "0.01"),
        ("0.004999", "CNY", "0.00"),
        ("2.675", "USD", "2.68"),
        ("-2.675", "USD", "-2.68"),
        ("1234.5", "JPY", "1235"),
        ("1234.49", "KRW", "1234"),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(amount, currency, expected):
    assert quantize(Decimal(amount), currency) == Decimal(expected)


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        Money(Decimal(1), "CNY") + Money(Decimal(1), "USD")
    with pytest.raises(TypeError):
        Money(Decimal(1), "CNY") * 1.5  # type: ignore[operator]


def test_money_arithmetic_and_format():
    total = Money(Decimal("1000.10"), "cny") + Money(Decimal("500.005"), "CNY")
    assert total.currency == "CNY"
    assert total.rounded().amount == Decimal("1500.11")
    assert total.format() == "¥1,500.11"
    assert Money(Decimal("12000"), "JPY").format() == "JP¥12,000"
    assert Money(Decimal("-5"), "USD").format() == "-$5.00"


def test_unknown_currency_is_refused():
    with pytest.raises(ValueError, match="Unknown currency"):
        check_currency("XYZ")
    assert check_currency(" usd ") == "USD"
