"""Conversions to the reporting currency at the rate of the day.

Rule: an amount in currency X on day D converts at the rate for X entered for D, or
else the latest one entered before D. With no rate on or before D the conversion
fails with MissingRate, which pages and reports show as "rate missing" instead of
guessing. Each converted amount is rounded half-up to the reporting currency's minor
unit; reports sum the rounded amounts (the same rule as invoice lines).

For reports over many rows, load a RateTable once (one query) and convert in memory.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from studio.money import Money, quantize


class MissingRate(LookupError):
    """No exchange rate for currency to quote on or before day."""

    def __init__(self, currency: str, quote: str, day: dt.date) -> None:
        super().__init__(f"No {currency}→{quote} exchange rate on or before {day.isoformat()}")
        self.currency = currency
        self.quote = quote
        self.day = day


@dataclass
class RateTable:
    """Every rate to one quote currency, for lookups in memory."""

    quote: str
    _days: dict[str, list[dt.date]] = field(default_factory=dict)
    _rates: dict[str, list[Decimal]] = field(default_factory=dict)

    @classmethod
    def load(cls, quote: str, currencies: Iterable[str] | None = None) -> RateTable:
        from billing.models import ExchangeRate

        qs = ExchangeRate.objects.filter(quote_currency=quote)
        if currencies is not None:
            qs = qs.filter(currency__in=set(currencies))
        table = cls(quote=quote)
        for currency, on, rate in qs.order_by("currency", "on").values_list(
            "currency", "on", "rate"
        ):
            table._days.setdefault(currency, []).append(on)
            table._rates.setdefault(currency, []).append(Decimal(rate))
        return table

    def rate_on(self, currency: str, day: dt.date) -> Decimal | None:
        """The rate in force on day (that day's, else the latest before), or None."""
        if currency == self.quote:
            return Decimal(1)
        days = self._days.get(currency)
        if not days:
            return None
        index = bisect.bisect_right(days, day) - 1
        return self._rates[currency][index] if index >= 0 else None

    def convert(self, money: Money, day: dt.date) -> Money:
        """money in the quote currency on day, rounded; raises MissingRate."""
        rate = self.rate_on(money.currency, day)
        if rate is None:
            raise MissingRate(money.currency, self.quote, day)
        if money.currency == self.quote:
            return money.rounded()
        return Money(quantize(money.amount * rate, self.quote), self.quote)

    def try_convert(self, money: Money, day: dt.date) -> Money | None:
        """Like convert, but None where the rate is missing."""
        try:
            return self.convert(money, day)
        except MissingRate:
            return None


def reporting_currency() -> str:
    from studio.models import StudioProfile

    return StudioProfile.load().reporting_currency


def convert(money: Money, *, on: dt.date, to: str | None = None) -> Money:
    """One conversion (one query); raises MissingRate. For many, use RateTable."""
    quote = to or reporting_currency()
    if money.currency == quote:
        return money.rounded()
    return RateTable.load(quote, [money.currency]).convert(money, on)
