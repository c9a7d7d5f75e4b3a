"""What every API endpoint shares: pagination, one error shape for every 4xx, the schema,
and the building blocks of views (id fields, amount fields, filters, ordering).

Error body, whatever went wrong (400 bad input, 401, 403, 404, 405, 409, 413, 415, 429…):

    {"error": {"status": 409, "code": "invalid_transition",
               "message": "An order that is Completed cannot become In review.",
               "fields": {"price": ["Ensure this value is greater than or equal to 0."]}}}

`code` is stable (for programs), `message` is for people (translated), `fields` maps an
input field ("__all__" for the whole request) to its messages and is empty when no
particular field is to blame.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import io
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
from django import forms
from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from studio import roles
from studio.errors import DomainError
from studio.sql import ordering_term

# Largest id a URL or a body may carry: bigger numbers cannot be database keys, and
# SQLite raises OverflowError (a 500) when asked to look them up.
MAX_ID = 2**63 - 1
ID_REGEX = r"[0-9]{1,18}"


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


# --- The error shape -----------------------------------------------------------------


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [...], "tags.0": [...], "__all__": [...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "__all__" if key == "non_field_errors" else str(key)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub, messages in _flatten(item).items():
                        out[f"{name}.{index}.{sub}"] = messages
            elif isinstance(value, dict):
                for sub, messages in _flatten(value).items():
                    out[f"{name}.{sub}"] = messages
            elif isinstance(value, list):
                out[name] = [str(v) for v in value]
            else:
                out[name] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"__all__": [str(v) for v in detail]}
    return {"__all__": [str(detail)]}


def error_body(
    status_code: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "status": status_code,
            "code": code,
            "message": str(message),
            "fields": {str(k): [str(m) for m in v] for k, v in (fields or {}).items()},
        }
    }


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request is too large.")
    default_code = "payload_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every refusal leaves in the one error shape."""
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(
            error_body(exc.status_code, exc.code, exc.message, exc.fields),
            status=exc.status_code,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        # e.g. too many form fields; Django would answer with an HTML 400.
        exc = exceptions.ParseError(_("The request could not be read."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.values()), [_("Invalid input.")])[0]
        response.data = error_body(response.status_code, "invalid", first, fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, (dict, list)):
            message = _("The request failed.")
            fields = _flatten(detail)
        else:
            message, fields = str(detail), {}
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(response.status_code, str(code), message, fields)
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@csrf_exempt  # it changes nothing, and must answer a POST with a 404 rather than a CSRF 403
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any /api/ address that matches no endpoint: a 404 in the error shape (not HTML).

    Also answers requests missing the trailing slash (Django's APPEND_SLASH cannot
    redirect a POST), pointing to the right address.
    """
    message = _("There is no API endpoint at this address.")
    if not request.path.endswith("/"):
        try:
            resolve(request.path + "/")
        except Resolver404:
            pass
        else:
            message = _("There is no API endpoint at this address. Did you mean %(path)s?") % {
                "path": request.path + "/"
            }
    return JsonResponse(
        error_body(404, "not_found", message),
        status=404,
        json_dumps_params={"separators": (",", ":")},  # as compact as DRF's answers
    )


# --- Schema --------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status code.")
    code = serializers.CharField(
        help_text="Stable machine-readable code, e.g. invalid, not_authenticated, "
        "permission_denied, not_found, invalid_transition, conflict, throttled."
    )
    message = serializers.CharField(help_text="What went wrong, for people (translated).")
    # The shape's own key; DRF's metaclass moves declared fields off the class, so this
    # does not shadow Serializer.fields (mypy cannot know that).
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages per input field ("__all__" for the request as a whole).',
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx response."""

    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Bad input: the body or a query parameter is invalid; `fields` says which. "
    "Nothing was changed.",
    401: "No credentials, or the token is invalid or revoked.",
    403: "Signed in, but your role does not allow this (or the CSRF check failed).",
    404: "Not found, or not visible to you.",
    409: "The action does not fit the object's current state (e.g. an invalid transition). "
    "Nothing was changed.",
    413: "The request body is too large.",
    415: "Unsupported content type.",
    429: "Too many requests; retry after the number of seconds in Retry-After.",
}


