"""A client's statement: invoices, credit notes and payments with the running balance."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from billing import selectors
from orders.models import Client
from orders.views.access import business_required


@business_required
def client_statement(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    return render(
        request,
        "billing/statement.html",
        {"nav": "clients", "client": client, "statements": selectors.client_statement(client)},
    )
