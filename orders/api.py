"""REST API for clients, orders and deliverables.

Thin on purpose: serializers check the shape of the input, orders.services hold the
rules (and raise DomainError, which studio.api_common maps to the error shape), and
Order.objects.for_user decides who sees which order.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from orders import extensions, portal, selectors, services
from orders.models import Client, Deliverable, Order, PortalLink
from orders.portal_tokens import token_for_nonce
from studio import roles
from studio.api_common import (
    FILTER_BACKENDS,
    ID_REGEX,
    AmountField,
    ApiViewMixin,
    CreatedLocationMixin,
    DateTimeFilter,
    FastListMixin,
    IdFilter,
    IdRelatedField,
    LimitedJSONParser,
    PercentField,
    RepeatedOrCommaWidget,
    RouteTemplate,
    absolute_url,
    datetime_text,
    decimal_text,
    error_responses,
)
from studio.api_viewsets import EditableViewSet
from studio.money import CURRENCY_CHOICES
from studio.permissions import CanManageBusiness, IsStudioMember, MemberReadsBusinessWrites
from studio.sql import InIds

User = get_user_model()

# What people who may not see money (artists) never get from the API.
MONEY_FIELDS = ("price", "currency", "deposit_percent", "deposit_amount")
# Shown only to owners and producers: whoever has the link sees the order and its price.
BUSINESS_FIELDS = (*MONEY_FIELDS, "portal_url")


def _sees_money(serializer: serializers.BaseSerializer) -> bool:
    request = serializer.context.get("request")
    return request is not None and roles.can_see_money(request.user)


# --- Clients ---------------------------------------------------------------------------


class ClientSerializer(serializers.ModelSerializer):
    archived = serializers.BooleanField(
        source="is_archived",
        read_only=True,
        help_text="Archived clients keep their orders but take no new ones. "
        "Change with the archive and restore actions.",
    )

    class Meta:
        model = Client
        fields = ("id", *services.CLIENT_FIELDS, "archived", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")
        extra_kwargs = {"country": {"help_text": "Two-letter ISO 3166 code, e.g. CN."}}

    def validate_country(self, value: str) -> str:
        value = value.strip().upper()
        if value and not (len(value) == 2 and value.isascii() and value.isalpha()):
            raise serializers.ValidationError(_("Enter a two-letter country code, e.g. CN."))
        return value

    def create(self, validated_data: dict[str, Any]) -> Client:
        return services.create_client(actor=self.context["request"].user, **validated_data)

    def update(self, instance: Client, validated_data: dict[str, Any]) -> Client:
        return services.update_client(
            actor=self.context["request"].user, client=instance, **validated_data
        )


class ClientFilter(filters.FilterSet):
    archived = filters.BooleanFilter(
        method="filter_archived",
        label="true: archived clients only; false: active clients only; absent: all.",
    )
    country = filters.CharFilter(lookup_expr="iexact", max_length=2)

    class Meta:
        model = Client
        fields = ("archived", "language", "currency", "country")

    def filter_archived(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(archived_at__isnull=not value)


@extend_schema_view(
    list=extend_schema(summary="List clients", description="Owners and producers only."),
    retrieve=extend_schema(summary="Get a client"),
    create=extend_schema(summary="Create a client"),
    update=extend_schema(summary="Replace a client's details"),
    partial_update=extend_schema(summary="Change some of a client's details"),
)
@extend_schema(tags=["clients"])
class ClientViewSet(EditableViewSet):
    """Clients. There is no DELETE: archive a client instead (its orders stay)."""

    queryset = Client.objects.all()
    serializer_class = ClientSerializer
    permission_classes = [IsStudioMember, CanManageBusiness]
    filter_backends = FILTER_BACKENDS
    filterset_class = ClientFilter
    search_fields = ("name", "contact_name", "email", "wechat_id")
    ordering_fields = ("name", "created_at")
    ordering = ("name",)
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-client-detail"

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client = serializer.save()
        return self.created(self.get_serializer(client).data, client.pk)

    @extend_schema(
        summary="Archive a client",
        description="Hides the client from pickers; its orders stay. Idempotent.",
        request=None,
        responses={200: ClientSerializer},
    )
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        client = self.get_object()
        services.archive_client(actor=request.user, client=client)
        return Response(self.get_serializer(client).data)

    @extend_schema(
        summary="Restore an archived client",
        description="Idempotent.",
        request=None,
        responses={200: ClientSerializer},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        client = self.get_object()
        services.restore_client(actor=request.user, client=client)
        return Response(self.get_serializer(client).data)


# --- Orders ----------------------------------------------------------------------------


def wanted_extras(request: Any) -> list[extensions.OrderRepresentationExtra]:
    """The extra fields (orders.extensions) this request gets: those always shown and
    those asked for with ?include=name,name."""
    asked: set[str] = set()
    if request is not None and hasattr(request, "query_params"):
        asked = {part.strip() for part in request.query_params.get("include", "").split(",")}
    return [e for e in extensions.order_representation_extras() if e.always or e.name in asked]


INCLUDE_PARAMETER = OpenApiParameter(
    "include",
    OpenApiTypes.STR,
    description="Comma-separated extra fields to add to each order, e.g. `margin` "
    "(owners and producers only; left out for others).",
)


class OrderListSerializer(serializers.ListSerializer):
    """Fetches the extra fields other apps add (orders.extensions) once per page."""

    def to_representation(self, data: Any) -> list[Any]:
        items = list(data.all() if hasattr(data, "all") else data)
        request = self.context.get("request")
        self.child._extra_values = {  # type: ignore[union-attr]
            extra.name: extra.provider(request, items) for extra in wanted_extras(request)
        }
        return super().to_representation(items)


class OrderSerializer(serializers.ModelSerializer):
    """An order as the API shows it. The money fields are left out for artists, which is
    why the schema marks them optional."""

    # Fields other apps add (orders.extensions.register_order_representation_extra;
    # billing adds `margin`): {name: {order id: value}}, set per page by the list.
    _extra_values: dict[str, Any] | None = None

    client_name = serializers.CharField(source="client.name", read_only=True)
    # Declared writable only so that the schema does not list them as always present;
    # this serializer is used for output only.
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, help_text="Not shown to artists."
    )
    currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES, required=False, help_text="Not shown to artists."
    )
    deposit_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, help_text="Not shown to artists."
    )
    deposit_amount = serializers.DecimalField(
        source="deposit.amount",
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="price * deposit_percent / 100, rounded to the currency. Not shown to artists.",
    )
    assignee: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The team member's user id."
    )
    tags = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The order's page in ReelDesk.")
    portal_url = serializers.SerializerMethodField(
        required=False,
        help_text="The client's secret link to this order, or null when it is off "
        "(POST …/portal-link/ turns it on or replaces it). Not shown to artists.",
    )
    allowed_transitions = serializers.SerializerMethodField(
        help_text="Statuses you may move the order to now (POST …/transition/)."
    )
    # Only in the answer to a transition, which adds it; an Order has no such attribute,
    # so DRF skips the field everywhere else.
    warning = serializers.CharField(
        required=False,
        help_text="Only in the answer to a transition that needs attention, e.g. a "
        "revision round beyond those included in the price.",
    )

    class Meta:
        model = Order
        list_serializer_class = OrderListSerializer
        fields = (
            "id",
            "reference",
            "client",
            "client_name",
            "title",
            "kind",
            "brief",
            "price",
            "currency",
            "deposit_percent",
            "deposit_amount",
            "turnaround_days",
            "revision_rounds_included",
            "revision_rounds_used",
            "assignee",
            "tags",
            "status",
            "accepted_at",
            "due_at",
            "delivered_at",
            "completed_at",
            "created_at",
            "updated_at",
            "url",
            "portal_url",
            "allowed_transitions",
            "warning",
        )
        read_only_fields = tuple(f for f in fields if f not in {*MONEY_FIELDS, "warning"})

    def get_tags(self, order: Order) -> list[str]:
        return [tag.name for tag in order.tags.all()]

    def get_url(self, order: Order) -> str | None:
        return absolute_url(self.context.get("request"), "order-detail", [order.pk])

    @extend_schema_field(serializers.URLField(allow_null=True, required=False))
    def get_portal_url(self, order: Order) -> str | None:
        prefetched = getattr(order, "active_portal_links", None)  # set by the viewset
        link = portal.active_link(order) if prefetched is None else next(iter(prefetched), None)
        if link is None:
            return None
        request = self.context.get("request")
        path = portal.portal_path(link)
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=Order.Status.choices))
    )
    def get_allowed_transitions(self, order: Order) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        return [str(s) for s in selectors.permitted_transitions(order, request.user)]

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for extra in extensions.order_representation_extras():
            fields[extra.name] = extra.field()
        return fields

    def to_representation(self, instance: Order) -> dict[str, Any]:
        extras = self._extra_values
        if extras is None:  # a single order
            request = self.context.get("request")
            extras = {
                extra.name: extra.provider(request, [instance]) for extra in wanted_extras(request)
            }
        data = super().to_representation(instance)
        for extra in extensions.order_representation_extras():
            data.pop(extra.name, None)
            values = extras.get(extra.name, {})
            if instance.pk in values:
                data[extra.name] = values[instance.pk]
        if not _sees_money(self):
            for name in BUSINESS_FIELDS:
                data.pop(name, None)
        return data


# --- Orders, fast: OrderSerializer's output for a page, from .values() rows -------------

# The columns a list reads (and the portal link's nonce, as a subquery: one query less).
ORDER_LIST_COLUMNS = (
    "id",
    "reference",
    "client_id",
    "client__name",
    "title",
    "kind",
    "brief",
    "price",
    "currency",
    "deposit_percent",
    "turnaround_days",
    "revision_rounds_included",
    "revision_rounds_used",
    "assignee_id",
    "status",
    "status_before_hold",
    "accepted_at",
    "due_at",
    "delivered_at",
    "completed_at",
    "created_at",
    "updated_at",
)
# Order fields a provider of extras (orders.extensions) finds on the orders it is given.
_ORDER_MODEL_COLUMNS = tuple(c for c in ORDER_LIST_COLUMNS if "__" not in c)


def order_list_rows(queryset: QuerySet[Order]) -> QuerySet[Any, dict[str, Any]]:
    """The filtered, ordered orders as .values() rows for order_representations()."""
    active_link = (
        PortalLink.objects.active()
        .filter(order_id=OuterRef("pk"))
        .order_by("-created_at")  # PortalLink's own ordering, as the prefetch had it
        .values("nonce")[:1]
    )
    return (
        queryset.prefetch_related(None)
        .annotate(portal_nonce=Subquery(active_link))
        .values(*ORDER_LIST_COLUMNS, "portal_nonce")
    )


def order_representations(request: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What OrderSerializer(many=True) gives for these orders (order_list_rows), in one
    query for the tags plus what the extras asked for cost, and plain Python per field.
    tests/orders/test_api_fast.py holds the two equal."""
    if not rows:
        return []
    sees_money = request is not None and roles.can_see_money(request.user)
    user = request.user if request is not None else None
    ids = [row["id"] for row in rows]
    tags: dict[int, list[str]] = {pk: [] for pk in ids}
    for order_id, name in (
        Order.tags.through.objects.filter(InIds("order_id", ids))
        .order_by("tag__name")  # Tag's ordering, as order.tags.all() has it
        .values_list("order_id", "tag__name")
    ):
        tags[order_id].append(name)
    extras = wanted_extras(request)
    extra_values: dict[str, Any] = {}
    if extras:
        orders = [Order(**{c: row[c] for c in _ORDER_MODEL_COLUMNS}) for row in rows]
        extra_values = {extra.name: extra.provider(request, orders) for extra in extras}
    registered = [e.name for e in extensions.order_representation_extras()]

    when = datetime_text()
    amount = decimal_text(12, 2)
    percent = decimal_text(5, 2)
    order_url = RouteTemplate(request, "order-detail")
    portal_url = RouteTemplate(request, "portal")
    transitions: dict[tuple[str, str, bool], list[str]] = {}

    items = []
    for row in rows:
        pk = row["id"]
        status = row["status"]
        key = (status, row["status_before_hold"], row["assignee_id"] == getattr(user, "pk", None))
        allowed = transitions.get(key)
        if allowed is None:
            # Lifecycle and role rules depend on nothing else of the order.
            probe = Order(status=status, status_before_hold=key[1], assignee_id=row["assignee_id"])
            allowed = transitions[key] = (
                []
                if user is None
                else [str(t) for t in selectors.permitted_transitions(probe, user)]
            )
        item: dict[str, Any] = {
            "id": pk,
            "reference": row["reference"],
            "client": row["client_id"],
            "client_name": row["client__name"],
            "title": row["title"],
            "kind": row["kind"],
            "brief": row["brief"],
        }
        if sees_money:
            price, currency = row["price"], row["currency"]
            item["price"] = amount(price)
            item["currency"] = currency
            item["deposit_percent"] = percent(row["deposit_percent"])
            item["deposit_amount"] = amount(
                Order.deposit_of(price, row["deposit_percent"], currency).amount
            )
        item["turnaround_days"] = row["turnaround_days"]
        item["revision_rounds_included"] = row["revision_rounds_included"]
        item["revision_rounds_used"] = row["revision_rounds_used"]
        item["assignee"] = row["assignee_id"]
        item["tags"] = tags[pk]
        item["status"] = status
        item["accepted_at"] = when(row["accepted_at"])
        item["due_at"] = when(row["due_at"])
        item["delivered_at"] = when(row["delivered_at"])
        item["completed_at"] = when(row["completed_at"])
        item["created_at"] = when(row["created_at"])
        item["updated_at"] = when(row["updated_at"])
        item["url"] = order_url(pk)
        if sees_money:
            nonce = row["portal_nonce"]
            item["portal_url"] = None if nonce is None else portal_url(token_for_nonce(nonce))
        item["allowed_transitions"] = list(allowed)
        for name in registered:
            values = extra_values.get(name)
            if values and pk in values:
                item[name] = values[pk]
        items.append(item)
    return items


