"""Small SQL building blocks shared by selectors and API reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Expression, F, Q, Sum
from django.db.models.functions import Cast, Round

HUNDREDTHS = 100  # every amount and seconds column has two decimal places


def exact_sum(column: str | Any, condition: Q | None = None) -> Any:
    """SUM of a two-decimal column (a name or an expression) in whole hundredths, as an
    integer, exact on every database, optionally over matching rows only.

    SQLite keeps decimals as floating point (a raw SUM of 10,000 amounts drifts), so there
    each value is rounded to whole hundredths before adding. PostgreSQL's numeric SUM is
    exact already: it adds the values and converts the total once, about twice as fast
    over tens of thousands of rows."""
    expression = F(column) if isinstance(column, str) else column
    if connection.vendor == "postgresql":
        return Cast(Sum(expression, filter=condition) * HUNDREDTHS, BigIntegerField())
    return Sum(Cast(Round(expression * HUNDREDTHS), BigIntegerField()), filter=condition)


class InIds(Expression):
    """`column IN (ids)` for a page's ids, as a filter: `.filter(InIds("shot_id", ids))`.

    On PostgreSQL it is `column = ANY(%s)` with the ids as one array parameter: Django's
    __in prepares and binds each of 200 ids on its own, which costs more than the query.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, ids: Sequence[int]) -> None:
        super().__init__(output_field=BooleanField())
        self.column: Any = F(column)
        self.ids = [int(i) for i in ids]

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.column)
        if not self.ids:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            return f"{sql} = ANY(%s)", [*params, self.ids]
        return f"{sql} IN ({', '.join(['%s'] * len(self.ids))})", [*params, *self.ids]
