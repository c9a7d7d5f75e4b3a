"""REST API for invoices, credit notes and payments (owners and producers only).

Thin on purpose: serializers check the shape, billing.services holds the rules (and
raises DomainError, mapped to the one error shape by studio.api_common). POSTs that
create money records (a draft invoice, a credit note, a payment) accept an
Idempotency-Key header: the same key with the same request returns the first answer
again; the same key with another request is refused with 409.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.models import IdempotencyRecord, Invoice, InvoiceLine, Payment
from billing.models.invoices import today_in_studio
from orders.models import Client, Order
from orders.views.files import serve_stored_file
from studio.api_common import (
    FILTER_BACKENDS,
    ID_REGEX,
    AmountField,
    ApiViewMixin,
    CreatedLocationMixin,
    IdFilter,
    IdRelatedField,
    PercentField,
    RepeatedOrCommaWidget,
    absolute_url,
    error_responses,
)
from studio.errors import Conflict
from studio.money import CURRENCY_CHOICES
from studio.permissions import CanManageBusiness, IsStudioMember

IDEMPOTENCY_HEADER = "Idempotency-Key"
PDF_RETRY_SECONDS = 3

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (up to 255 printable ASCII characters, e.g. a UUID). "
    "Sending the same key with the same request again returns the first answer and "
    "creates nothing; the same key with a different request is refused with 409.",
)


# --- Idempotency ------------------------------------------------------------------------------


class _Replay(Exception):
    """Raised inside the transaction to throw away a duplicate's work."""


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str, ensure_ascii=True)
    raw = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_key(raw: str) -> str:
    key = raw.strip()
    if not key or len(key) > 255 or not all(32 < ord(c) < 127 for c in key):
        raise serializers.ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    _("Send a key of 1 to 255 printable characters without spaces, e.g. a UUID.")
                ]
            }
        )
    return key


def _user_id(request: Request) -> int:
    return int(request.user.pk or 0)


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise Conflict(
            _(
                "This Idempotency-Key was already used for a different request. Use a new "
                "key for a new request."
            ),
            code="idempotency_key_reused",
        )
    headers = {"Idempotent-Replayed": "true"}
    if record.location:
        headers["Location"] = record.location
    return Response(record.response, status=record.status_code, headers=headers)


View = Callable[..., Response]


def idempotent(view: View) -> View:
    """Run the view once per (user, Idempotency-Key); see the module docstring."""

    @wraps(view)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw = request.headers.get(IDEMPOTENCY_HEADER)
        if raw is None:
            return view(self, request, *args, **kwargs)
        key = _check_key(raw)
        fingerprint = _fingerprint(request)
        try:
            with transaction.atomic():
                previous = IdempotencyRecord.objects.filter(
                    user_id=_user_id(request), key=key
                ).first()
                if previous is not None:
                    return _replay(previous, fingerprint)
                response = view(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    body = json.loads(JSONRenderer().render(response.data) or b"null")
                    try:
                        with transaction.atomic():
                            IdempotencyRecord.objects.create(
                                user_id=_user_id(request),
                                key=key,
                                request_hash=fingerprint,
                                status_code=response.status_code,
                                response=body,
                                location=str(response.headers.get("Location", ""))[:500],
                            )
                    except IntegrityError:
                        raise _Replay from None  # a concurrent request with this key won
                return response
        except _Replay:
            record = IdempotencyRecord.objects.get(user_id=_user_id(request), key=key)
            return _replay(record, fingerprint)

    return wrapper


# --- Serializers ------------------------------------------------------------------------------


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = (
            "description",
            "quantity",
            "unit",
            "unit_price",
            "tax_rate",
            "net_amount",
            "tax_amount",
            "gross_amount",
        )
        read_only_fields = fields
        extra_kwargs = {
            "net_amount": {"help_text": "quantity x unit price, rounded (without tax)."},
            "tax_amount": {"help_text": "The line's tax, rounded half-up to the currency."},
            "gross_amount": {"help_text": "net_amount + tax_amount."},
        }


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^\d{1,8}(?:\.\d{1,3})?$",
        "example": "1",
    }
)
class QuantityField(serializers.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(max_digits=11, decimal_places=3)
        super().__init__(**kwargs)


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^\d{1,12}(?:\.\d{1,4})?$",
        "example": "1500.00",
    }
)
class UnitPriceField(serializers.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(max_digits=16, decimal_places=4, min_value=0)
        super().__init__(**kwargs)


class LineInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=500)
    quantity = QuantityField(help_text="More than zero, up to three decimals.")
    unit = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default="", help_text="e.g. episode"
    )
    unit_price = UnitPriceField(
        help_text="Up to four decimals; tax-inclusive or not as the studio's billing "
        "settings say (see prices_include_tax)."
    )
    tax_rate = PercentField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Percent, e.g. 6. Leave out for the studio's default rate.",
    )

    def to_line(self) -> services.LineInput:
        return line_from(self.validated_data)


