"""Schemathesis against the billing operations, with invoices in every state in the
database so that each operation is exercised beyond 404 (the studio-wide run in
tests/studio/test_api_schema.py covers them too, but has no invoices to aim at)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing import delivery, services
from studio.services import create_api_token
from studio.wsgi import application
from tests.billing.helpers import draft, issued, line, order_for
from tests.studio.test_api_schema import GENERATED_SCHEMA

billing_schema = schemathesis.openapi.from_dict(GENERATED_SCHEMA).include(
    path_regex=r"^/api/(invoices|payments)/"
)


@pytest.fixture
def billing_world(owner, studio_profile) -> dict[str, Any]:
    order = order_for(price=Decimal("3000"))
    with_pdf = issued(owner, order=order, lines=[line(price="1000")])
    delivery.render_invoice_pdf(job_id=with_pdf.pdf_job.pk)
    open_invoice = issued(owner, order=order, lines=[line(price="500", rate="6")])
    paid = issued(owner, lines=[line(price="100")])
    payment = services.record_payment(actor=owner, invoice=paid, amount=Decimal(100), method="cash")
    void = issued(owner)
    services.void_invoice(actor=owner, invoice=void, reason="Duplicate")
    note = services.credit_invoice(actor=owner, invoice=with_pdf, lines=[line(price="100")])
    a_draft = draft(owner, order=order)
    _token, raw = create_api_token(user=owner, name="schemathesis")
    return {
        "headers": {"Authorization": f"Bearer {raw}"},
        "invoices": [with_pdf.pk, open_invoice.pk, paid.pk, void.pk, note.pk, a_draft.pk],
        "payments": [payment.payment.pk],
        "clients": [order.client_id],
        "orders": [order.pk],
    }


BODY_REFERENCES = {"client": "clients", "order": "orders", "invoice": "invoices"}


def _aim(case: Any, world: dict[str, Any]) -> None:
    body = case.body
    if isinstance(body, dict):
        for field, resource in BODY_REFERENCES.items():
            value = body.get(field)
            if isinstance(value, int) and not isinstance(value, bool):
                choices = world[resource]
                body[field] = choices[value % len(choices)]
    params = case.path_parameters or {}
    segments = case.path.strip("/").split("/")
    for index, segment in enumerate(segments):
        match = re.fullmatch(r"\{(\w+)\}", segment)
        if not match:
            continue
        resource = segments[index - 1]
        value = str(params.get(match.group(1), ""))
        if resource in world and value.isdigit() and int(value) % 3 != 0:
            choices = world[resource]
            params[match.group(1)] = str(choices[int(value) % len(choices)])


@billing_schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@pytest.mark.usefixtures("_keep_test_connection")
def test_billing_api_conforms_to_its_schema(case, billing_world):
    _aim(case, billing_world)
    response = case.call(app=application, headers=billing_world["headers"])
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


@pytest.fixture
def _keep_test_connection():
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
