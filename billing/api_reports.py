"""REST API for margins and the monthly report (owners and producers only; read-only).

Money is {"amount": "1234.50", "currency": "CNY"} (a string, never a float), always in
the studio's reporting currency. Amounts that could not be converted for want of an
exchange rate are left out and listed in `missing_rates`. Also the `margin` field that
billing adds to the order representation (orders.extensions), batched per page.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.forms import PERIOD_CHOICES
from billing.margin import (
    SCOPES,
    SORTS,
    MarginFilters,
    MissingRateNote,
    OrderMargin,
    compute_margins,
    filtered_margins,
)
from billing.reports import MAX_MONTHS, MonthFigures, monthly_report, parse_month
from billing.services import margins as stored
from orders.models import Order
from studio import roles
from studio.api_common import MAX_ID, ApiViewMixin, error_responses
from studio.models import StudioProfile
from studio.money import quantize
from studio.permissions import CanManageBusiness, IsStudioMember

# --- Output shapes --------------------------------------------------------------------


@extend_schema_serializer(component_name="ReportMoney")
class MoneySerializer(serializers.Serializer):
    amount = serializers.CharField(help_text="Decimal amount as a string, e.g. 1234.50.")
    currency = serializers.CharField(help_text="ISO 4217 code: the reporting currency.")


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(quantize(amount, currency)), "currency": currency}


class MissingRateSerializer(serializers.Serializer):
    what = serializers.ChoiceField(
        choices=["price", "invoice", "credit_note", "take", "expense", "overhead", "payment"],
        help_text="What the amount is.",
    )
    currency = serializers.CharField()
    day = serializers.DateField(help_text="The day it should have converted on.")
    amount = serializers.CharField(help_text="The amount in its own currency.")
    order = serializers.IntegerField(allow_null=True, help_text="The order's id, if any.")


def missing_data(notes: Sequence[MissingRateNote]) -> list[dict[str, Any]]:
    return [
        {
            "what": n.what,
            "currency": n.currency,
            "day": n.day.isoformat(),
            "amount": str(n.amount),
            "order": n.order_id,
        }
        for n in notes
    ]


class OrderMarginSerializer(serializers.Serializer):
    """The margin of one order (docs/costs.md)."""

    revenue = MoneySerializer()
    revenue_source = serializers.ChoiceField(
        choices=["price", "invoices", "cancelled"],
        help_text="invoices: net invoiced less credit notes; price: not invoiced yet; "
        "cancelled: cancelled before any invoice (revenue 0).",
    )
    generation = MoneySerializer(help_text="Cost of the order's takes.")
    direct = MoneySerializer(help_text="Expenses booked on the order.")
    overhead = MoneySerializer(help_text="The order's share of the months' overhead.")
    margin = MoneySerializer()
    margin_percent = serializers.CharField(
        allow_null=True, help_text="Margin / revenue in percent; null when revenue is 0."
    )
    unpriced_takes = serializers.IntegerField(help_text="Takes whose tool had no price.")
    complete = serializers.BooleanField(
        help_text="false when some amount had no exchange rate (see missing_rates)."
    )
    missing_rates = MissingRateSerializer(many=True)


def margin_data(m: OrderMargin) -> dict[str, Any]:
    c = m.currency
    return {
        "revenue": money(m.revenue, c),
        "revenue_source": m.revenue_source,
        "generation": money(m.generation, c),
        "direct": money(m.direct, c),
        "overhead": money(m.overhead, c),
        "margin": money(m.margin, c),
        "margin_percent": None if m.margin_percent is None else str(m.margin_percent),
        "unpriced_takes": m.unpriced_takes,
        "complete": m.complete,
        "missing_rates": missing_data(m.missing),
    }


class MarginRowSerializer(OrderMarginSerializer):
    order = serializers.IntegerField(help_text="The order's id.")
    reference = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    client = serializers.IntegerField(help_text="The client's id.")
    client_name = serializers.CharField()


def margin_row(m: OrderMargin) -> dict[str, Any]:
    return {
        "order": m.order_id,
        "reference": m.reference,
        "title": m.title,
        "status": m.status,
        "client": m.client_id,
        "client_name": m.client_name,
        **margin_data(m),
    }


class MarginQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
    client = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Client id."
    )
    period = serializers.ChoiceField(
        choices=[c for c, _label in PERIOD_CHOICES if c],
        required=False,
        help_text="Orders active during this period (studio-local dates).",
    )
    ordering = serializers.ChoiceField(
        choices=list(SORTS),
        required=False,
        default="-margin",
        help_text="-margin (default), margin, -margin_percent or margin_percent.",
    )
    scope = serializers.ChoiceField(
        choices=list(SCOPES),
        required=False,
        default="all",
        help_text="all (default): every order; accepted: accepted work only (accepted "
        "once, or invoiced), leaving out inquiries and quotes. A `status` overrides it.",
    )


class ReportQuerySerializer(serializers.Serializer):
    end = serializers.CharField(
        required=False,
        max_length=7,
        help_text="Last month of the report, YYYY-MM; defaults to this month.",
    )
    months = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_MONTHS, default=12, help_text="1 to 36."
    )

    def validate_end(self, value: str) -> str:
        if parse_month(value) is None:
            raise serializers.ValidationError(_("Enter a month as YYYY-MM, e.g. 2026-12."))
        return value


class MonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM.")
    invoiced = MoneySerializer(help_text="Net of invoices issued in the month less credit notes.")
    received = MoneySerializer(help_text="Payments received in the month.")
    generation = MoneySerializer()
    subscriptions = MoneySerializer()
    other_expenses = MoneySerializer()
    gross_margin = MoneySerializer()
    orders_delivered = serializers.IntegerField()
    on_time_rate = serializers.CharField(
        allow_null=True,
        help_text="Percent delivered by their due date, among those with one; null if none.",
    )
    unpriced_takes = serializers.IntegerField()
    amounts_without_rate = serializers.IntegerField()


class MonthlyReportSerializer(serializers.Serializer):
    currency = serializers.CharField()
    start = serializers.CharField(help_text="YYYY-MM.")
    end = serializers.CharField(help_text="YYYY-MM.")
    months = MonthSerializer(many=True)
    totals = MonthSerializer()
    missing_rates = MissingRateSerializer(many=True)


def month_data(m: MonthFigures, currency: str, label: str | None = None) -> dict[str, Any]:
    return {
        "month": label or m.month.strftime("%Y-%m"),
        "invoiced": money(m.invoiced, currency),
        "received": money(m.received, currency),
        "generation": money(m.generation, currency),
        "subscriptions": money(m.subscriptions, currency),
        "other_expenses": money(m.other_expenses, currency),
        "gross_margin": money(m.gross_margin, currency),
        "orders_delivered": m.delivered,
        "on_time_rate": None if m.on_time_rate is None else str(m.on_time_rate),
        "unpriced_takes": m.unpriced_takes,
        "amounts_without_rate": m.missing,
    }


# --- Views ----------------------------------------------------------------------------


@extend_schema(tags=["reports"])
class MarginViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Orders with their margins, in the reporting currency."""

    permission_classes = [IsStudioMember, CanManageBusiness]
    filter_backends: list[Any] = []
    queryset = Order.objects.none()
    serializer_class = MarginRowSerializer

    @extend_schema(
        summary="List order margins",
        description="Every order with revenue, generation cost, direct expenses, overhead "
        "share, margin and margin %, ranked by `ordering`. Owners and producers only.",
        parameters=[MarginQuerySerializer],
    )
    def list(self, request: Request) -> Response:
        query = MarginQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = MarginFilters(
            period=data.get("period", ""),
            status=data.get("status", ""),
            client_id=data.get("client"),
            sort=data.get("ordering", "-margin"),
            scope=data.get("scope", "all"),
        )
        profile = getattr(request, "studio_profile", None) or StudioProfile.load()
        today = stored.studio_today(profile)
        fresh = stored.freshness(profile)
        if fresh.computed or not fresh.live:
            # The stored rows (none yet while a large studio's first recompute runs).
            queryset = stored.filtered_rows(filters, today=today)
            if not fresh.computed:
                queryset = queryset.none()
            stored_page = self.paginate_queryset(queryset)
            assert stored_page is not None
            margins = stored.page_margins(stored_page)
            return self.get_paginated_response([margin_row(m) for m in margins])
        _book, rows = filtered_margins(filters, today=today, profile=profile)
        page: list[OrderMargin] | None = self.paginate_queryset(rows)  # type: ignore[arg-type]
        assert page is not None
        return self.get_paginated_response([margin_row(m) for m in page])


