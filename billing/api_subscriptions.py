"""REST API for tool subscriptions (owners and producers only).

Thin: serializers check the shape, billing.services.subscriptions holds the rules and
raises DomainError (400/409 in the one error shape of studio.api_common).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.fx import RateTable
from billing.models import Subscription
from billing.models.invoices import today_in_studio
from billing.services import subscriptions as services
from studio.api_common import (
    FILTER_BACKENDS,
    ID_REGEX,
    AmountField,
    IdFilter,
    IdRelatedField,
    absolute_url,
    error_responses,
)
from studio.api_viewsets import DeletableViewSet
from studio.models import AITool, StudioProfile
from studio.money import CURRENCY_CHOICES, Money
from studio.permissions import CanManageBusiness, IsStudioMember

STATUS_CHOICES = ["active", "cancelling", "ending", "upcoming", "ended", "cancelled"]


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^\d{1,10}(?:\.\d{1,2})?$",
        "example": "500",
    }
)
class UnitsField(serializers.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(max_digits=12, decimal_places=2, min_value=0)
        super().__init__(**kwargs)


class SubscriptionSerializer(serializers.ModelSerializer):
    tool_name = serializers.CharField(source="tool.name", read_only=True)
    status = serializers.SerializerMethodField(
        help_text="active, cancelling (cancelled from a later date), ending (does not "
        "renew), upcoming (starts later), ended or cancelled, as of today."
    )
    active = serializers.SerializerMethodField(help_text="In force today.")
    monthly_amount = serializers.SerializerMethodField(
        help_text="The plan's cost per month in its currency (yearly / 12, quarterly / 3), "
        "rounded to the currency's minor unit."
    )
    reporting_currency = serializers.SerializerMethodField(
        help_text="The studio's reporting currency."
    )
    monthly_reporting_amount = serializers.SerializerMethodField(
        help_text="monthly_amount in the reporting currency at today's exchange rate; null "
        "when no rate is known (see rate_missing)."
    )
    rate_missing = serializers.SerializerMethodField(
        help_text="true when no exchange rate to the reporting currency is known for today."
    )
    url = serializers.SerializerMethodField(help_text="The subscription's page in ReelDesk.")

    class Meta:
        model = Subscription
        fields = (
            "id",
            "tool",
            "tool_name",
            "plan_name",
            "amount",
            "currency",
            "period",
            "started_on",
            "next_renewal_on",
            "auto_renew",
            "cancelled_from",
            "included_units",
            "included_unit",
            "notes",
            "status",
            "active",
            "monthly_amount",
            "reporting_currency",
            "monthly_reporting_amount",
            "rate_missing",
            "url",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def _today(self) -> dt.date:
        return self.context.get("today") or today_in_studio()

    def _reporting(self, subscription: Subscription) -> Money | None:
        rates: RateTable | None = self.context.get("rates")
        if rates is None:
            quote = StudioProfile.load().reporting_currency
            rates = RateTable.load(quote, [subscription.currency])
        monthly = Money(subscription.monthly_amount, subscription.currency)
        return rates.try_convert(monthly, self._today())

    @extend_schema_field(serializers.ChoiceField(choices=STATUS_CHOICES))
    def get_status(self, subscription: Subscription) -> str:
        return services.subscription_status(subscription, self._today())

    def get_active(self, subscription: Subscription) -> bool:
        return subscription.is_active_on(self._today())

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_monthly_amount(self, subscription: Subscription) -> str:
        return str(Money(subscription.monthly_amount, subscription.currency).rounded().amount)

    @extend_schema_field(serializers.ChoiceField(choices=CURRENCY_CHOICES))
    def get_reporting_currency(self, subscription: Subscription) -> str:
        rates: RateTable | None = self.context.get("rates")
        return rates.quote if rates is not None else StudioProfile.load().reporting_currency

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_monthly_reporting_amount(self, subscription: Subscription) -> str | None:
        money = self._reporting(subscription)
        return None if money is None else str(money.amount)

    def get_rate_missing(self, subscription: Subscription) -> bool:
        return self._reporting(subscription) is None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, subscription: Subscription) -> str | None:
        return absolute_url(self.context.get("request"), "subscription-detail", [subscription.pk])


class SubscriptionInputSerializer(serializers.Serializer):
    tool = IdRelatedField(queryset=AITool.objects.all(), help_text="The AI tool's id.")
    plan_name = serializers.CharField(max_length=120)
    amount = AmountField(help_text="What one period costs.")
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    period = serializers.ChoiceField(
        choices=Subscription.Period.choices, default=Subscription.Period.MONTHLY
    )
    started_on = serializers.DateField()
    next_renewal_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Defaults to the first renewal on the plan's schedule from today.",
    )
    auto_renew = serializers.BooleanField(default=True)
    included_units = UnitsField(required=False, allow_null=True)
    included_unit = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default=""
    )
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    book_first_payment = serializers.BooleanField(
        default=True,
        help_text="Book the charge on the start date as an expense now (the next renewal "
        "must then come after the start).",
    )


class SubscriptionUpdateSerializer(serializers.Serializer):
    """Every field is optional; renewals booked so far keep their amounts."""

    tool = IdRelatedField(queryset=AITool.objects.all(), required=False)
    plan_name = serializers.CharField(max_length=120, required=False)
    amount = AmountField(required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    period = serializers.ChoiceField(choices=Subscription.Period.choices, required=False)
    started_on = serializers.DateField(required=False)
    next_renewal_on = serializers.DateField(required=False)
    auto_renew = serializers.BooleanField(required=False)
    included_units = UnitsField(required=False, allow_null=True)
    included_unit = serializers.CharField(max_length=20, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True)


class CancelSerializer(serializers.Serializer):
    """{"from": "YYYY-MM-DD"}: no renewal is booked on or after it (default today)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False,
            help_text="The first day without the plan (default: today, studio time).",
        )
        return fields