def line_from(data: dict[str, Any]) -> services.LineInput:
    return services.LineInput(
        description=data["description"],
        quantity=data["quantity"],
        unit=data.get("unit", ""),
        unit_price=data["unit_price"],
        tax_rate=data.get("tax_rate"),
    )


class InvoiceSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    order_reference = serializers.SerializerMethodField()
    credited_invoice_number = serializers.SerializerMethodField()
    amount_due = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    overdue = serializers.SerializerMethodField(
        help_text="Unpaid and past its due date (computed, not a status)."
    )
    lines = InvoiceLineSerializer(many=True, read_only=True)
    pdf_status = serializers.SerializerMethodField(
        help_text="none (draft), rendering, ready or failed."
    )
    pdf_url = serializers.SerializerMethodField(
        help_text="GET it: 202 while rendering, then the PDF."
    )
    url = serializers.SerializerMethodField(help_text="The invoice's page in ReelDesk.")

    class Meta:
        model = Invoice
        fields = (
            "id",
            "number",
            "kind",
            "purpose",
            "status",
            "overdue",
            "client",
            "client_name",
            "order",
            "order_reference",
            "credited_invoice",
            "credited_invoice_number",
            "currency",
            "language",
            "prices_include_tax",
            "net_days",
            "subject",
            "notes",
            "issue_date",
            "due_date",
            "subtotal",
            "tax_total",
            "total",
            "amount_paid",
            "amount_credited",
            "amount_due",
            "lines",
            "fapiao_status",
            "fapiao_number",
            "sent_at",
            "void_reason",
            "pdf_status",
            "pdf_sha256",
            "pdf_url",
            "url",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "number": {
                "help_text": "INV-<year>-NNNN or CN-<year>-NNNN once issued; empty for drafts."
            }
        }

    def get_order_reference(self, invoice: Invoice) -> str | None:
        return invoice.order.reference if invoice.order_id and invoice.order else None

    def get_credited_invoice_number(self, invoice: Invoice) -> str | None:
        credited = invoice.credited_invoice
        return credited.number if credited is not None else None

    def get_overdue(self, invoice: Invoice) -> bool:
        today = self.context.get("today") or today_in_studio()
        return invoice.is_overdue_on(today)

    @extend_schema_field(serializers.ChoiceField(choices=["none", "rendering", "ready", "failed"]))
    def get_pdf_status(self, invoice: Invoice) -> str:
        return pdf_status(invoice)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_pdf_url(self, invoice: Invoice) -> str | None:
        if invoice.is_draft:
            return None
        return absolute_url(self.context.get("request"), "api-invoice-pdf", [invoice.pk])

    def get_url(self, invoice: Invoice) -> str | None:
        return absolute_url(self.context.get("request"), "invoice-detail", [invoice.pk])


def pdf_status(invoice: Invoice) -> str:
    if invoice.is_draft:
        return "none"
    if invoice.pdf_ready:
        return "ready"
    job = getattr(invoice, "pdf_job", None)
    return "failed" if job is not None and job.state == "failed" else "rendering"


class InvoiceCreateSerializer(serializers.Serializer):
    client = IdRelatedField(
        queryset=Client.objects.all(),
        required=False,
        help_text="The client's id. May be left out when order is given.",
    )
    order = IdRelatedField(
        queryset=Order.objects.all(), required=False, help_text="The order's id (optional)."
    )
    purpose = serializers.ChoiceField(
        choices=[
            Invoice.Purpose.STANDARD,
            Invoice.Purpose.DEPOSIT,
            Invoice.Purpose.FINAL,
        ],
        default=Invoice.Purpose.STANDARD,
        help_text="deposit: the order's deposit percent of its price; final: its price "
        "less what was invoiced. Both need an order and take no lines.",
    )
    currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES,
        required=False,
        help_text="Defaults to the order's or the client's currency.",
    )
    net_days = serializers.IntegerField(
        min_value=0, max_value=365, required=False, help_text="Days from issue to due date."
    )
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    lines = serializers.ListField(
        child=LineInputSerializer(), required=False, max_length=services.MAX_LINES
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        order = attrs.get("order")
        client = attrs.get("client")
        if order is None and client is None:
            raise serializers.ValidationError({"client": [_("Give a client or an order.")]})
        if order is not None and client is not None and order.client_id != client.pk:
            raise serializers.ValidationError(
                {"order": [_("The order belongs to another client.")]}
            )
        if attrs["purpose"] != Invoice.Purpose.STANDARD:
            if order is None:
                raise serializers.ValidationError(
                    {"order": [_("A deposit or final invoice is for an order.")]}
                )
            if attrs.get("lines"):
                raise serializers.ValidationError(
                    {"lines": [_("Deposit and final invoices make their own line.")]}
                )
        return attrs


class InvoiceUpdateSerializer(serializers.Serializer):
    """What a draft may change. Lines, when sent, replace all the draft's lines."""

    lines = serializers.ListField(
        child=LineInputSerializer(), required=False, max_length=services.MAX_LINES
    )
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    net_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES,
        required=False,
        help_text="Only for invoices without an order.",
    )


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Kept with the invoice.")


class CreditSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    lines = serializers.ListField(
        child=LineInputSerializer(),
        required=False,
        max_length=services.MAX_LINES,
        help_text="Leave out to credit everything still creditable.",
    )


class SendSerializer(serializers.Serializer):
    to = serializers.EmailField(
        required=False, allow_blank=True, help_text="Defaults to the client's e-mail address."
    )
    key = serializers.RegexField(
        r"^[A-Za-z0-9_-]{8,64}$",
        required=False,
        help_text="Optional: the same key sends once. A send to the same address within "
        "two minutes is taken as a repeat anyway.",
    )


class SendResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued", "sending", "sent", "failed"])
    to = serializers.EmailField()
    repeated = serializers.BooleanField(
        help_text="true when this send had already been asked for: nothing new was sent."
    )


class PdfStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["rendering", "failed"])
    retry_after = serializers.IntegerField(help_text="Seconds to wait before asking again.")


class PaymentSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)

    class Meta:
        model = Payment
        fields = (
            "id",
            "invoice",
            "invoice_number",
            "amount",
            "currency",
            "method",
            "paid_on",
            "reference",
            "note",
            "created_at",
        )
        read_only_fields = fields


class PaymentCreateSerializer(serializers.Serializer):
    invoice = IdRelatedField(queryset=Invoice.objects.all(), help_text="The invoice's id.")
    amount = AmountField(help_text="More than zero, at most what is due.")
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    paid_on = serializers.DateField(required=False, help_text="Defaults to today.")
    reference = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="The bank's or platform's transaction number. A reference already "
        "recorded on the invoice with the same amount returns that payment (200).",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- Filters ------------------------------------------------------------------------------------


class InvoiceFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=Invoice.Status.choices,
        widget=RepeatedOrCommaWidget,
        label="One or more statuses: ?status=a&status=b or ?status=a,b.",
    )
    kind = filters.ChoiceFilter(choices=Invoice.Kind.choices)
    purpose = filters.ChoiceFilter(choices=Invoice.Purpose.choices)
    client = IdFilter(field_name="client_id", label="Client id.")
    order = IdFilter(field_name="order_id", label="Order id.")
    currency = filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    issued_after = filters.DateFilter(
        field_name="issue_date", lookup_expr="gte", label="Issued on or after (YYYY-MM-DD)."
    )
    issued_before = filters.DateFilter(
        field_name="issue_date", lookup_expr="lt", label="Issued before (YYYY-MM-DD)."
    )
    overdue = filters.BooleanFilter(
        method="filter_overdue", label="true: unpaid and past due; false: all others."
    )

    class Meta:
        model = Invoice
        fields = (
            "status",
            "kind",
            "purpose",
            "client",
            "order",
            "currency",
            "issued_after",
            "issued_before",
            "overdue",
        )

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        late = Invoice.objects.overdue().values("pk")
        return queryset.filter(pk__in=late) if value else queryset.exclude(pk__in=late)


