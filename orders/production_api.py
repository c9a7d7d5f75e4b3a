"""REST API for the AI tool catalog and the production breakdown: /api/tools/,
/api/episodes/, /api/shots/, /api/takes/, /api/assets/.

The same rules as the pages, because the same services and selectors make them:
owners and producers see and change everything; an artist sees only the shots assigned
to them (and the episodes, takes and assets of those shots), may update those shots,
add takes to them and select a take, and never gets a money field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.db.models import FilteredRelation, Prefetch, Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from orders import production
from orders import production_selectors as selectors
from orders.models import Asset, Casting, Episode, Order, Shot, Take
from studio import roles
from studio import tools as tool_services
from studio.api_common import (
    FILTER_BACKENDS,
    ID_REGEX,
    FastListMixin,
    IdFilter,
    IdRelatedField,
    RepeatedOrCommaWidget,
    RouteTemplate,
    absolute_url,
    date_text,
    datetime_text,
    decimal_text,
    error_responses,
)
from studio.api_viewsets import DeletableViewSet, EditableViewSet
from studio.models import AITool, ToolPrice
from studio.money import CURRENCY_CHOICES
from studio.permissions import IsStudioMember, MemberReadsBusinessWrites
from studio.sql import InIds

User = get_user_model()

SECONDS_PATTERN = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^\d{1,5}(?:\.\d{1,2})?$",
    "example": "5.5",
}


def _sees_money(serializer: serializers.BaseSerializer) -> bool:
    request = serializer.context.get("request")
    return request is not None and roles.can_see_money(request.user)


def _user(serializer: serializers.BaseSerializer) -> Any:
    request = serializer.context.get("request")
    return request.user if request is not None else None


@extend_schema_field(SECONDS_PATTERN)
class SecondsField(serializers.DecimalField):
    """Seconds from 0 to 99,999.99 with at most two decimals: "5.5"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(
            max_digits=7, decimal_places=2, min_value=Decimal(0), max_value=Decimal("99999.99")
        )
        super().__init__(**kwargs)


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)


class UrlListField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.URLField(max_length=500))
        kwargs.setdefault("max_length", production.MAX_REFERENCE_URLS)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


# --- Tools -------------------------------------------------------------------------------


class ToolPriceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ToolPrice
        fields = ("id", "effective_from", "per_second", "currency", "note")
        read_only_fields = fields


class ToolSerializer(serializers.ModelSerializer):
    is_generator = serializers.BooleanField(
        read_only=True, help_text="Video and image models, priced per generated second."
    )
    website = serializers.CharField(read_only=True, help_text="Web address, or empty.")
    prices = ToolPriceSerializer(
        many=True,
        read_only=True,
        required=False,
        help_text="Prices per generated second, newest first. Not shown to artists.",
    )

    class Meta:
        model = AITool
        fields = (
            "id",
            "name",
            "vendor",
            "kind",
            "website",
            "notes",
            "is_active",
            "is_generator",
            "prices",
            "created_at",
        )
        read_only_fields = fields

    def to_representation(self, instance: AITool) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not _sees_money(self):
            data.pop("prices", None)
        return data


class ToolInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AITool
        fields = ("name", "vendor", "kind", "website", "notes", "is_active")
        # Uniqueness is checked (case-insensitively) by the service.
        extra_kwargs: ClassVar[dict[str, dict[str, Any]]] = {"name": {"validators": []}}


class ToolPriceInputSerializer(serializers.Serializer):
    effective_from = serializers.DateField(help_text="The first day the price applies.")
    per_second = serializers.DecimalField(
        max_digits=10, decimal_places=4, min_value=0, help_text="Price per generated second."
    )
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, default="CNY")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ToolFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=AITool.Kind.choices)
    active = filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = AITool
        fields = ("kind", "active")


