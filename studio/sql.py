"""Small SQL building blocks shared by selectors and API reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Expression,
    F,
    Func,
    Model,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.constants import LOOKUP_SEP
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


def whole(function: str, column: str, *, distinct: bool = False) -> Func:
    """An aggregate over the whole filtered queryset, for one_row(): COUNT/MIN/MAX as a
    plain function, so that Django adds no GROUP BY (`qs.annotate(n=whole("COUNT",
    "pk")).values("n")` is `SELECT COUNT(id) AS n FROM … WHERE …`, one row)."""
    if distinct:
        return Func(F(column), function=function, template="%(function)s(DISTINCT %(expressions)s)")
    return Func(F(column), function=function)


def one_row(**values: QuerySet) -> dict[str, Any]:
    """Several one-value querysets (one column, at most one row: see whole()) read in
    one query, as scalar subqueries of one SELECT: a panel of counts from different tables
    costs one round trip instead of one each. A subquery without a row gives None."""
    if not values:
        return {}
    columns: list[str] = []
    params: list[Any] = []
    for name, queryset in values.items():
        sql, query_params = queryset.query.sql_with_params()
        columns.append(f"({sql}) AS {connection.ops.quote_name(name)}")
        params.extend(query_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    return dict(zip(values, row, strict=True))


def may_be_null(model: type[Model], path: str) -> bool:
    """Whether `path` ("due_at", "episode__order_id", "-" stripped) can be NULL in a
    query on `model`: a nullable column, or one reached through a nullable or many-valued
    relation. Anything that is not a plain field path (an annotation) counts as nullable."""
    parts = path.split(LOOKUP_SEP)
    current: Any = model
    for index, part in enumerate(parts):
        try:
            field: Any = current._meta.pk if part == "pk" else current._meta.get_field(part)
        except FieldDoesNotExist:
            return True
        if field is None or getattr(field, "null", True) or field.many_to_many or field.one_to_many:
            return True
        if index < len(parts) - 1:
            if not field.is_relation or not isinstance(field.related_model, type):
                return True  # a transform such as created_at__year
            current = field.related_model
    return False


def ordering_term(model: type[Model], term: str) -> Any:
    """One ?ordering= term for order_by(), as an F() expression (a foreign key sorts by
    its id column, not by the related model's ordering). Empty values (an order without a
    due date) sort last both ways, on SQLite (which puts NULL first ascending) as on
    PostgreSQL (first descending). Columns that cannot be NULL get no NULLS LAST, so that
    the database may walk an index such as orders (created_at DESC, id DESC): NULLS LAST
    on a descending key would make PostgreSQL sort the whole table instead."""
    name = term.lstrip("-")
    nulls_last = True if may_be_null(model, name) else None
    if term.startswith("-"):
        return F(name).desc(nulls_last=nulls_last)
    return F(name).asc(nulls_last=nulls_last)
