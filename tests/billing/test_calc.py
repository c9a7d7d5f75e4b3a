"""Invoice arithmetic: per-line half-up rounding, exact sums, tax-inclusive prices, 大写."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import calc

D = Decimal


def amounts(quantity: str, price: str, rate: str, *, currency: str = "CNY", inclusive=False):
    return calc.line_amounts(
        quantity=D(quantity),
        unit_price=D(price),
        tax_rate=D(rate),
        currency=currency,
        prices_include_tax=inclusive,
    )


@pytest.mark.parametrize(
    ("quantity", "price", "rate", "net", "tax", "gross"),
    [
        # Half-up at the minor unit: 0.125 -> 0.13, never banker's 0.12.
        ("1", "0.125", "0", "0.13", "0.00", "0.13"),
        ("1", "0.135", "0", "0.14", "0.00", "0.14"),
        ("3", "0.3333", "0", "1.00", "0.00", "1.00"),
        # Tax rounded per line: 10.05 x 6 % = 0.603 -> 0.60; 0.25 x 6 % = 0.015 -> 0.02.
        ("1", "10.05", "6", "10.05", "0.60", "10.65"),
        ("1", "0.25", "6", "0.25", "0.02", "0.27"),
        ("2.5", "99.99", "13", "249.98", "32.50", "282.48"),
        ("720", "6.5", "6", "4680.00", "280.80", "4960.80"),
        ("1", "1500", "1", "1500.00", "15.00", "1515.00"),
        ("1", "0", "6", "0.00", "0.00", "0.00"),
    ],
)
def test_tax_exclusive_line_rounds_net_then_tax_half_up(quantity, price, rate, net, tax, gross):
    result = amounts(quantity, price, rate)

    assert (result.net, result.tax, result.gross) == (D(net), D(tax), D(gross))


@pytest.mark.parametrize(
    ("quantity", "price", "rate", "net", "tax", "gross"),
    [
        # Inclusive: the amount is the rounded price; tax = amount x r / (100 + r).
        ("1", "106", "6", "100.00", "6.00", "106.00"),
        ("1", "100", "6", "94.34", "5.66", "100.00"),  # 5.6603… -> 5.66
        ("1", "1.07", "6", "1.01", "0.06", "1.07"),  # 0.06056… -> 0.06
        ("3", "33.335", "13", "88.50", "11.51", "100.01"),  # 100.005 -> 100.01
        ("1", "1000", "0", "1000.00", "0.00", "1000.00"),
    ],
)
def test_tax_inclusive_line_keeps_the_rounded_amount_and_extracts_the_tax(
    quantity, price, rate, net, tax, gross
):
    result = amounts(quantity, price, rate, inclusive=True)

    assert (result.net, result.tax, result.gross) == (D(net), D(tax), D(gross))
    assert result.net + result.tax == result.gross


def test_zero_decimal_currency_rounds_to_whole_units_half_up():
    assert amounts("1", "1234.5", "0", currency="JPY").gross == D(1235)
    assert amounts("1", "1234.4", "10", currency="JPY") == calc.LineAmounts(
        net=D(1234), tax=D(123), gross=D(1357)
    )
    assert amounts("1", "1100", "10", currency="KRW", inclusive=True) == calc.LineAmounts(
        net=D(1000), tax=D(100), gross=D(1100)
    )


def test_total_is_the_sum_of_rounded_lines_not_the_rounded_sum():
    # Three lines of 0.335 each: lines round to 0.34 (1.02 in all); rounding the
    # unrounded sum (1.005) would give 1.01. The invoice prints lines that add up.
    lines = [amounts("1", "0.335", "0") for _ in range(3)]
    assert calc.totals(lines) == calc.Totals(subtotal=D("1.02"), tax=D(0), total=D("1.02"))
    # Tax per line: ten lines of 0.25 at 6 % carry 0.02 tax each (0.20), where the tax
    # of the whole (2.50 x 6 % = 0.15) would differ by five cents.
    taxed = [amounts("1", "0.25", "6") for _ in range(10)]
    assert calc.totals(taxed) == calc.Totals(subtotal=D("2.50"), tax=D("0.20"), total=D("2.70"))


def test_tax_breakdown_sums_rounded_lines_per_rate():
    lines = [
        (D("6.00"), amounts("1", "10.05", "6")),
        (D("3"), amounts("1", "100", "3")),
        (D("6"), amounts("1", "0.25", "6")),
    ]

    rows = calc.tax_breakdown(lines)

    assert [(r.rate, r.net, r.tax) for r in rows] == [
        (D(3), D("100.00"), D("3.00")),
        (D(6), D("10.30"), D("0.62")),
    ]
    assert rows[1].rate_label == "6"


def test_fits_currency():
    assert calc.fits_currency(D("1.50"), "CNY")
    assert not calc.fits_currency(D("1.505"), "CNY")
    assert calc.fits_currency(D("1200"), "JPY")
    assert not calc.fits_currency(D("1200.5"), "JPY")


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "人民币零元整"),
        ("0.05", "人民币伍分"),
        ("0.50", "人民币伍角"),
        ("1", "人民币壹元整"),
        ("1.05", "人民币壹元零伍分"),
        ("10", "人民币壹拾元整"),
        ("10.30", "人民币壹拾元叁角"),
        ("101", "人民币壹佰零壹元整"),
        ("110", "人民币壹佰壹拾元整"),
        ("1005.50", "人民币壹仟零伍元伍角"),
        ("1050", "人民币壹仟零伍拾元整"),
        ("1590", "人民币壹仟伍佰玖拾元整"),
        ("10010", "人民币壹万零壹拾元整"),
        ("14924.40", "人民币壹万肆仟玖佰贰拾肆元肆角"),
        ("100000", "人民币壹拾万元整"),
        ("100001", "人民币壹拾万零壹元整"),
        ("1000100", "人民币壹佰万零壹佰元整"),
        ("101000000", "人民币壹亿零壹佰万元整"),
        ("100000001.99", "人民币壹亿零壹元玖角玖分"),
        ("0.005", "人民币壹分"),  # rounded half-up first
    ],
)
def test_chinese_capital_numerals(amount, words):
    assert calc.chinese_capital(D(amount), "CNY") == words


def test_chinese_capital_names_other_currencies_and_negative_amounts():
    assert calc.chinese_capital(D("1404.50"), "USD") == "美元壹仟肆佰零肆元伍角"
    assert calc.chinese_capital(D("12000"), "JPY") == "日元壹万贰仟元整"
    assert calc.chinese_capital(D("-20"), "CNY") == "负人民币贰拾元整"
