"""Money: a Decimal amount with its currency, rounded half-up to the currency's minor unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units of the currencies a studio bills in.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "TWD": 2,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "MYR": 2,
    "THB": 2,
    "JPY": 0,
    "KRW": 0,
}
SYMBOLS: dict[str, str] = {
    "CNY": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "TWD": "NT$",
    "SGD": "S$",
    "AUD": "A$",
    "CAD": "C$",
    "MYR": "RM",
    "THB": "฿",
    "JPY": "JP¥",
    "KRW": "₩",
}
CURRENCY_CHOICES = [(code, code) for code in MINOR_UNITS]


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def check_currency(code: str) -> str:
    """Return the upper-cased code, or raise ValueError for an unknown currency."""
    normalized = (code or "").strip().upper()
    if normalized not in MINOR_UNITS:
        raise ValueError(f"Unknown currency {code!r}")
    return normalized


def quantize(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1).scaleb(-MINOR_UNITS[currency])
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money amounts are Decimal, never float")
        object.__setattr__(self, "currency", check_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def rounded(self) -> Money:
        return Money(quantize(self.amount, self.currency), self.currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other!r}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("Multiply money by Decimal, never float")
        return Money(self.amount * Decimal(factor), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    @property
    def symbol(self) -> str:
        return SYMBOLS.get(self.currency, self.currency + " ")

    def format(self) -> str:
        """Display form, e.g. '¥1,500.00' or 'JP¥12,000'."""
        value = quantize(self.amount, self.currency)
        places = MINOR_UNITS[self.currency]
        sign = "-" if value < 0 else ""
        return f"{sign}{self.symbol}{abs(value):,.{places}f}"

    def __str__(self) -> str:
        return self.format()