@extend_schema(tags=["reports"])
class ReportViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Reports over the studio's books, in the reporting currency."""

    permission_classes = [IsStudioMember, CanManageBusiness]
    filter_backends: list[Any] = []
    pagination_class = None
    queryset = Order.objects.none()
    serializer_class = MonthlyReportSerializer

    @extend_schema(
        summary="Monthly report",
        description="Per month: net revenue invoiced, cash received, generation cost, "
        "subscriptions, other expenses, gross margin, orders delivered and the on-time "
        "rate, in the reporting currency. Owners and producers only.",
        parameters=[ReportQuerySerializer],
        responses={200: MonthlyReportSerializer, **error_responses(400)},
    )
    @action(detail=False, methods=["get"])
    def monthly(self, request: Request) -> Response:
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        profile = getattr(request, "studio_profile", None) or StudioProfile.load()
        end = parse_month(query.validated_data.get("end")) or stored.studio_today(profile).replace(
            day=1
        )
        months = query.validated_data["months"]
        fresh = stored.freshness(profile)
        if fresh.computed:
            report = stored.stored_report(end=end, months=months, currency=fresh.currency)
        else:
            report = monthly_report(end=end, months=months, profile=profile)
        c = report.currency
        return Response(
            {
                "currency": c,
                "start": report.start.strftime("%Y-%m"),
                "end": report.end.strftime("%Y-%m"),
                "months": [month_data(m, c) for m in report.months],
                "totals": month_data(
                    report.totals,
                    c,
                    label=f"{report.start:%Y-%m}..{report.end:%Y-%m}",
                ),
                "missing_rates": missing_data(report.missing),
            }
        )