class SubscriptionFilter(filters.FilterSet):
    tool = IdFilter(field_name="tool_id", label="AI tool id.")
    period = filters.ChoiceFilter(choices=Subscription.Period.choices)
    currency = filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    active = filters.BooleanFilter(
        method="filter_active", label="true: in force today; false: all others."
    )

    class Meta:
        model = Subscription
        fields = ("tool", "period", "currency", "active")

    def filter_active(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        active = services.active_subscriptions(today_in_studio()).values("pk")
        return queryset.filter(pk__in=active) if value else queryset.exclude(pk__in=active)


@extend_schema_view(
    list=extend_schema(
        summary="List tool subscriptions",
        description="Soonest renewal first. Each shows its cost per month in its currency "
        "and in the reporting currency. Owners and producers only.",
    ),
    retrieve=extend_schema(summary="Get a tool subscription"),
    partial_update=extend_schema(
        summary="Change a tool subscription",
        description="Every field is optional. Renewals booked so far keep their amounts.",
        request=SubscriptionUpdateSerializer,
        responses={200: SubscriptionSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a tool subscription",
        description="Only while no expense was booked for it; 409 otherwise (cancel it).",
        responses={204: None, **error_responses(409)},
    ),
)
@extend_schema(tags=["subscriptions"])
class SubscriptionViewSet(DeletableViewSet):
    """Tool subscriptions: their renewals are booked as expenses automatically."""

    serializer_class = SubscriptionSerializer
    permission_classes = [IsStudioMember, CanManageBusiness]
    filter_backends = FILTER_BACKENDS
    filterset_class = SubscriptionFilter
    search_fields = ("plan_name", "tool__name", "tool__vendor")
    ordering_fields = ("next_renewal_on", "started_on", "amount", "created_at")
    ordering = ("next_renewal_on",)
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-subscription-detail"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Subscription]:
        return Subscription.objects.select_related("tool").order_by("next_renewal_on", "pk")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):  # building the schema: no database
            return context
        quote = StudioProfile.load().reporting_currency
        # The rates of every currency in use: a fixed number of queries, whatever the page.
        in_use = Subscription.objects.values_list("currency", flat=True).distinct()
        return {**context, "today": today_in_studio(), "rates": RateTable.load(quote, in_use)}

    def _output(self, subscription: Subscription) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=subscription.pk)
        return dict(SubscriptionSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Add a tool subscription",
        description="With book_first_payment (default) the charge on the start date is "
        "booked as an expense at once; later renewals are booked on their dates.",
        request=SubscriptionInputSerializer,
        responses={201: SubscriptionSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = SubscriptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.create_subscription(actor=request.user, **serializer.validated_data)
        return self.created(self._output(subscription), subscription.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        serializer = SubscriptionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = services.update_subscription(
            actor=request.user, subscription=subscription, **serializer.validated_data
        )
        return Response(self._output(updated))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.delete_subscription(actor=request.user, subscription=self.get_object())
        return Response(status=204)

    @extend_schema(
        summary="Cancel a tool subscription",
        description="From the given date (default today) no renewal is booked. 400 before "
        "the start; 409 when a renewal on or after that date is already booked.",
        request=CancelSerializer,
        responses={200: SubscriptionSerializer, **error_responses(409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        subscription = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        day = serializer.validated_data.get("from") or today_in_studio()
        cancelled = services.cancel_subscription(
            actor=request.user, subscription=subscription, from_date=day
        )
        return Response(self._output(cancelled))

    @extend_schema(
        summary="Resume a cancelled tool subscription",
        description="A next renewal already past moves to the first one from today. 409 "
        "unless the plan is cancelled.",
        request=None,
        responses={200: SubscriptionSerializer, **error_responses(409)},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        subscription = self.get_object()
        resumed = services.resume_subscription(actor=request.user, subscription=subscription)
        return Response(self._output(resumed))
