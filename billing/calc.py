"""Invoice arithmetic: line amounts, totals, the tax breakdown, Chinese capital numerals.

The rounding rule (the one EN 16931 uses, and the one the invoice prints):

1. Each line is rounded on its own, half-up (0.005 -> 0.01), to the minor unit of the
   invoice's currency: 0.01 for CNY, USD, EUR…; 1 for JPY and KRW.
2. Prices without tax (the default): net = round(quantity x unit price);
   tax = round(net x rate / 100); amount = net + tax.
   Prices with tax included: amount = round(quantity x unit price);
   tax = round(amount x rate / (100 + rate)); net = amount - tax.
3. Totals are exact sums of the rounded lines: subtotal = sum of nets, tax = sum of
   taxes, total = sum of amounts. The total is never rounded again, so the printed
   lines always add up to the printed total (and may differ by a cent or so from
   rounding the tax of the whole invoice at once — by design).
4. The tax breakdown per rate sums the rounded lines of that rate the same way.

Nothing here touches floats: quantities, prices and rates are Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from studio.money import MINOR_UNITS, quantize

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    tax: Decimal
    gross: Decimal


def line_amounts(
    *,
    quantity: Decimal,
    unit_price: Decimal,
    tax_rate: Decimal,
    currency: str,
    prices_include_tax: bool,
) -> LineAmounts:
    """The rounded amounts of one line (see the module docstring for the rule)."""
    extended = quantity * unit_price
    if prices_include_tax:
        gross = quantize(extended, currency)
        tax = quantize(gross * tax_rate / (HUNDRED + tax_rate), currency)
        return LineAmounts(net=gross - tax, tax=tax, gross=gross)
    net = quantize(extended, currency)
    tax = quantize(net * tax_rate / HUNDRED, currency)
    return LineAmounts(net=net, tax=tax, gross=net + tax)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def totals(lines: Iterable[LineAmounts]) -> Totals:
    """Exact sums of rounded lines."""
    subtotal = tax = total = Decimal(0)
    for line in lines:
        subtotal += line.net
        tax += line.tax
        total += line.gross
    return Totals(subtotal=subtotal, tax=tax, total=total)


@dataclass(frozen=True)
class TaxRow:
    rate: Decimal
    net: Decimal
    tax: Decimal

    @property
    def rate_label(self) -> str:
        """6.00 -> "6", 1.50 -> "1.5"."""
        text = format(self.rate.normalize(), "f")
        return text


def tax_breakdown(lines: Sequence[tuple[Decimal, LineAmounts]]) -> list[TaxRow]:
    """Per tax rate (ascending): the sum of the nets and of the taxes of its lines."""
    rows: dict[Decimal, list[Decimal]] = {}
    for rate, amounts in lines:
        row = rows.setdefault(rate.normalize(), [Decimal(0), Decimal(0)])
        row[0] += amounts.net
        row[1] += amounts.tax
    return [TaxRow(rate=rate, net=net, tax=tax) for rate, (net, tax) in sorted(rows.items())]


def places(currency: str) -> int:
    return MINOR_UNITS[currency]


def fits_currency(amount: Decimal, currency: str) -> bool:
    """True if amount has no more decimals than the currency's minor unit."""
    return amount == amount.quantize(Decimal(1).scaleb(-places(currency)))


# --- Chinese capital numerals (大写) -----------------------------------------------------

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ((1000, "仟"), (100, "佰"), (10, "拾"), (1, ""))
_BIG_UNITS = ("", "万", "亿", "万亿")
CURRENCY_NAMES_ZH = {
    "CNY": "人民币",
    "USD": "美元",
    "EUR": "欧元",
    "GBP": "英镑",
    "HKD": "港币",
    "TWD": "新台币",
    "SGD": "新加坡元",
    "AUD": "澳元",
    "CAD": "加元",
    "MYR": "马来西亚林吉特",
    "THB": "泰铢",
    "JPY": "日元",
    "KRW": "韩元",
}


def _section_words(section: int) -> str:
    """0 < section < 10000, without leading 零."""
    out = ""
    pending_zero = False
    for value, unit in _SMALL_UNITS:
        digit = section // value % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out += "零"
            pending_zero = False
        out += _DIGITS[digit] + unit
    return out


def _integer_words(number: int) -> str:
    if number == 0:
        return "零"
    sections: list[int] = []
    while number:
        sections.append(number % 10000)
        number //= 10000
    if len(sections) > len(_BIG_UNITS):
        raise ValueError("amount too large for capital numerals")
    out = ""
    gap = False
    for index in reversed(range(len(sections))):
        section = sections[index]
        if section == 0:
            gap = bool(out)
            continue
        if out and (gap or section < 1000):
            out += "零"
        gap = False
        out += _section_words(section) + _BIG_UNITS[index]
    return out


def chinese_capital(amount: Decimal, currency: str = "CNY") -> str:
    """The amount in Chinese financial capitals, as written on Chinese invoices and cheques:
    1590.00 -> 人民币壹仟伍佰玖拾元整, 1005.50 -> 人民币壹仟零伍元伍角,
    0.05 -> 人民币伍分, 100000 -> 人民币壹拾万元整.

    The amount is first rounded half-up to the currency (two decimals at most). Units
    are 元/角/分 whatever the currency, preceded by the currency's Chinese name.
    """
    value = quantize(amount, currency) if currency in MINOR_UNITS else amount
    sign = "负" if value < 0 else ""
    value = abs(value)
    cents = int((value * 100).to_integral_value())
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    prefix = CURRENCY_NAMES_ZH.get(currency, "")
    if jiao == 0 and fen == 0:
        return f"{sign}{prefix}{_integer_words(yuan)}元整"
    out = _integer_words(yuan) + "元" if yuan else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif yuan:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    return f"{sign}{prefix}{out}"
