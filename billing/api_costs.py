"""REST API for expenses and exchange rates (owners and producers only).

Thin: serializers check the shape, billing.services holds the rules. Creating an
expense or a rate accepts an Idempotency-Key header, as invoices and payments do.
Every expense carries `amount_reporting`, converted at the rate of its date (or the
latest before it): null with `rate_missing: true` when there is none, never guessed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.api import IDEMPOTENCY_PARAMETER, idempotent
from billing.forms_costs import ExpenseFilters, filter_expenses, parse_month
from billing.fx import RateTable, reporting_currency
from billing.models import ExchangeRate, Expense
from billing.services.expenses import KEEP
from orders.models import Order
from studio.api_common import (
    FILTER_BACKENDS,
    ID_REGEX,
    AmountField,
    IdFilter,
    IdRelatedField,
    LimitedJSONParser,
    absolute_url,
    error_responses,
)
from studio.api_viewsets import DeletableViewSet
from studio.models import AITool
from studio.money import CURRENCY_CHOICES
from studio.permissions import CanManageBusiness, IsStudioMember

# --- Serializers ------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^\d{1,10}(?:\.\d{1,8})?$",
        "example": "7.1921",
    }
)
class RateField(serializers.DecimalField):
    """More than zero with at most eight decimals: "7.1921"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(max_digits=18, decimal_places=8)
        super().__init__(**kwargs)


class ExpenseSerializer(serializers.ModelSerializer):
    tool_name = serializers.SerializerMethodField()
    order_reference = serializers.SerializerMethodField()
    overhead = serializers.BooleanField(
        source="is_overhead", read_only=True, help_text="true when the expense has no order."
    )
    amount_reporting = serializers.SerializerMethodField(
        help_text="The amount in reporting_currency at the rate of spent_on (or the latest "
        "before it), rounded; null when rate_missing."
    )
    reporting_currency = serializers.SerializerMethodField()
    rate_missing = serializers.SerializerMethodField(
        help_text="true when there is no rate on or before spent_on: amount_reporting is null."
    )
    receipt_url = serializers.SerializerMethodField(help_text="GET it to download the receipt.")

    class Meta:
        model = Expense
        fields = (
            "id",
            "spent_on",
            "amount",
            "currency",
            "category",
            "vendor",
            "tool",
            "tool_name",
            "order",
            "order_reference",
            "overhead",
            "subscription",
            "renewal_on",
            "note",
            "amount_reporting",
            "reporting_currency",
            "rate_missing",
            "receipt_url",
            "receipt_content_type",
            "receipt_original_name",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "subscription": {
                "help_text": "The subscription whose renewal booked it (renewal_on), else null. "
                "Such an expense takes only amount, note and receipt changes."
            }
        }

    def _converted(self, expense: Expense) -> Any:
        rates: RateTable = self.context["rates"]
        return rates.try_convert(expense.money, expense.spent_on)

    def get_tool_name(self, expense: Expense) -> str | None:
        return expense.tool.name if expense.tool else None

    def get_order_reference(self, expense: Expense) -> str | None:
        return expense.order.reference if expense.order else None

    @extend_schema_field(
        {"type": "string", "format": "decimal", "nullable": True, "example": "1512.30"}
    )
    def get_amount_reporting(self, expense: Expense) -> str | None:
        converted = self._converted(expense)
        return str(converted.amount) if converted is not None else None

    @extend_schema_field(serializers.ChoiceField(choices=CURRENCY_CHOICES))
    def get_reporting_currency(self, expense: Expense) -> str:
        rates: RateTable = self.context["rates"]
        return rates.quote

    def get_rate_missing(self, expense: Expense) -> bool:
        return self._converted(expense) is None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_receipt_url(self, expense: Expense) -> str | None:
        if not expense.receipt:
            return None
        return absolute_url(self.context.get("request"), "api-expense-receipt", [expense.pk])