# --- The `margin` field of orders ------------------------------------------------------


def order_margins(request: HttpRequest | None, orders: Sequence[Order]) -> dict[int, Any]:
    """{order id: margin} for a page of orders, in a fixed number of queries; nothing for
    people who may not see money."""
    if request is None or not roles.can_see_money(request.user) or not orders:
        return {}
    ids = [o.pk for o in orders]
    found = stored.rows_for(ids)  # one query for the whole page
    if len(found) < len(ids):
        # Orders without a row: none computed yet, or created since the last recompute
        # (which is on its way). The engine focused on them: a fixed number of queries.
        book = compute_margins(
            orders=Order.objects.filter(pk__in=[pk for pk in ids if pk not in found]),
            profile=getattr(request, "studio_profile", None),
        )
        found |= {m.order_id: m for m in book.orders}
    return {pk: margin_data(m) for pk, m in found.items()}


def margin_field() -> serializers.Field:
    return OrderMarginSerializer(
        required=False,
        help_text="Owners and producers only: the order's margin in the reporting currency "
        "(docs/costs.md), with ?include=margin.",
    )


def register_margin_field() -> None:
    """Add `margin` to the order representation (called from BillingConfig.ready)."""
    from orders import extensions

    extensions.register_order_representation_extra(
        "margin", field=margin_field, provider=order_margins
    )


__all__ = [
    "MarginViewSet",
    "ReportViewSet",
    "margin_field",
    "order_margins",
    "register_margin_field",
]