def error_response(code: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description or ERROR_DESCRIPTIONS[code])


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """For @extend_schema(responses={200: X, **error_responses(409)})."""
    return {code: error_response(code) for code in codes}


@functools.cache
def api_schema_class() -> type[Any]:
    """drf-spectacular's AutoSchema, adding the error component to every operation's 4xx
    responses: 401 and 403 everywhere; 400 where there is a body or a list's query
    parameters; 404 for addresses with an id and for lists (a page past the end); 413
    and 415 where there is a body; 429 on throttled views. Codes an operation documents
    itself (409 for transitions) are kept.

    Built on first use, not at import: drf_spectacular.openapi imports
    rest_framework.generics, which imports this module (the pagination setting).
    """
    from drf_spectacular.openapi import AutoSchema

    class ApiSchema(AutoSchema):
        def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
            responses: dict[str, Any] = super()._get_response_bodies(direction)
            has_body = (
                self.method in {"POST", "PUT", "PATCH"}
                and self.get_request_serializer() is not None
            )
            is_list = self._is_list_view()
            codes = [401, 403]
            if has_body or is_list:
                codes.append(400)
            if is_list or "{" in self.path:
                codes.append(404)
            if has_body:
                codes += [413, 415]
            if self.view.get_throttles():
                codes.append(429)
            for code in codes:
                if str(code) not in responses:
                    responses[str(code)] = self._get_response_for_code(
                        error_response(code), str(code), direction=direction
                    )
            return dict(sorted(responses.items()))

    return ApiSchema


class ApiSchemaDescriptor:
    """`schema = ApiSchemaDescriptor()` on a view: what DRF's DefaultSchema does with
    DEFAULT_SCHEMA_CLASS, with our AutoSchema."""

    def __get__(self, instance: Any, owner: Any) -> Any:
        return api_schema_class()().__get__(instance, owner)


class LimitedJSONParser(JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE, like Django's own form parsing
    (DRF reads the stream directly and would otherwise take a body of any size)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise PayloadTooLarge()
            stream = io.BytesIO(body)
        return super().parse(stream, media_type, parser_context)


# What orjson leaves to us (dates, decimals, lazy strings…), as DRF's encoder writes it.
_json_default = JSONEncoder().default
_LINE_SEPARATORS = ("\u2028".encode(), "\u2029".encode())


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer with orjson doing the work: the same bytes for what the API
    sends (compact, UTF-8, U+2028/U+2029 escaped, dates and decimals as DRF's encoder
    writes them), several times faster on big lists. Anything orjson refuses (an
    integer past 64 bits, an indented answer) goes through DRF's renderer."""

    _options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_json_default, option=self._options)
        except (orjson.JSONEncodeError, TypeError):
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80" in body:  # the UTF-8 lead bytes of U+2028 and U+2029
            body = body.replace(_LINE_SEPARATORS[0], b"\\u2028")
            body = body.replace(_LINE_SEPARATORS[1], b"\\u2029")
        return body


class ApiViewMixin:
    """Shared by every API view: JSON in and out, the error-aware schema."""

    schema = ApiSchemaDescriptor()
    renderer_classes: Sequence[type[BaseRenderer]] = [FastJSONRenderer]
    parser_classes: Sequence[type[BaseParser]] = [LimitedJSONParser]


# --- Building blocks for API views ------------------------------------------------------


