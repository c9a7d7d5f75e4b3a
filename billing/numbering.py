"""Invoice and credit note numbers: INV-2026-0001 and CN-2026-0001.

A per-(series, year) counter in studio.models.Counter, advanced by
studio.services.next_number inside the issuing transaction: the counter row is locked
FOR UPDATE on PostgreSQL, and SQLite runs every transaction IMMEDIATE, so concurrent
issuers queue. A transaction that rolls back after taking a number gives it back, so
numbers have no gaps and no repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.services import next_number


@dataclass(frozen=True)
class Number:
    series: str
    year: int
    sequence: int

    @property
    def text(self) -> str:
        return format_number(self.series, self.year, self.sequence)


def format_number(series: str, year: int, sequence: int) -> str:
    return f"{series}-{year}-{sequence:04d}"


def take_number(*, series: str, year: int) -> Number:
    """The next number of the series for the year. Call inside the issuing transaction."""
    return Number(series=series, year=year, sequence=next_number(series=series, year=year))
