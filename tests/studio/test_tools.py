"""The AI tool catalog: services, dated prices, and its pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from studio import tools
from studio.errors import InvalidInput, NotPermitted
from studio.models import AITool, ToolPrice

pytestmark = pytest.mark.django_db


def test_seeded_tools_come_with_editable_demo_prices():
    kling = AITool.objects.get(name="Kling")

    price = kling.price_on(dt.date(2026, 1, 1))

    assert kling.is_generator
    assert price is not None
    assert price.currency == "CNY"
    assert "Demo value" in price.note
    assert AITool.objects.get(name="DeepSeek").price_on(dt.date(2026, 1, 1)) is None


def test_create_and_update_a_tool(producer):
    tool = tools.create_tool(
        actor=producer, name="  Seedance ", kind=AITool.Kind.VIDEO_MODEL, vendor="ByteDance"
    )

    tools.update_tool(actor=producer, tool=tool, is_active=False, notes="Paused")

    tool.refresh_from_db()
    assert (tool.name, tool.is_active, tool.notes) == ("Seedance", False, "Paused")


def test_tool_names_are_unique_whatever_their_case(owner):
    with pytest.raises(InvalidInput) as refused:
        tools.create_tool(actor=owner, name="KLING", kind=AITool.Kind.VIDEO_MODEL)

    assert refused.value.fields["name"] == ["There is already a tool called “KLING”."]


def test_artists_cannot_change_the_catalog(artist):
    kling = AITool.objects.get(name="Kling")

    with pytest.raises(NotPermitted):
        tools.create_tool(actor=artist, name="Mine", kind=AITool.Kind.LLM)
    with pytest.raises(NotPermitted):
        tools.add_price(
            actor=artist, tool=kling, effective_from=dt.date(2026, 2, 1), per_second="9"
        )

    assert not AITool.objects.filter(name="Mine").exists()
    assert kling.prices.count() == 1


def test_price_in_force_is_the_latest_on_or_before_the_day(owner):
    tool = tools.create_tool(actor=owner, name="Model X", kind=AITool.Kind.VIDEO_MODEL)
    tools.add_price(actor=owner, tool=tool, effective_from=dt.date(2026, 1, 1), per_second="0.3")
    tools.add_price(actor=owner, tool=tool, effective_from=dt.date(2026, 3, 1), per_second="0.25")

    assert tool.price_on(dt.date(2025, 12, 31)) is None
    assert tool.price_on(dt.date(2026, 2, 28)).per_second == Decimal("0.3")
    assert tool.price_on(dt.date(2026, 3, 1)).per_second == Decimal("0.25")
    prices = tools.prices_by_tool([tool.pk])[tool.pk]
    assert tools.price_in_force(prices, dt.date(2026, 2, 28)).per_second == Decimal("0.3")


@pytest.mark.parametrize("value", ["-0.1", "abc", "0.00001", "NaN", "1e12"])
def test_bad_prices_are_refused(owner, value):
    tool = AITool.objects.get(name="Kling")

    with pytest.raises(InvalidInput):
        tools.add_price(
            actor=owner, tool=tool, effective_from=dt.date(2026, 5, 1), per_second=value
        )

    assert tool.prices.count() == 1


def test_one_price_per_tool_per_day(owner):
    tool = AITool.objects.get(name="Kling")
    day = tool.prices.get().effective_from

    with pytest.raises(InvalidInput) as refused:
        tools.add_price(actor=owner, tool=tool, effective_from=day, per_second="0.9")

    assert "already has a price from" in refused.value.message
    assert tool.prices.count() == 1


def test_tool_list_page_shows_todays_price(owner_http):
    response = owner_http.get(reverse("tool-list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Hailuo 02" in html
    assert "0.35 CNY" in html


def test_add_a_tool_and_a_price_from_the_pages(producer_http):
    response = producer_http.post(
        reverse("tool-list"), {"name": "Seedance", "kind": "video_model", "is_active": "on"}
    )
    tool = AITool.objects.get(name="Seedance")
    assert response["Location"] == reverse("tool-detail", args=[tool.pk])

    response = producer_http.post(
        reverse("tool-price-add", args=[tool.pk]),
        {"effective_from": "2026-02-01", "per_second": "0.45", "currency": "CNY", "note": "Pro"},
    )

    assert response.status_code == 302
    assert list(tool.prices.values_list("per_second", "note")) == [(Decimal("0.4500"), "Pro")]


def test_bad_price_form_says_why_and_saves_nothing(owner_http):
    tool = AITool.objects.get(name="Kling")

    response = owner_http.post(
        reverse("tool-price-add", args=[tool.pk]),
        {"effective_from": "not a date", "per_second": "-1", "currency": "CNY"},
    )

    assert response.status_code == 400
    assert tool.prices.count() == 1


def test_removing_a_price_from_the_page(owner_http):
    tool = AITool.objects.get(name="Kling")
    price = tool.prices.get()

    owner_http.post(reverse("tool-price-delete", args=[tool.pk, price.pk]))

    assert not ToolPrice.objects.filter(pk=price.pk).exists()


@pytest.mark.parametrize(("persona", "status"), [("artist", 403), ("outsider", 403)])
def test_tool_pages_are_for_owners_and_producers(request, persona, status):
    http = request.getfixturevalue(f"{persona}_http")
    tool = AITool.objects.get(name="Kling")

    assert http.get(reverse("tool-list")).status_code == status
    assert http.get(reverse("tool-detail", args=[tool.pk])).status_code == status
    assert (
        http.post(
            reverse("tool-price-add", args=[tool.pk]),
            {"effective_from": "2026-02-01", "per_second": "0.45", "currency": "CNY"},
        ).status_code
        == status
    )
    assert tool.prices.count() == 1