@extend_schema_view(
    list=extend_schema(
        summary="List AI tools",
        description="Every member sees the catalog; prices only owners and producers.",
    ),
    retrieve=extend_schema(summary="Get an AI tool"),
    create=extend_schema(
        summary="Add an AI tool",
        request=ToolInputSerializer,
        responses={201: ToolSerializer},
    ),
    update=extend_schema(
        summary="Replace an AI tool's details",
        request=ToolInputSerializer,
        responses=ToolSerializer,
    ),
    partial_update=extend_schema(
        summary="Change some of an AI tool's details",
        request=ToolInputSerializer,
        responses=ToolSerializer,
    ),
)
@extend_schema(tags=["tools"])
class ToolViewSet(EditableViewSet):
    """The studio's AI tool catalog. There is no DELETE: mark a tool as not in use."""

    permission_classes = [IsStudioMember, MemberReadsBusinessWrites]
    member_actions = ("list", "retrieve", "metadata")
    filter_backends = FILTER_BACKENDS
    filterset_class = ToolFilter
    search_fields = ("name", "vendor")
    ordering_fields = ("name", "created_at")
    ordering = ("name",)
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-tool-detail"

    def get_queryset(self) -> QuerySet[AITool]:
        return AITool.objects.prefetch_related(
            Prefetch("prices", queryset=ToolPrice.objects.order_by("-effective_from"))
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in {"create", "update", "partial_update"}:
            return ToolInputSerializer
        if self.action == "prices":
            return ToolPriceInputSerializer
        return ToolSerializer

    def _output(self, tool: AITool) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=tool.pk)
        return dict(ToolSerializer(fresh, context=self.get_serializer_context()).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ToolInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tool = tool_services.create_tool(actor=request.user, **serializer.validated_data)
        return self.created(self._output(tool), tool.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        tool = self.get_object()
        serializer = ToolInputSerializer(tool, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        tool_services.update_tool(actor=request.user, tool=tool, **serializer.validated_data)
        return Response(self._output(tool))

    @extend_schema(
        summary="Add a price to an AI tool",
        description="The tool's price per generated second from a date on (one per day). "
        "Computed takes of this tool from that date on are re-costed. Owners and producers.",
        request=ToolPriceInputSerializer,
        responses={200: ToolSerializer},
    )
    @action(detail=True, methods=["post"])
    def prices(self, request: Request, pk: str | None = None) -> Response:
        tool = self.get_object()
        serializer = ToolPriceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tool_services.add_price(actor=request.user, tool=tool, **serializer.validated_data)
        return Response(self._output(tool))


# --- Takes -------------------------------------------------------------------------------

TAKE_MONEY_FIELDS = ("cost", "currency", "cost_is_manual", "price_per_second")


class TakeSerializer(serializers.ModelSerializer):
    tool_name = serializers.CharField(source="tool.name", read_only=True)
    cost = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        required=False,
        help_text="seconds x the tool's price on the take's date, rounded to 0.01, unless "
        "entered by hand; null when the tool had no price. Not shown to artists.",
    )
    currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES, required=False, help_text="Not shown to artists."
    )
    cost_is_manual = serializers.BooleanField(required=False, help_text="Not shown to artists.")
    price_per_second = serializers.DecimalField(
        max_digits=10,
        decimal_places=4,
        allow_null=True,
        required=False,
        help_text="The price applied. Not shown to artists.",
    )
    result_file_url = serializers.SerializerMethodField(
        help_text="Where signed-in team members open the uploaded result, if any."
    )
    created_by: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    reference_urls = serializers.ListField(
        child=serializers.URLField(), read_only=True, help_text="Links to reference images."
    )
    result_url = serializers.CharField(read_only=True, help_text="Link to the result, or empty.")

    class Meta:
        model = Take
        fields = (
            "id",
            "shot",
            "number",
            "tool",
            "tool_name",
            "mode",
            "prompt",
            "negative_prompt",
            "seed",
            "reference_urls",
            "generated_seconds",
            "generated_on",
            *TAKE_MONEY_FIELDS,
            "result_url",
            "result_file_url",
            "notes",
            "is_selected",
            "created_by",
            "created_at",
        )
        read_only_fields = tuple(f for f in fields if f not in TAKE_MONEY_FIELDS)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_result_file_url(self, take: Take) -> str | None:
        if not take.result_file:
            return None
        return absolute_url(self.context.get("request"), "take-file", [take.pk])

    def to_representation(self, instance: Take) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not _sees_money(self):
            for name in TAKE_MONEY_FIELDS:
                data.pop(name, None)
        return data


class TakeInputSerializer(serializers.Serializer):
    shot = IdRelatedField(queryset=Shot.objects.all(), help_text="The shot's id (on create).")
    tool = IdRelatedField(queryset=AITool.objects.all(), help_text="The AI tool's id.")
    mode = serializers.ChoiceField(choices=Take.Mode.choices, default=Take.Mode.TEXT_TO_VIDEO)
    prompt = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    negative_prompt = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    seed = serializers.CharField(required=False, allow_blank=True, max_length=40)
    reference_urls = UrlListField(help_text="Links to reference images.")
    generated_seconds = SecondsField(help_text="Seconds of video the attempt produced.")
    generated_on = serializers.DateField(
        required=False, help_text="The take's date; today (studio time) if left out."
    )
    cost = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Only to override the computed cost (owners and producers).",
    )
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    result_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    select = serializers.BooleanField(
        required=False, default=False, help_text="Make it the shot's selected take."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = _user(self)
        shot_field = self.fields["shot"]
        assert isinstance(shot_field, IdRelatedField)
        shot_field.queryset = Shot.objects.for_user(user) if user else Shot.objects.none()
        if self.partial:
            self.fields.pop("shot")
            self.fields.pop("select")


class TakeFilter(filters.FilterSet):
    order = IdFilter(field_name="shot__episode__order_id", label="Order id.")
    episode = IdFilter(field_name="shot__episode_id", label="Episode id.")
    shot = IdFilter(field_name="shot_id", label="Shot id.")
    tool = IdFilter(field_name="tool_id", label="AI tool id.")
    selected = filters.BooleanFilter(field_name="is_selected")
    generated_after = filters.DateFilter(
        field_name="generated_on", lookup_expr="gte", label="On or after this date."
    )
    generated_before = filters.DateFilter(
        field_name="generated_on", lookup_expr="lte", label="On or before this date."
    )

    class Meta:
        model = Take
        fields = ("order", "episode", "shot", "tool", "selected")


@extend_schema_view(
    list=extend_schema(
        summary="List takes",
        description="Generation attempts. Artists see the takes of their own shots, without "
        "money fields.",
    ),
    retrieve=extend_schema(summary="Get a take"),
    create=extend_schema(
        summary="Log a take",
        description="Owners, producers, and the artist the shot is assigned to. The cost "
        "is computed from the tool's price on the take's date unless given (owners and "
        "producers only).",
        request=TakeInputSerializer,
        responses={201: TakeSerializer},
    ),
    partial_update=extend_schema(
        summary="Correct a take", request=TakeInputSerializer, responses=TakeSerializer
    ),
    destroy=extend_schema(summary="Delete a take", description="Owners and producers."),
)
@extend_schema(tags=["takes"])
class TakeViewSet(DeletableViewSet):
    permission_classes = [IsStudioMember, MemberReadsBusinessWrites]
    member_actions = ("list", "retrieve", "create", "partial_update", "select", "metadata")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = FILTER_BACKENDS
    filterset_class = TakeFilter
    ordering_fields = ("generated_on", "created_at", "number", "generated_seconds")
    ordering = ("shot", "number")
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-take-detail"

    def get_queryset(self) -> QuerySet[Take]:
        return selectors.visible_takes(self.request.user).select_related("tool", "shot")

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in {"create", "partial_update"}:
            return TakeInputSerializer
        return TakeSerializer

    def _output(self, take: Take) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=take.pk)
        return dict(TakeSerializer(fresh, context=self.get_serializer_context()).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = TakeInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        take = production.add_take(actor=request.user, **data)
        return self.created(self._output(take), take.pk)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        take = self.get_object()
        serializer = TakeInputSerializer(
            data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        clear_cost = "cost" in data and data["cost"] is None
        production.update_take(actor=request.user, take=take, clear_cost=clear_cost, **data)
        return Response(self._output(take))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        production.delete_take(actor=request.user, take=self.get_object())
        return Response(status=204)

    @extend_schema(
        summary="Select a take",
        description="Makes it the shot's selected take (its seconds become the shot's "
        "runtime); the shot's other takes are unselected. Idempotent.",
        request=None,
        responses={200: TakeSerializer},
    )
    @action(detail=True, methods=["post"])
    def select(self, request: Request, pk: str | None = None) -> Response:
        take = self.get_object()
        production.select_take(actor=request.user, take=take)
        return Response(self._output(take))


# --- Shots -------------------------------------------------------------------------------


class DialogueLineSerializer(serializers.Serializer):
    speaker = serializers.CharField(help_text="Empty when the line names no speaker.")
    line = serializers.CharField()


class ShotSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="episode.order_id", read_only=True)
    episode_number = serializers.IntegerField(source="episode.number", read_only=True)
    dialogue_lines = serializers.SerializerMethodField(
        help_text="The dialogue split into speaker and line, for dubbing."
    )
    runtime_seconds = serializers.SerializerMethodField(
        help_text="The selected take's seconds, else the planned seconds."
    )
    take_count = serializers.SerializerMethodField()
    generated_seconds = serializers.SerializerMethodField(
        help_text="Seconds generated over all of the shot's takes."
    )
    selected_take = serializers.SerializerMethodField()
    costs = serializers.SerializerMethodField(
        required=False,
        help_text="Generation cost of all takes, per currency. Not shown to artists.",
    )
    assignee: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    tool: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    assets = serializers.SerializerMethodField(help_text="Ids of the assets cast in the shot.")
    url = serializers.SerializerMethodField(help_text="The shot's page in ReelDesk.")

    class Meta:
        model = Shot
        fields = (
            "id",
            "order",
            "episode",
            "episode_number",
            "code",
            "position",
            "scene",
            "description",
            "dialogue",
            "dialogue_lines",
            "planned_seconds",
            "runtime_seconds",
            "status",
            "assignee",
            "tool",
            "assets",
            "notes",
            "take_count",
            "generated_seconds",
            "selected_take",
            "costs",
            "url",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(DialogueLineSerializer(many=True))
    def get_dialogue_lines(self, shot: Shot) -> list[dict[str, str]]:
        return [{"speaker": s, "line": line} for s, line in shot.dialogue_lines]

    @extend_schema_field(SECONDS_PATTERN)
    def get_runtime_seconds(self, shot: Shot) -> str:
        return str(getattr(shot, "runtime", shot.planned_seconds))

    @extend_schema_field(serializers.IntegerField())
    def get_take_count(self, shot: Shot) -> int:
        return int(getattr(shot, "take_count", 0))

    @extend_schema_field(SECONDS_PATTERN)
    def get_generated_seconds(self, shot: Shot) -> str:
        return str(getattr(shot, "generated", "0.00"))

    @extend_schema_field(TakeSerializer(allow_null=True))
    def get_selected_take(self, shot: Shot) -> dict[str, Any] | None:
        take = getattr(shot, "selected_take", None)
        if take is None:
            return None
        return dict(TakeSerializer(take, context=self.context).data)

    @extend_schema_field(MoneySerializer(many=True, required=False))
    def get_costs(self, shot: Shot) -> list[dict[str, str]]:
        return [
            {"amount": str(m.amount), "currency": m.currency} for m in getattr(shot, "costs", [])
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_assets(self, shot: Shot) -> list[int]:
        return sorted(asset.pk for asset in shot.assets.all())

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, shot: Shot) -> str | None:
        return absolute_url(self.context.get("request"), "shot-detail", [shot.pk])

    def to_representation(self, instance: Shot) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not _sees_money(self):
            data.pop("costs", None)
        return data


class ShotInputSerializer(serializers.Serializer):
    episode = IdRelatedField(queryset=Episode.objects.all(), help_text="The episode's id.")
    code = serializers.CharField(
        max_length=16, help_text="Text such as 010 or 010A (leading zeros are kept)."
    )
    position = serializers.IntegerField(min_value=1, max_value=100000, required=False)
    scene = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    dialogue = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20000,
        help_text="One line per spoken line, as “NAME: line”.",
    )
    planned_seconds = SecondsField(required=False)
    status = serializers.ChoiceField(choices=Shot.Status.choices, required=False)
    assignee = IdRelatedField(
        queryset=User.objects.all(), allow_null=True, required=False, help_text="A user id."
    )
    tool = IdRelatedField(
        queryset=AITool.objects.all(),
        allow_null=True,
        required=False,
        help_text="The AI tool intended for the shot.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    assets = serializers.ListField(
        child=IdRelatedField(queryset=Asset.objects.all()),
        required=False,
        max_length=200,
        help_text="Ids of the assets that appear in the shot (replaces the casting).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.partial:
            self.fields.pop("episode")


class ShotFilter(filters.FilterSet):
    order = IdFilter(field_name="episode__order_id", label="Order id.")
    episode = IdFilter(field_name="episode_id", label="Episode id.")
    status = filters.MultipleChoiceFilter(
        choices=Shot.Status.choices,
        widget=RepeatedOrCommaWidget,
        label="One or more statuses: ?status=a&status=b or ?status=a,b.",
    )
    assignee = IdFilter(field_name="assignee_id", label="Assignee's user id.")
    tool = IdFilter(field_name="tool_id", label="Intended AI tool id.")
    code = filters.CharFilter(field_name="code", max_length=16, label="Exact shot code.")

    class Meta:
        model = Shot
        fields = ("order", "episode", "status", "assignee", "tool", "code")


class ShotStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Shot.Status.choices)


def _shot_queryset(user: Any) -> QuerySet[Shot]:
    return selectors.prepare_shots(Shot.objects.for_user(user).select_related("episode"))


# --- Shots, fast: ShotSerializer's output for a page, from .values() rows ---------------

SHOT_LIST_COLUMNS = (
    "id",
    "episode__order_id",
    "episode_id",
    "episode__number",
    "code",
    "position",
    "scene",
    "description",
    "dialogue",
    "planned_seconds",
    "status",
    "assignee_id",
    "tool_id",
    "notes",
    "created_at",
    "updated_at",
)
# The selected take (at most one per shot: a unique constraint), joined in the same query.
SELECTED_TAKE_COLUMNS = (
    "id",
    "number",
    "tool_id",
    "tool__name",
    "mode",
    "prompt",
    "negative_prompt",
    "seed",
    "reference_urls",
    "generated_seconds",
    "generated_on",
    "cost",
    "currency",
    "cost_is_manual",
    "price_per_second",
    "result_url",
    "result_file",
    "notes",
    "is_selected",
    "created_by_id",
    "created_at",
)
_SELECTED = "selected_take_row"


def shot_list_rows(queryset: QuerySet[Shot]) -> QuerySet[Any, dict[str, Any]]:
    """The filtered, ordered shots as .values() rows (with their selected take) for
    shot_representations()."""
    return (
        queryset.select_related(None)
        .prefetch_related(None)
        .annotate(**{_SELECTED: FilteredRelation("takes", condition=Q(takes__is_selected=True))})
        .values(*SHOT_LIST_COLUMNS, *(f"{_SELECTED}__{c}" for c in SELECTED_TAKE_COLUMNS))
    )


class _Dialogue:
    __slots__ = ("dialogue",)

    def __init__(self, dialogue: str) -> None:
        self.dialogue = dialogue


_dialogue_lines_of = Shot.dialogue_lines.fget  # type: ignore[attr-defined]


def shot_representations(request: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ShotSerializer(many=True) gives for these shots (shot_list_rows), as after
    selectors.attach_take_numbers: two queries (take sums, casting) and plain Python per
    field. tests/orders/test_api_fast.py holds the two equal."""
    if not rows:
        return []
    sees_money = request is not None and roles.can_see_money(request.user)
    ids = [row["id"] for row in rows]
    numbers = selectors.take_numbers(ids)
    assets: dict[int, list[int]] = {pk: [] for pk in ids}
    for shot_id, asset_id in Casting.objects.filter(InIds("shot_id", ids)).values_list(
        "shot_id", "asset_id"
    ):
        assets[shot_id].append(asset_id)

    when = datetime_text()
    seconds = decimal_text(7, 2)
    amount = decimal_text(12, 2)
    per_second = decimal_text(10, 4)
    shot_url = RouteTemplate(request, "shot-detail")
    take_file_url = RouteTemplate(request, "take-file")
    p = f"{_SELECTED}__"

    items = []
    for row in rows:
        pk = row["id"]
        number = numbers[pk]
        take: dict[str, Any] | None = None
        take_id = row[p + "id"]
        # The selected take's seconds are the shot's runtime, else the planned seconds.
        runtime = row["planned_seconds"] if take_id is None else row[p + "generated_seconds"]
        if take_id is not None:
            take = {
                "id": take_id,
                "shot": pk,
                "number": row[p + "number"],
                "tool": row[p + "tool_id"],
                "tool_name": row[p + "tool__name"],
                "mode": row[p + "mode"],
                "prompt": row[p + "prompt"],
                "negative_prompt": row[p + "negative_prompt"],
                "seed": row[p + "seed"],
                "reference_urls": [
                    None if url is None else str(url) for url in row[p + "reference_urls"]
                ],
                "generated_seconds": seconds(row[p + "generated_seconds"]),
                "generated_on": date_text(row[p + "generated_on"]),
            }
            if sees_money:
                take["cost"] = amount(row[p + "cost"])
                take["currency"] = row[p + "currency"]
                take["cost_is_manual"] = row[p + "cost_is_manual"]
                take["price_per_second"] = per_second(row[p + "price_per_second"])
            take["result_url"] = row[p + "result_url"]
            take["result_file_url"] = take_file_url(take_id) if row[p + "result_file"] else None
            take["notes"] = row[p + "notes"]
            take["is_selected"] = row[p + "is_selected"]
            take["created_by"] = row[p + "created_by_id"]
            take["created_at"] = when(row[p + "created_at"])
        dialogue = row["dialogue"]
        item: dict[str, Any] = {
            "id": pk,
            "order": row["episode__order_id"],
            "episode": row["episode_id"],
            "episode_number": row["episode__number"],
            "code": row["code"],
            "position": row["position"],
            "scene": row["scene"],
            "description": row["description"],
            "dialogue": dialogue,
            "dialogue_lines": [
                {"speaker": speaker, "line": line}
                for speaker, line in (_dialogue_lines_of(_Dialogue(dialogue)) if dialogue else ())
            ],
            "planned_seconds": seconds(row["planned_seconds"]),
            "runtime_seconds": str(runtime),
            "status": row["status"],
            "assignee": row["assignee_id"],
            "tool": row["tool_id"],
            "assets": sorted(assets[pk]),
            "notes": row["notes"],
            "take_count": number.take_count,
            "generated_seconds": str(number.generated),
            "selected_take": take,
        }
        if sees_money:
            item["costs"] = [
                {"amount": str(m.amount), "currency": m.currency} for m in number.costs
            ]
        item["url"] = shot_url(pk)
        item["created_at"] = when(row["created_at"])
        item["updated_at"] = when(row["updated_at"])
        items.append(item)
    return items


@extend_schema_view(
    list=extend_schema(
        summary="List shots",
        description="Each with its selected take and take numbers. Artists see only the "
        "shots assigned to them, without money fields.",
    ),
    retrieve=extend_schema(summary="Get a shot"),
    create=extend_schema(
        summary="Add a shot",
        description="Owners and producers.",
        request=ShotInputSerializer,
        responses={201: ShotSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a shot",
        description="Artists may change the description, dialogue, seconds, tool, notes and "
        "status (within the generation loop) of their own shots.",
        request=ShotInputSerializer,
        responses={200: ShotSerializer, **error_responses(409)},
    ),
    destroy=extend_schema(
        summary="Delete a shot",
        description="Only a shot without takes (omit the others). Owners and producers.",
        responses={204: None, **error_responses(409)},
    ),
)
@extend_schema(tags=["shots"])
class ShotViewSet(FastListMixin, DeletableViewSet):
    permission_classes = [IsStudioMember, MemberReadsBusinessWrites]
    member_actions = ("list", "retrieve", "partial_update", "metadata")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = FILTER_BACKENDS
    filterset_class = ShotFilter
    search_fields = ("code", "description", "scene")
    ordering_fields = ("position", "code", "created_at", "updated_at")
    ordering = ("episode__order_id", "episode__number", "position")
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-shot-detail"

    def get_queryset(self) -> QuerySet[Shot]:
        return _shot_queryset(self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in {"create", "partial_update"}:
            return ShotInputSerializer
        return ShotSerializer

    def fast_rows(self, queryset: QuerySet[Shot]) -> QuerySet[Any, dict[str, Any]]:
        return shot_list_rows(queryset)

    def fast_representation(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return shot_representations(self.request, rows)

    def _output(self, shot: Shot) -> dict[str, Any]:
        rows = [self.get_queryset().get(pk=shot.pk)]
        selectors.attach_take_numbers(rows)
        return dict(ShotSerializer(rows[0], context=self.get_serializer_context()).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self._output(self.get_object()))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ShotInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shot = production.create_shot(actor=request.user, **serializer.validated_data)
        return self.created(self._output(shot), shot.pk)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        shot = self.get_object()
        serializer = ShotInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        production.update_shot(actor=request.user, shot=shot, **serializer.validated_data)
        return Response(self._output(shot))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        production.delete_shot(actor=request.user, shot=self.get_object())
        return Response(status=204)


# --- Episodes ----------------------------------------------------------------------------


class EpisodeSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The episode's page in ReelDesk.")

    class Meta:
        model = Episode
        fields: tuple[str, ...] = (
            "id",
            "order",
            "number",
            "title",
            "synopsis",
            "runtime_limit",
            "aspect_ratio",
            "status",
            "url",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, episode: Episode) -> str | None:
        return absolute_url(self.context.get("request"), "episode-detail", [episode.pk])


class EpisodeDetailSerializer(EpisodeSerializer):
    runtime_seconds = serializers.SerializerMethodField(
        help_text="The runtime of the shots that are not omitted."
    )
    over_limit = serializers.SerializerMethodField(
        help_text="true when the runtime is over the episode's runtime_limit."
    )
    shots = serializers.SerializerMethodField(
        help_text="The episode's shots in order, each with its selected take (artists: "
        "their own shots)."
    )

    class Meta(EpisodeSerializer.Meta):
        fields = (
            *EpisodeSerializer.Meta.fields,
            "runtime_seconds",
            "over_limit",
            "shots",
        )
        read_only_fields = fields

    def _page(self, episode: Episode) -> selectors.EpisodePage:
        if not hasattr(self, "_page_cache"):
            self._page_cache = selectors.episode_page(episode, _user(self))
        return self._page_cache

    @extend_schema_field(SECONDS_PATTERN)
    def get_runtime_seconds(self, episode: Episode) -> str:
        return str(self._page(episode).runtime)

    @extend_schema_field(serializers.BooleanField())
    def get_over_limit(self, episode: Episode) -> bool:
        return self._page(episode).over_limit

    @extend_schema_field(ShotSerializer(many=True))
    def get_shots(self, episode: Episode) -> list[Any]:
        shots = self._page(episode).shots
        for shot in shots:
            shot.episode = episode
        return list(ShotSerializer(shots, many=True, context=self.context).data)


class EpisodeInputSerializer(serializers.Serializer):
    order = IdRelatedField(queryset=Order.objects.all(), help_text="The order's id (on create).")
    number = serializers.IntegerField(
        min_value=1, max_value=9999, required=False, help_text="The next number if left out."
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    synopsis = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    runtime_limit = SecondsField(required=False, help_text="Seconds; 120 if left out.")
    aspect_ratio = serializers.ChoiceField(choices=Episode.Aspect.choices, required=False)
    status = serializers.ChoiceField(choices=Episode.Status.choices, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.partial:
            self.fields.pop("order")


class ReorderSerializer(serializers.Serializer):
    shots = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        max_length=2000,
        help_text="Shot ids in their new order; shots left out follow in their old order.",
    )


class BulkStatusSerializer(serializers.Serializer):
    shots = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=2000,
    )
    status = serializers.ChoiceField(choices=Shot.Status.choices)


class BulkResultSerializer(serializers.Serializer):
    changed = serializers.ListField(child=serializers.CharField(), help_text="Codes moved.")
    unchanged = serializers.IntegerField(help_text="Shots that already had the status.")


class EpisodeFilter(filters.FilterSet):
    order = IdFilter(field_name="order_id", label="Order id.")
    status = filters.ChoiceFilter(choices=Episode.Status.choices)

    class Meta:
        model = Episode
        fields = ("order", "status")


@extend_schema_view(
    list=extend_schema(
        summary="List episodes",
        description="Artists see the episodes that have a shot assigned to them.",
    ),
    retrieve=extend_schema(
        summary="Get an episode with its shots",
        description="The episode, its runtime against its limit, and its shots in order, "
        "each with its selected take: everything an integration needs in one request.",
        responses=EpisodeDetailSerializer,
    ),
    create=extend_schema(
        summary="Add an episode",
        request=EpisodeInputSerializer,
        responses={201: EpisodeSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an episode", request=EpisodeInputSerializer, responses=EpisodeSerializer
    ),
    destroy=extend_schema(
        summary="Delete an episode",
        description="Only while none of its shots has takes.",
        responses={204: None, **error_responses(409)},
    ),
)
@extend_schema(tags=["episodes"])
class EpisodeViewSet(DeletableViewSet):
    permission_classes = [IsStudioMember, MemberReadsBusinessWrites]
    member_actions = ("list", "retrieve", "bulk_status", "metadata")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = FILTER_BACKENDS
    filterset_class = EpisodeFilter
    search_fields = ("title",)
    ordering_fields = ("number", "created_at")
    ordering = ("order_id", "number")
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-episode-detail"

    def get_queryset(self) -> QuerySet[Episode]:
        return selectors.visible_episodes(self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in {"create", "partial_update"}:
            return EpisodeInputSerializer
        if self.action == "retrieve":
            return EpisodeDetailSerializer
        if self.action == "reorder":
            return ReorderSerializer
        if self.action == "bulk_status":
            return BulkStatusSerializer
        return EpisodeSerializer

    def _output(self, episode: Episode) -> dict[str, Any]:
        return dict(EpisodeSerializer(episode, context=self.get_serializer_context()).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = EpisodeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        episode = production.create_episode(actor=request.user, **serializer.validated_data)
        return self.created(self._output(episode), episode.pk)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        episode = self.get_object()
        serializer = EpisodeInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        production.update_episode(actor=request.user, episode=episode, **serializer.validated_data)
        return Response(self._output(episode))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        production.delete_episode(actor=request.user, episode=self.get_object())
        return Response(status=204)

    @extend_schema(
        summary="Reorder an episode's shots",
        description="Owners and producers. Positions become 1, 2, 3, … Idempotent.",
        request=ReorderSerializer,
        responses={200: EpisodeDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def reorder(self, request: Request, pk: str | None = None) -> Response:
        episode = self.get_object()
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        production.reorder_shots(
            actor=request.user, episode=episode, shot_ids=serializer.validated_data["shots"]
        )
        return Response(
            EpisodeDetailSerializer(episode, context=self.get_serializer_context()).data
        )

    @extend_schema(
        summary="Change the status of several shots",
        description="All of them or none: if any shot may not move (artists: only their "
        "own shots, within the generation loop), nothing changes and the answer says which. "
        "Writes one line on the order's timeline.",
        request=BulkStatusSerializer,
        responses={200: BulkResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="bulk-status")
    def bulk_status(self, request: Request, pk: str | None = None) -> Response:
        episode = self.get_object()
        serializer = BulkStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = production.bulk_change_status(
            actor=request.user,
            episode=episode,
            shot_ids=serializer.validated_data["shots"],
            to_status=serializer.validated_data["status"],
        )
        return Response({"changed": result.changed, "unchanged": result.unchanged})


# --- Assets ------------------------------------------------------------------------------


class AssetSerializer(serializers.ModelSerializer):
    shots = serializers.SerializerMethodField(
        help_text="Ids of the shots it appears in (artists: of their own shots)."
    )
    image_url = serializers.SerializerMethodField(help_text="The uploaded reference image.")
    reference_urls = serializers.ListField(
        child=serializers.URLField(), read_only=True, help_text="Links to reference images."
    )

    class Meta:
        model = Asset
        fields = (
            "id",
            "order",
            "name",
            "kind",
            "description",
            "prompt_fragment",
            "reference_urls",
            "image_url",
            "shots",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_shots(self, asset: Asset) -> list[int]:
        return sorted(getattr(asset, "visible_shot_ids", []))

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_image_url(self, asset: Asset) -> str | None:
        if not asset.image:
            return None
        return absolute_url(self.context.get("request"), "asset-image", [asset.pk])


class AssetInputSerializer(serializers.Serializer):
    order = IdRelatedField(queryset=Order.objects.all(), help_text="The order's id (on create).")
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=Asset.Kind.choices, default=Asset.Kind.CHARACTER)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    prompt_fragment = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    reference_urls = UrlListField(help_text="Links to reference images.")
    shots = serializers.ListField(
        child=IdRelatedField(queryset=Shot.objects.select_related("episode")),
        required=False,
        max_length=2000,
        help_text="Ids of the shots it appears in (replaces the casting; on update).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.partial:
            self.fields.pop("order")
        else:
            self.fields.pop("shots")


class AssetFilter(filters.FilterSet):
    order = IdFilter(field_name="order_id", label="Order id.")
    kind = filters.ChoiceFilter(choices=Asset.Kind.choices)
    shot = IdFilter(field_name="castings__shot_id", label="Assets cast in this shot.")

    class Meta:
        model = Asset
        fields = ("order", "kind", "shot")


@extend_schema_view(
    list=extend_schema(
        summary="List characters and assets",
        description="Artists see the assets cast in their shots.",
    ),
    retrieve=extend_schema(summary="Get an asset"),
    create=extend_schema(
        summary="Add a character or asset",
        request=AssetInputSerializer,
        responses={201: AssetSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an asset", request=AssetInputSerializer, responses=AssetSerializer
    ),
    destroy=extend_schema(summary="Delete an asset", description="Its shots stay."),
)
@extend_schema(tags=["assets"])
class AssetViewSet(DeletableViewSet):
    permission_classes = [IsStudioMember, MemberReadsBusinessWrites]
    member_actions = ("list", "retrieve", "metadata")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = FILTER_BACKENDS
    filterset_class = AssetFilter
    search_fields = ("name", "description")
    ordering_fields = ("name", "kind", "created_at")
    ordering = ("order_id", "kind", "name")
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-asset-detail"

    def get_queryset(self) -> QuerySet[Asset]:
        user = self.request.user
        return selectors.visible_assets(user).prefetch_related(
            Prefetch(
                "castings",
                queryset=Casting.objects.filter(shot__in=Shot.objects.for_user(user)).only(
                    "id", "asset_id", "shot_id"
                ),
                to_attr="visible_castings",
            )
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in {"create", "partial_update"}:
            return AssetInputSerializer
        return AssetSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        _attach_shot_ids(rows)
        data = AssetSerializer(rows, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _output(self, asset: Asset) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=asset.pk)
        _attach_shot_ids([fresh])
        return dict(AssetSerializer(fresh, context=self.get_serializer_context()).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self._output(self.get_object()))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = AssetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        asset = production.create_asset(actor=request.user, **serializer.validated_data)
        return self.created(self._output(asset), asset.pk)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        asset = self.get_object()
        serializer = AssetInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        production.update_asset(actor=request.user, asset=asset, **serializer.validated_data)
        return Response(self._output(asset))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        production.delete_asset(actor=request.user, asset=self.get_object())
        return Response(status=204)


def _attach_shot_ids(assets: list[Asset]) -> None:
    for asset in assets:
        castings = getattr(asset, "visible_castings", [])
        asset.visible_shot_ids = [c.shot_id for c in castings]  # type: ignore[attr-defined]
