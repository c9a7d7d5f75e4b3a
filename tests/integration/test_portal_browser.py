"""A client opens their link on a phone, watches the cut and approves it (real Chromium)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orders import portal, services
from orders.models import ClientAction, Order
from tests.factories import ClientFactory, OrderFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2048
PHONE = {"width": 390, "height": 844}


def test_client_approves_on_a_phone(
    chromium, live_server, owner, studio_profile, tmp_path, monkeypatch
):
    from playwright.sync_api import sync_playwright

    order = OrderFactory(
        status=Order.Status.IN_REVIEW,
        title="618 大促产品短片",
        client=ClientFactory(language="zh-hans"),
        brief="两条 15 秒竖屏短片",
    )
    services.add_deliverable(
        actor=owner, order=order, title="成片", upload=SimpleUploadedFile("final.mp4", MP4)
    )
    link = portal.rotate_link(actor=owner, order=order)
    url = f"{live_server.url}/o/{link.token}/"
    shot_before = tmp_path / "portal-phone.png"
    shot_after = tmp_path / "portal-phone-approved.png"
    # Playwright's sync API runs an event loop in this thread; the ORM is only used
    # before and after it, never inside.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport=PHONE, is_mobile=True, device_scale_factor=2)
            response = page.goto(url)
            assert response is not None
            assert response.status == 200
            assert response.headers["referrer-policy"] == "no-referrer"
            assert page.locator("h1").inner_text() == "618 大促产品短片"
            assert page.locator("html").get_attribute("lang") == "zh-hans"
            # Nothing wider than the phone: no horizontal scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path=str(shot_before), full_page=True)
            page.locator("form[action$='/approve/'] button[type=submit]").click()
            page.wait_for_load_state("load")
            assert page.locator(".msg-success").count() == 1
            page.screenshot(path=str(shot_after), full_page=True)
            # English on request
            page.goto(url + "?lang=en")
            assert page.locator("html").get_attribute("lang") == "en"
        finally:
            browser.close()
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert ClientAction.objects.filter(order=order, kind=ClientAction.Kind.APPROVED).count() == 1
    assert shot_before.stat().st_size > 10_000
    assert shot_after.stat().st_size > 10_000