def absolute_url(request: Request | None, name: str, args: list[Any]) -> str | None:
    """The absolute URL of a named route, or None while that route does not exist."""
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        return None
    return request.build_absolute_uri(path) if request is not None else path


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key within the database's range: a huge number is a 400, not a 500."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", serializers.IntegerField(min_value=1, max_value=MAX_ID))
        super().__init__(**kwargs)


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^\d{1,10}(?:\.\d{1,2})?$",
        "example": "1500.00",
    }
)
class AmountField(serializers.DecimalField):
    """A non-negative amount with at most two decimals: "1500.00" (a JSON number works
    too, but a string keeps every digit)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(max_digits=12, decimal_places=2, min_value=Decimal(0))
        super().__init__(**kwargs)


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^(?:100(?:\.0{1,2})?|\d{1,2}(?:\.\d{1,2})?)$",
        "example": "50",
    }
)
class PercentField(serializers.DecimalField):
    """A percentage from 0 to 100 with at most two decimals."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(max_digits=5, decimal_places=2, min_value=Decimal(0), max_value=Decimal(100))
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """?client=<id>: a whole number in the database's range (else a 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class CheckedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 date-time whose UTC equivalent exists (year 9999 at -23:00 does not)."""

    def to_python(self, value: Any) -> dt.datetime | None:
        result = super().to_python(value)
        if result is not None:
            try:
                result.astimezone(dt.UTC)
            except (OverflowError, ValueError) as exc:
                raise forms.ValidationError(
                    _("Enter a date and time between the years 1 and 9999."), code="invalid"
                ) from exc
        return result


class DateTimeFilter(filters.IsoDateTimeFilter):
    field_class = CheckedIsoDateTimeField