class PaymentFilter(filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id", label="Invoice id.")
    method = filters.ChoiceFilter(choices=Payment.Method.choices)
    currency = filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    paid_after = filters.DateFilter(field_name="paid_on", lookup_expr="gte")
    paid_before = filters.DateFilter(field_name="paid_on", lookup_expr="lt")

    class Meta:
        model = Payment
        fields = ("invoice", "method", "currency", "paid_after", "paid_before")


# --- Views -------------------------------------------------------------------------------------


class FirstRendererNegotiation(BaseContentNegotiation):
    """The PDF action answers JSON (202, errors) or the file itself whatever Accept says."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return (renderers[0], renderers[0].media_type)


INVOICE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="List invoices and credit notes",
        description="Newest first. Owners and producers only.",
    ),
    retrieve=extend_schema(summary="Get an invoice or credit note"),
    partial_update=extend_schema(
        summary="Change a draft",
        description="Lines, when sent, replace all of the draft's lines. An issued invoice "
        "never changes (409): void it or credit it.",
        request=InvoiceUpdateSerializer,
        responses={200: InvoiceSerializer, **error_responses(409)},
    ),
    destroy=extend_schema(
        summary="Delete a draft",
        description="Only drafts (which have no number) can be deleted; 409 otherwise.",
        responses={204: None, **error_responses(409)},
    ),
)
@extend_schema(tags=["invoices"])
class InvoiceViewSet(
    ApiViewMixin,
    CreatedLocationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Invoices and credit notes: draft, issue, void, credit, send; the PDF."""

    serializer_class = InvoiceSerializer
    permission_classes = [IsStudioMember, CanManageBusiness]
    filter_backends = FILTER_BACKENDS
    filterset_class = InvoiceFilter
    search_fields = ("number", "client__name", "subject")
    ordering_fields = ("issue_date", "due_date", "total", "created_at", "number")
    ordering = ("-created_at",)
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-invoice-detail"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Invoice]:
        return (
            Invoice.objects.select_related("client", "order", "credited_invoice", "pdf_job")
            .prefetch_related("lines")
            .order_by("-created_at", "-pk")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": today_in_studio()}

    def _output(self, invoice: Invoice) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=invoice.pk)
        return InvoiceSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        summary="Create a draft invoice",
        description="A free invoice with lines, or an order's deposit or final invoice "
        "(purpose, no lines). Numbers come at issue. Supports Idempotency-Key.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=InvoiceCreateSerializer,
        responses={201: InvoiceSerializer, **error_responses(409)},
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = InvoiceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = data.get("order")
        client = data.get("client") or (order.client if order is not None else None)
        assert client is not None
        purpose = data["purpose"]
        if purpose == Invoice.Purpose.DEPOSIT:
            invoice = services.create_deposit_invoice(actor=request.user, order=order)
        elif purpose == Invoice.Purpose.FINAL:
            invoice = services.create_final_invoice(actor=request.user, order=order)
        else:
            invoice = services.create_invoice(
                actor=request.user,
                client=client,
                order=order,
                lines=[line_from(line) for line in data.get("lines", [])],
                currency=data.get("currency"),
                net_days=data.get("net_days"),
                subject=data["subject"],
                notes=data["notes"],
            )
        if purpose != Invoice.Purpose.STANDARD and any(
            key in request.data for key in ("net_days", "subject", "notes")
        ):
            invoice = services.update_draft(
                actor=request.user,
                invoice=invoice,
                net_days=data.get("net_days"),
                subject=data.get("subject") or None,
                notes=data.get("notes") or None,
            )
        return self.created(self._output(invoice), invoice.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invoice = self.get_object()
        # Every field is optional; not partial=True, which would make line fields optional too.
        serializer = InvoiceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lines = data.get("lines")
        invoice = services.update_draft(
            actor=request.user,
            invoice=invoice,
            lines=[line_from(line) for line in lines] if lines is not None else None,
            subject=data.get("subject"),
            notes=data.get("notes"),
            net_days=data.get("net_days"),
            currency=data.get("currency"),
        )
        return Response(self._output(invoice))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.delete_draft(actor=request.user, invoice=self.get_object())
        return Response(status=204)

    @extend_schema(
        summary="Issue a draft",
        description="Gives the draft the next INV-/CN-<year>-NNNN number, its issue and due "
        "dates and a frozen copy of seller, buyer and payment details, and queues its PDF. "
        "409 unless it is a draft; 400 when it has no lines or a zero total.",
        request=None,
        responses={200: InvoiceSerializer, **error_responses(400, 409)},
    )
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, pk: str | None = None) -> Response:
        invoice = services.issue_invoice(actor=request.user, invoice=self.get_object())
        return Response(self._output(invoice))

    @extend_schema(
        summary="Void an issued invoice or credit note",
        description="It keeps its number and PDF and stops counting. 409 for drafts, void "
        "documents and invoices with payments or credit notes (credit those instead).",
        request=VoidSerializer,
        responses={200: InvoiceSerializer, **error_responses(409)},
    )
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: str | None = None) -> Response:
        invoice = self.get_object()
        serializer = VoidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        voided = services.void_invoice(
            actor=request.user, invoice=invoice, reason=serializer.validated_data["reason"]
        )
        return Response(self._output(voided))

    @extend_schema(
        summary="Credit an issued invoice",
        description="Creates and issues a credit note (CN-<year>-NNNN) for the invoice: "
        "everything still creditable, or the given lines. Answers the credit note. "
        "Supports Idempotency-Key.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=CreditSerializer,
        responses={201: InvoiceSerializer, **error_responses(409)},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def credit(self, request: Request, pk: str | None = None) -> Response:
        invoice = self.get_object()
        serializer = CreditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lines = data.get("lines")
        note = services.credit_invoice(
            actor=request.user,
            invoice=invoice,
            lines=[line_from(line) for line in lines] if lines is not None else None,
            reason=data["reason"],
        )
        return self.created(self._output(note), note.pk)

    @extend_schema(
        summary="E-mail the invoice to the client",
        description="Queues an e-mail in the client's language with the PDF attached and "
        "the link to their order page. Sending twice in a row sends once (202 either way; "
        "`repeated` says which). 409 for drafts and void documents.",
        request=SendSerializer,
        responses={202: SendResultSerializer, **error_responses(409)},
    )
    @action(detail=True, methods=["post"])
    def send(self, request: Request, pk: str | None = None) -> Response:
        invoice = self.get_object()
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # Without a key, a repeat is still caught: a send to the same address within two
        # minutes is taken as the same send by the service.
        key = data.get("key") or secrets.token_urlsafe(16)
        result = services.send_invoice(
            actor=request.user, invoice=invoice, key=key, to=data.get("to") or ""
        )
        return Response(
            {"status": result.email.state, "to": result.email.to, "repeated": not result.created},
            status=202,
        )

    @extend_schema(
        summary="Download the invoice's PDF",
        description="202 with Retry-After while the PDF is being rendered, then the stored "
        "PDF (the same bytes every time; its SHA-256 is pdf_sha256). 409 for drafts.",
        request=None,
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
            (202, "application/json"): PdfStatusSerializer,
            **error_responses(409),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="pdf",
        url_name="pdf",
        content_negotiation_class=FirstRendererNegotiation,
        filter_backends=[],
    )
    def pdf(self, request: Request, pk: str | None = None) -> HttpResponseBase:
        invoice = self.get_object()
        if invoice.is_draft:
            raise Conflict(_("A draft has no PDF yet: issue it first."), code="not_issued")
        if not invoice.pdf_ready:
            state = pdf_status(invoice)
            return Response(
                {"status": state, "retry_after": PDF_RETRY_SECONDS},
                status=202,
                headers={"Retry-After": str(PDF_RETRY_SECONDS)},
            )
        response = serve_stored_file(
            request, invoice.pdf, content_type="application/pdf", filename=invoice.pdf_filename()
        )
        response["ETag"] = f'"{invoice.pdf_sha256}"'
        return response


@extend_schema_view(
    list=extend_schema(summary="List payments", description="Newest first."),
    retrieve=extend_schema(summary="Get a payment"),
)
@extend_schema(tags=["payments"])
class PaymentViewSet(
    ApiViewMixin,
    CreatedLocationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Payments received for invoices. There is no change or delete: money received is
    history; correct an invoice with a credit note."""

    serializer_class = PaymentSerializer
    permission_classes = [IsStudioMember, CanManageBusiness]
    filter_backends = FILTER_BACKENDS
    filterset_class = PaymentFilter
    search_fields = ("reference", "invoice__number")
    ordering_fields = ("paid_on", "amount", "created_at")
    ordering = ("-paid_on",)
    lookup_value_regex = ID_REGEX
    detail_route_name = "api-payment-detail"

    def get_queryset(self) -> QuerySet[Payment]:
        return Payment.objects.select_related("invoice").order_by("-paid_on", "-pk")

    @extend_schema(
        summary="Record a payment",
        description="Full or partial. 409 for drafts, void invoices, credit notes and "
        "settled invoices; 400 for more than is due. A reference already recorded on the "
        "invoice with the same amount answers that payment (200) instead of recording it "
        "twice; with another amount it is a 409. Supports Idempotency-Key.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=PaymentCreateSerializer,
        responses={
            201: PaymentSerializer,
            200: OpenApiResponse(
                PaymentSerializer, description="Already recorded (same reference)."
            ),
            **error_responses(409),
        },
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.record_payment(
            actor=request.user,
            invoice=data["invoice"],
            amount=data["amount"],
            method=data["method"],
            paid_on=data.get("paid_on"),
            reference=data["reference"],
            note=data["note"],
        )
        output = PaymentSerializer(result.payment, context=self.get_serializer_context()).data
        if not result.created:
            return Response(output, status=200)
        return self.created(output, result.payment.pk)