@extend_schema_serializer(component_name="Order")
class OrderInputSerializer(serializers.ModelSerializer):
    """What a caller may send to create or change an order. Shape only: the rules
    (archived client, team assignee, starting status, closed orders) are the service's."""

    client = IdRelatedField(queryset=Client.objects.all(), help_text="The client's id.")
    assignee = IdRelatedField(
        queryset=User.objects.all(),
        allow_null=True,
        required=False,
        help_text="A team member's user id, or null.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40),
        max_length=20,
        required=False,
        help_text="Tag names; the order's tags become exactly these.",
    )
    price = AmountField()
    deposit_percent = PercentField(required=False, help_text="Defaults to 50.")
    status = serializers.ChoiceField(
        choices=Order.Status.choices,
        required=False,
        help_text="On create: inquiry (the default) or quoted. On update: leave it out "
        "(or unchanged) and use POST /api/orders/{id}/transition/.",
    )

    class Meta:
        model = Order
        fields = (*services.ORDER_FIELDS, "tags", "status")
        extra_kwargs = {
            "currency": {"required": False, "help_text": "Defaults to the client's currency."},
            "turnaround_days": {
                "required": False,
                "help_text": "Defaults to the studio's turnaround.",
            },
            "revision_rounds_included": {
                "required": False,
                "help_text": "Defaults to the studio's included revision rounds.",
            },
        }

    def validate_status(self, value: str) -> str:
        if self.instance is not None and value != self.instance.status:
            raise serializers.ValidationError(
                _("Change the status with POST /api/orders/%(id)s/transition/.")
                % {"id": self.instance.pk}
            )
        return value

    def create(self, validated_data: dict[str, Any]) -> Order:
        return services.create_order(actor=self.context["request"].user, **validated_data)

    def update(self, instance: Order, validated_data: dict[str, Any]) -> Order:
        validated_data.pop("status", None)
        tags = validated_data.pop("tags", None)
        return services.update_order(
            actor=self.context["request"].user, order=instance, tags=tags, **validated_data
        )


class TransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, help_text="The new status.")
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        default="",
        help_text="Written to the order's timeline.",
    )
    override_ai_labels = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Owners only: mark delivered although a deliverable's AI-content labels "
        "are not checked (recorded on the timeline). Without it that answers 409 "
        "`ai_label_unchecked`.",
    )


class OrderFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=Order.Status.choices,
        widget=RepeatedOrCommaWidget,
        label="One or more statuses: ?status=a&status=b or ?status=a,b.",
    )
    kind = filters.ChoiceFilter(choices=Order.Kind.choices)
    client = IdFilter(field_name="client_id", label="Client id.")
    assignee = IdFilter(field_name="assignee_id", label="Assignee's user id.")
    tag = filters.CharFilter(field_name="tags__name", lookup_expr="iexact", max_length=40)
    due_before = DateTimeFilter(field_name="due_at", lookup_expr="lt", label="Due before.")
    due_after = DateTimeFilter(field_name="due_at", lookup_expr="gte", label="Due at or after.")
    late = filters.BooleanFilter(
        method="filter_late",
        label="true: open orders past their due date; false: all others.",
    )

    class Meta:
        model = Order
        fields = ("status", "kind", "client", "assignee", "tag", "due_before", "due_after", "late")

    def filter_late(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        late_ids = Order.objects.late().values("pk")
        if value:
            return queryset.filter(pk__in=late_ids)
        return queryset.exclude(pk__in=late_ids)


@extend_schema_view(
    list=extend_schema(
        summary="List orders",
        description="Owners and producers see every order; artists the orders assigned "
        "to them, without money fields.",
        parameters=[INCLUDE_PARAMETER],
    ),
    retrieve=extend_schema(summary="Get an order", parameters=[INCLUDE_PARAMETER]),
    create=extend_schema(
        summary="Create an order",
        description="Owners and producers only. Gets the next ORD-<year>-NNNN reference.",
        request=OrderInputSerializer,
        responses={201: OrderSerializer},
    ),
    update=extend_schema(
        summary="Replace an order's terms",
        request=OrderInputSerializer,
        responses={200: OrderSerializer, **error_responses(409)},
    ),
    partial_update=extend_schema(
        summary="Change some of an order's terms",
        request=OrderInputSerializer,
        responses={200: OrderSerializer, **error_responses(409)},
    ),
)
@extend_schema(tags=["orders"])
class OrderViewSet(FastListMixin, EditableViewSet):
    """Orders. There is no DELETE: cancel an order with a transition instead."""

    permission_classes = [IsStudioMember, MemberReadsBusinessWrites]
    member_actions = ("list", "retrieve", "transition", "metadata")
    filter_backends = FILTER_BACKENDS
    filterset_class = OrderFilter
    search_fields = ("reference", "title", "client__name")
    ordering_fields = ("due_at", "created_at", "price", "reference")
    ordering = ("-created_at",)
    money_fields = ("price",)
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-order-detail"

    def get_queryset(self) -> QuerySet[Order]:
        return (
            Order.objects.for_user(self.request.user)
            .select_related("client")
            .prefetch_related(
                "tags",
                Prefetch(
                    "portal_links",
                    queryset=PortalLink.objects.active(),
                    to_attr="active_portal_links",
                ),
            )
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in {"create", "update", "partial_update"}:
            return OrderInputSerializer
        if self.action == "transition":
            return TransitionSerializer
        return OrderSerializer

    def fast_rows(self, queryset: QuerySet[Order]) -> QuerySet[Any, dict[str, Any]]:
        return order_list_rows(queryset)

    def fast_representation(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return order_representations(self.request, rows)

    def _output(self, order: Order) -> OrderSerializer:
        # Read the order back the way lists do, so that the answer has fresh tags.
        fresh = self.get_queryset().get(pk=order.pk)
        return OrderSerializer(fresh, context=self.get_serializer_context())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = serializer.save()
        return self.created(self._output(order).data, order.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        order = serializer.save()
        return Response(self._output(order).data)

    @extend_schema(
        summary="Change an order's status",
        description="Moves the order along its lifecycle if the transition is allowed "
        "from its current status (409 otherwise) and your role may make it (403 "
        "otherwise: artists may only move their own orders through production). "
        "Nothing changes on refusal.",
        request=TransitionSerializer,
        responses={200: OrderSerializer, **error_responses(409)},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.change_status(
            actor=request.user,
            order=order,
            to_status=serializer.validated_data["status"],
            note=serializer.validated_data["note"],
            override_ai_labels=serializer.validated_data["override_ai_labels"],
        )
        data = self._output(result.order).data
        if result.warning:
            data["warning"] = result.warning
        return Response(data)

    @extend_schema(
        methods=["POST"],
        summary="Turn on or replace the client link",
        description="Gives the order a new secret client link; a previous link stops "
        "working at once. Answers the order with its new `portal_url`. Owners and "
        "producers only.",
        request=None,
        responses={200: OrderSerializer},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Turn off the client link",
        description="The link stops working at once. Idempotent.",
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["post", "delete"], url_path="portal-link")
    def portal_link(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        if request.method == "DELETE":
            portal.disable_link(actor=request.user, order=order)
            return Response(status=204)
        portal.rotate_link(actor=request.user, order=order)
        return Response(self._output(order).data)


# --- Deliverables ----------------------------------------------------------------------


class DeliverableSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The link, for link deliverables.")
    file_url = serializers.SerializerMethodField(
        help_text="Where signed-in team members download the file (file deliverables)."
    )

    class Meta:
        model = Deliverable
        fields = (
            "id",
            "order",
            "title",
            "version",
            "kind",
            "url",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "notes",
            "created_at",
            "file_url",
        )
        read_only_fields = fields
        extra_kwargs = {
            "sha256": {"help_text": "Filled in shortly after upload; empty until then."}
        }

    def get_url(self, deliverable: Deliverable) -> str | None:
        return deliverable.url or None

    def get_file_url(self, deliverable: Deliverable) -> str | None:
        if deliverable.kind != Deliverable.Kind.FILE:
            return None
        return absolute_url(
            self.context.get("request"), "deliverable-file", [deliverable.order_id, deliverable.pk]
        )


class DeliverableLinkSerializer(serializers.Serializer):
    title = serializers.CharField(
        max_length=160, help_text="Versions count up per title: a second “Final cut” is v2."
    )
    url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, help_text="An https:// link."
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class DeliverableUploadSerializer(DeliverableLinkSerializer):
    file = serializers.FileField(
        required=False,
        help_text="mp4, mov, webm, png, jpg, pdf or zip; the type is read from the content. "
        "Send either a file or a url.",
    )


ORDER_PK = OpenApiParameter("order_pk", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(summary="List an order's deliverables", parameters=[ORDER_PK]),
    retrieve=extend_schema(summary="Get a deliverable", parameters=[ORDER_PK]),
    create=extend_schema(
        summary="Add a deliverable",
        description="Multipart with `file`, or JSON (or multipart) with `url`. Each add "
        "is the next version of its title. Owners, producers and the order's artist.",
        parameters=[ORDER_PK],
        request={
            "multipart/form-data": DeliverableUploadSerializer,
            "application/json": DeliverableLinkSerializer,
        },
        responses={201: DeliverableSerializer, **error_responses(409)},
    ),
)
@extend_schema(tags=["deliverables"])
class DeliverableViewSet(
    ApiViewMixin,
    CreatedLocationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Deliverables of one order: files and links, versioned per title."""

    serializer_class = DeliverableSerializer
    permission_classes = [IsStudioMember]
    parser_classes = [LimitedJSONParser, MultiPartParser]
    filter_backends: list[Any] = []
    detail_route_name = "api-deliverable-detail"

    def get_order(self) -> Order:
        """The order in the URL, if the user may see it (404 otherwise, as if absent)."""
        if not hasattr(self, "_order"):
            self._order = get_object_or_404(
                Order.objects.for_user(self.request.user), pk=self.kwargs["order_pk"]
            )
        return self._order

    def get_queryset(self) -> QuerySet[Deliverable]:
        if getattr(self, "swagger_fake_view", False):
            return Deliverable.objects.none()
        return Deliverable.objects.filter(order=self.get_order()).order_by("-created_at", "-pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_order()
        serializer = DeliverableUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deliverable = services.add_deliverable(
            actor=request.user,
            order=order,
            title=data["title"],
            upload=data.get("file"),
            url=data.get("url", ""),
            notes=data.get("notes", ""),
        )
        return self.created(self.get_serializer(deliverable).data, order.pk, deliverable.pk)
