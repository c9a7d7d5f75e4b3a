"""The AI tool catalog pages: the list with today's prices, a tool with its price
history. Owners and producers (prices are money)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from studio import tools
from studio.access import business_required
from studio.errors import DomainError
from studio.models import AITool, ToolPrice
from studio.money import CURRENCY_CHOICES
from studio.timeutil import studio_zone, today


class ToolForm(forms.ModelForm):
    class Meta:
        model = AITool
        fields = ("name", "vendor", "kind", "website", "notes", "is_active")
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def _post_clean(self) -> None:
        # The service checks the tool (names unique whatever their case).
        pass


class PriceForm(forms.Form):
    effective_from = forms.DateField(
        label=gettext_lazy("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    per_second = forms.DecimalField(
        label=gettext_lazy("Price per generated second"),
        max_digits=10,
        decimal_places=4,
        min_value=Decimal(0),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )
    currency = forms.ChoiceField(
        label=gettext_lazy("Currency"), choices=CURRENCY_CHOICES, initial="CNY"
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _attach_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    placed = False
    for name, errors in exc.fields.items():
        for message in errors:
            form.add_error(name if name in form.fields else None, str(message))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _tools_with_prices() -> list[AITool]:
    rows = list(
        AITool.objects.prefetch_related(
            Prefetch("prices", queryset=ToolPrice.objects.order_by("-effective_from"))
        ).order_by("-is_active", "kind", "name")
    )
    day = today(studio_zone())
    for tool in rows:
        tool.current_price = tools.price_in_force(list(tool.prices.all()), day)  # type: ignore[attr-defined]
    return rows


@business_required
def tool_list(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = ToolForm(data, initial={"kind": AITool.Kind.VIDEO_MODEL, "is_active": True})
    if data is not None and form.is_valid():
        try:
            tool = tools.create_tool(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _attach_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s was added. Add its price per second below.") % {"name": tool.name},
            )
            return redirect(reverse("tool-detail", args=[tool.pk]))
    return render(
        request,
        "studio/tools.html",
        {"nav": "tools", "tools": _tools_with_prices(), "form": form},
        status=400 if form.errors else 200,
    )


def _render_detail(
    request: HttpRequest,
    tool: AITool,
    *,
    form: ToolForm | None = None,
    price_form: PriceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    day = today(studio_zone())
    prices = list(tool.prices.order_by("-effective_from"))
    return render(
        request,
        "studio/tool_detail.html",
        {
            "nav": "tools",
            "tool": tool,
            "prices": prices,
            "current": tools.price_in_force(prices, day),
            "form": form or ToolForm(instance=tool),
            "price_form": price_form or PriceForm(initial={"effective_from": day}),
        },
        status=status,
    )


@business_required
def tool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    tool = get_object_or_404(AITool, pk=pk)
    if request.method != "POST":
        return _render_detail(request, tool)
    form = ToolForm(request.POST, instance=tool)
    if form.is_valid():
        fresh = get_object_or_404(AITool, pk=pk)
        try:
            tools.update_tool(actor=request.user, tool=fresh, **form.cleaned_data)
        except DomainError as exc:
            _attach_domain_error(form, exc)
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": fresh.name})
            return redirect(reverse("tool-detail", args=[fresh.pk]))
    return _render_detail(request, get_object_or_404(AITool, pk=pk), form=form, status=400)


@business_required
@require_POST
def tool_price_add(request: HttpRequest, pk: int) -> HttpResponse:
    tool = get_object_or_404(AITool, pk=pk)
    form = PriceForm(request.POST)
    if form.is_valid():
        try:
            tools.add_price(actor=request.user, tool=tool, **form.cleaned_data)
        except DomainError as exc:
            _attach_domain_error(form, exc)
        else:
            messages.success(
                request,
                _(
                    "The price from %(date)s was added. Takes of %(name)s from that date on "
                    "were re-costed."
                )
                % {"date": form.cleaned_data["effective_from"].isoformat(), "name": tool.name},
            )
            return redirect(reverse("tool-detail", args=[tool.pk]))
    messages.error(request, _("The price was not added. See the error below."))
    return _render_detail(request, tool, price_form=form, status=400)


@business_required
@require_POST
def tool_price_delete(request: HttpRequest, pk: int, price_pk: int) -> HttpResponse:
    price = get_object_or_404(ToolPrice.objects.select_related("tool"), pk=price_pk, tool_id=pk)
    try:
        tools.delete_price(actor=request.user, price=price)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The price from %(date)s was removed; its takes were re-costed.")
            % {"date": price.effective_from.isoformat()},
        )
    return redirect(reverse("tool-detail", args=[pk]))