class RepeatedOrCommaWidget(forms.SelectMultiple):
    """Reads ?status=a&status=b as well as ?status=a,b."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        raw = data.getlist(name) if isinstance(data, MultiValueDict) else [data.get(name)]
        values = [part.strip() for item in raw if item for part in str(item).split(",")]
        return list(dict.fromkeys(v for v in values if v))


class StableOrderingFilter(OrderingFilter):
    """?ordering=… that keeps pages stable (the id breaks ties), puts empty values last,
    and lets nobody sort by money they may not see (the view's `money_fields`)."""

    def get_valid_fields(
        self, queryset: QuerySet, view: Any, context: Mapping[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        context = context or {}
        fields = super().get_valid_fields(queryset, view, context)
        request = context.get("request")
        if request is not None and not roles.can_see_money(request.user):
            hidden = set(getattr(view, "money_fields", ()))
            fields = [field for field in fields if field[0] not in hidden]
        return fields

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if ordering and not any(term.lstrip("-") in {"pk", "id"} for term in ordering):
            ordering.append("-pk" if ordering[0].startswith("-") else "pk")
        return ordering

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        return queryset.order_by(*(ordering_term(queryset.model, term) for term in ordering))


class CheckedSearchFilter(SearchFilter):
    """?search=… whose refusal (e.g. a NUL character) names the parameter."""

    def get_search_terms(self, request: Request) -> list[str]:
        try:
            return super().get_search_terms(request)
        except exceptions.ValidationError as exc:
            raise exceptions.ValidationError({self.search_param: exc.detail}) from exc


# Query parameters that are not a FilterSet's: paging, ?search= and ?ordering=.
NOT_FILTERS = frozenset({"page", "page_size", "search", "ordering"})


class FilterSetBackend(filters.DjangoFilterBackend):
    """django-filter's backend, not run when the request names no filter: with no data a
    FilterSet returns the queryset as it is, but building it (a deep copy of every filter,
    a form class, validation) costs about 2 ms of a plain list request."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if NOT_FILTERS.issuperset(request.query_params.keys()):
            return queryset
        return super().filter_queryset(request, queryset, view)


# For list views: django-filter FilterSets, ?search= and ?ordering=.
FILTER_BACKENDS = [FilterSetBackend, CheckedSearchFilter, StableOrderingFilter]


class CreatedLocationMixin:
    """201 responses carry the new object's API address in Location."""

    detail_route_name = ""

    def created(self, data: Any, *args: Any) -> Response:
        request = getattr(self, "request", None)
        location = absolute_url(request, self.detail_route_name, list(args))
        headers = {"Location": location} if location else {}
        return Response(data, status=status.HTTP_201_CREATED, headers=headers)


# --- Fast list representations -------------------------------------------------------------
#
# DRF builds a serializer's fields for every nested serializer instance and walks its field
# machinery for every value: for a page of 200 shots each with its selected take, that is
# most of the request. The lists that matter (orders, shots) instead read the page with
# .values() and build each item with plain functions below, then render with orjson. They
# produce exactly what the serializer would (tests/orders/test_api_fast.py compares the two
# on varied rows); the serializer stays the source of truth for the schema, for single
# objects and for every write.


def datetime_text(tz: dt.tzinfo | None = None) -> Callable[[dt.datetime | None], str | None]:
    """serializers.DateTimeField().to_representation, for the zone active now (DRF
    shows aware times in the current time zone: the studio's, set per request)."""
    zone = tz if tz is not None else timezone.get_current_timezone()

    def convert(value: dt.datetime | None) -> str | None:
        if not value:
            return None
        if value.tzinfo is None:
            value = timezone.make_aware(value, zone)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def date_text(value: dt.date | None) -> str | None:
    """serializers.DateField().to_representation."""
    return value.isoformat() if value else None


def decimal_text(max_digits: int, decimal_places: int) -> Callable[[Any], str | None]:
    """serializers.DecimalField(max_digits, decimal_places).to_representation (the
    string form: COERCE_DECIMAL_TO_STRING); None stays None, as a serializer leaves it."""
    exponent = Decimal(".1") ** decimal_places
    context = decimal.getcontext().copy()  # as DRF does on each call, once per list here
    context.prec = max_digits

    def convert(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(str(value).strip())
        return f"{value.quantize(exponent, context=context):f}"

    return convert


class RouteTemplate:
    """absolute_url(request, name, [arg]) for many args, reversed once per request.

    For routes whose one argument is an id or a URL-safe token (letters, digits, - and _),
    which reverse() leaves as they are. None for every arg while the route does not exist.
    """

    SAMPLE = "7351908462735190"

    def __init__(self, request: Request | None, name: str) -> None:
        self._name = name
        self._request = request
        self._parts: tuple[str, str] | None = None
        url = absolute_url(request, name, [self.SAMPLE])
        if url is not None and url.count(self.SAMPLE) == 1:
            before, _sample, after = url.partition(self.SAMPLE)
            self._parts = (before, after)
        self.exists = url is not None

    def __call__(self, arg: Any) -> str | None:
        if self._parts is None:
            return absolute_url(self._request, self._name, [arg]) if self.exists else None
        if type(arg) is not int:
            text = str(arg)
            if not text.isascii() or not all(c.isalnum() or c in "-_" for c in text):
                return absolute_url(self._request, self._name, [arg])
        return f"{self._parts[0]}{arg}{self._parts[1]}"


class CountedRows:
    """A .values() queryset for Django's Paginator that counts the plain filtered queryset
    instead: the same number, without the joins that only fetch columns."""

    def __init__(self, rows: QuerySet, counted: QuerySet) -> None:
        self._rows, self._counted = rows, counted
        self.ordered = rows.ordered

    def count(self) -> int:
        return self._counted.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: Any) -> Any:
        return self._rows[index]


class FastListMixin:
    """list() that reads the page with `fast_rows(queryset)` (a .values() queryset) and
    builds it with `fast_representation(rows)`, after the same filters, search, ordering
    and pagination as every list. The serializer still documents the list in the schema.
    """

    def fast_rows(self, queryset: QuerySet) -> QuerySet:
        raise NotImplementedError

    def fast_representation(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        rows_queryset = self.fast_rows(queryset)
        page = self.paginate_queryset(CountedRows(rows_queryset, queryset))  # type: ignore[attr-defined]
        rows = list(page if page is not None else rows_queryset)
        data = self.fast_representation(rows)
        if page is not None:
            return self.get_paginated_response(data)  # type: ignore[attr-defined]
        return Response(data)