class ExpenseInputSerializer(serializers.Serializer):
    spent_on = serializers.DateField(help_text="From 2000 up to a year from today.")
    amount = AmountField(
        help_text="More than zero, no finer than the currency (JPY and KRW: whole units)."
    )
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    category = serializers.ChoiceField(choices=Expense.Category.choices)
    vendor = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    tool = IdRelatedField(
        queryset=AITool.objects.all(), required=False, allow_null=True, default=None
    )
    order = IdRelatedField(
        queryset=Order.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The order it is a direct cost of; null for overhead.",
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ExpenseUploadSerializer(ExpenseInputSerializer):
    receipt = serializers.FileField(
        required=False, help_text="PDF, JPEG or PNG up to 10 MB; the type is read from the content."
    )


class ExpenseUpdateSerializer(serializers.Serializer):
    """Every field optional; what is sent changes, the rest stays."""

    spent_on = serializers.DateField(required=False)
    amount = AmountField(required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    category = serializers.ChoiceField(choices=Expense.Category.choices, required=False)
    vendor = serializers.CharField(max_length=120, required=False, allow_blank=True)
    tool = IdRelatedField(queryset=AITool.objects.all(), required=False, allow_null=True)
    order = IdRelatedField(queryset=Order.objects.all(), required=False, allow_null=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ExpenseUpdateUploadSerializer(ExpenseUpdateSerializer):
    receipt = serializers.FileField(required=False, help_text="Replaces the stored receipt.")


class ReceiptSerializer(serializers.Serializer):
    receipt = serializers.FileField(
        help_text="PDF, JPEG or PNG up to 10 MB; the type is read from the content."
    )


class ExchangeRateSerializer(serializers.ModelSerializer):
    rate = RateField(read_only=True)

    class Meta:
        model = ExchangeRate
        fields = (
            "id",
            "currency",
            "quote_currency",
            "on",
            "rate",
            "source",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "rate": {"help_text": "1 currency = rate quote_currency."},
            "on": {"help_text": "The day it applies from (until the next rate)."},
        }


class ExchangeRateInputSerializer(serializers.Serializer):
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    on = serializers.DateField(help_text="From 2000 up to a year from today.")
    rate = RateField(help_text="What 1 currency is worth in quote_currency; more than zero.")
    quote_currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES,
        required=False,
        help_text="Defaults to the studio's reporting currency.",
    )


class ExchangeRateUpdateSerializer(serializers.Serializer):
    on = serializers.DateField(required=False)
    rate = RateField(required=False)


# --- Filters ------------------------------------------------------------------------------------


class ExpenseFilter(filters.FilterSet):
    spent_after = filters.DateFilter(
        field_name="spent_on", lookup_expr="gte", label="Spent on or after (YYYY-MM-DD)."
    )
    spent_before = filters.DateFilter(
        field_name="spent_on", lookup_expr="lte", label="Spent on or before (YYYY-MM-DD)."
    )
    month = filters.CharFilter(method="filter_month", label="A month, YYYY-MM.")
    category = filters.ChoiceFilter(choices=Expense.Category.choices)
    tool = IdFilter(field_name="tool_id", label="Tool id.")
    order = IdFilter(field_name="order_id", label="Order id.")
    order_reference = filters.CharFilter(
        field_name="order__reference", lookup_expr="icontains", label="Part of an order reference."
    )
    kind = filters.ChoiceFilter(
        choices=[("direct", "direct"), ("overhead", "overhead")],
        method="filter_kind",
        label="direct: with an order; overhead: without.",
    )
    currency = filters.ChoiceFilter(choices=CURRENCY_CHOICES)

    class Meta:
        model = Expense
        fields = (
            "spent_after",
            "spent_before",
            "month",
            "category",
            "tool",
            "order",
            "order_reference",
            "kind",
            "currency",
        )

    def filter_month(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        month = parse_month(value)
        if month is None:
            raise serializers.ValidationError({"month": [_("Give the month as YYYY-MM.")]})
        return filter_expenses(queryset, ExpenseFilters(month=month))

    def filter_kind(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return filter_expenses(queryset, ExpenseFilters(kind=value))


class ExchangeRateFilter(filters.FilterSet):
    currency = filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    quote_currency = filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    on_after = filters.DateFilter(field_name="on", lookup_expr="gte", label="On or after.")
    on_before = filters.DateFilter(field_name="on", lookup_expr="lte", label="On or before.")

    class Meta:
        model = ExchangeRate
        fields = ("currency", "quote_currency", "on_after", "on_before")


# --- Views -------------------------------------------------------------------------------------


class FileDownloadNegotiation(DefaultContentNegotiation):
    """The receipt action answers the file (or JSON) whatever Accept says; request
    bodies are still parsed by their content type."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return (renderers[0], renderers[0].media_type)


EXPENSE_BODY = {
    "multipart/form-data": ExpenseUploadSerializer,
    "application/json": ExpenseInputSerializer,
}


@extend_schema_view(
    list=extend_schema(
        summary="List expenses",
        description="Newest first, with the same filters as the expense page; ?search= "
        "looks in vendor and note. Owners and producers only.",
    ),
    retrieve=extend_schema(summary="Get an expense"),
    partial_update=extend_schema(
        summary="Change an expense",
        description="Send only what changes (JSON, or multipart with a new `receipt`). An "
        "expense booked by a subscription takes only amount, note and receipt (409).",
        request={
            "multipart/form-data": ExpenseUpdateUploadSerializer,
            "application/json": ExpenseUpdateSerializer,
        },
        responses={200: ExpenseSerializer, **error_responses(409)},
    ),
    destroy=extend_schema(
        summary="Delete an expense",
        description="Also deletes its receipt. 409 for an expense booked by a subscription.",
        responses={204: None, **error_responses(409)},
    ),
)
@extend_schema(tags=["expenses"])
class ExpenseViewSet(DeletableViewSet):
    """What the studio spent: direct costs of orders and overhead."""

    serializer_class = ExpenseSerializer
    permission_classes = [IsStudioMember, CanManageBusiness]
    parser_classes = [LimitedJSONParser, MultiPartParser]
    filter_backends = FILTER_BACKENDS
    filterset_class = ExpenseFilter
    search_fields = ("vendor", "note")
    ordering_fields = ("spent_on", "amount", "created_at")
    ordering = ("-spent_on",)
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-expense-detail"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Expense]:
        return Expense.objects.select_related("tool", "order").order_by("-spent_on", "-pk")

    @cached_property
    def rates(self) -> RateTable:
        return RateTable.load(reporting_currency())

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "rates": self.rates}

    def _output(self, expense: Expense) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=expense.pk)
        return ExpenseSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        summary="Record an expense",
        description="JSON, or multipart with a `receipt` file. With an order it is a direct "
        "cost of that order; without, overhead. Supports Idempotency-Key.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=EXPENSE_BODY,
        responses={201: ExpenseSerializer},
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ExpenseUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        expense = services.create_expense(
            actor=request.user,
            spent_on=data["spent_on"],
            amount=data["amount"],
            currency=data["currency"],
            category=data["category"],
            vendor=data["vendor"],
            tool=data["tool"],
            order=data["order"],
            note=data["note"],
            receipt=data.get("receipt"),
        )
        return self.created(self._output(expense), expense.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        expense = self.get_object()
        serializer = ExpenseUpdateUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        receipt = data.pop("receipt", None)
        changes = {
            name: data.get(name, KEEP)
            for name in (
                "spent_on",
                "amount",
                "currency",
                "category",
                "vendor",
                "tool",
                "order",
                "note",
            )
        }
        expense = services.update_expense(
            actor=request.user, expense=expense, receipt=receipt, **changes
        )
        return Response(self._output(expense))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.delete_expense(actor=request.user, expense=self.get_object())
        return Response(status=204)

    @extend_schema(
        methods=["POST"],
        summary="Attach or replace the receipt",
        description="Multipart with `receipt`: a PDF, JPEG or PNG up to 10 MB (the type is "
        "read from the content, not the name).",
        request={"multipart/form-data": ReceiptSerializer},
        responses={200: ExpenseSerializer},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove the receipt",
        request=None,
        responses={200: ExpenseSerializer},
    )
    @extend_schema(
        methods=["GET"],
        summary="Download the receipt",
        request=None,
        responses={
            (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The receipt.")
            for content_type in ("application/pdf", "image/jpeg", "image/png")
        },
    )
    @action(
        detail=True,
        methods=["get", "post", "delete"],
        url_path="receipt",
        url_name="receipt",
        filter_backends=[],
        parser_classes=[MultiPartParser],
        content_negotiation_class=FileDownloadNegotiation,
    )
    def receipt(self, request: Request, pk: str | None = None) -> Any:
        expense = self.get_object()
        if request.method == "GET":
            from django.http import Http404

            from orders.views.files import serve_stored_file

            if not expense.receipt:
                raise Http404
            return serve_stored_file(
                request,
                expense.receipt,
                content_type=expense.receipt_content_type,
                filename=expense.receipt_original_name or "receipt",
            )
        if request.method == "DELETE":
            expense = services.remove_receipt(actor=request.user, expense=expense)
            return Response(self._output(expense))
        serializer = ReceiptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        expense = services.attach_receipt(
            actor=request.user, expense=expense, upload=serializer.validated_data["receipt"]
        )
        return Response(self._output(expense))


@extend_schema_view(
    list=extend_schema(
        summary="List exchange rates",
        description="Newest first; filter by currency and date range.",
    ),
    retrieve=extend_schema(summary="Get an exchange rate"),
    partial_update=extend_schema(
        summary="Correct an exchange rate",
        description="Its rate or its day; moving it onto a day that has a rate is a 409.",
        request=ExchangeRateUpdateSerializer,
        responses={200: ExchangeRateSerializer, **error_responses(409)},
    ),
    destroy=extend_schema(
        summary="Delete an exchange rate",
        description="Conversions on its days then use the rate before it.",
        responses={204: None},
    ),
)
@extend_schema(tags=["exchange rates"])
class ExchangeRateViewSet(DeletableViewSet):
    """Rates per currency and day, to the reporting currency."""

    serializer_class = ExchangeRateSerializer
    permission_classes = [IsStudioMember, CanManageBusiness]
    filter_backends = FILTER_BACKENDS
    filterset_class = ExchangeRateFilter
    search_fields: tuple[str, ...] = ()
    ordering_fields = ("on", "currency")
    ordering = ("-on",)
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-exchange-rate-detail"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ExchangeRate]:
        return ExchangeRate.objects.order_by("-on", "currency", "-pk")

    @extend_schema(
        summary="Set the rate of a day",
        description="Creates the rate of currency on that day (201), or updates the one "
        "that day already has (200): one rate per currency, quote currency and day. "
        "Supports Idempotency-Key.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ExchangeRateInputSerializer,
        responses={
            201: ExchangeRateSerializer,
            200: OpenApiResponse(
                ExchangeRateSerializer, description="That day's rate existed and was updated."
            ),
        },
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ExchangeRateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.set_rate(
            actor=request.user,
            currency=data["currency"],
            on=data["on"],
            rate=data["rate"],
            quote_currency=data.get("quote_currency"),
            source=ExchangeRate.Source.API,
        )
        output = ExchangeRateSerializer(result.rate).data
        if not result.created:
            return Response(output, status=200)
        return self.created(output, result.rate.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rate = self.get_object()
        serializer = ExchangeRateUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rate = services.update_rate(
            actor=request.user, exchange_rate=rate, rate=data.get("rate"), on=data.get("on")
        )
        return Response(ExchangeRateSerializer(rate).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.delete_rate(actor=request.user, exchange_rate=self.get_object())
        return Response(status=204)
