"""Places where apps that depend on orders (billing) add sections to order pages.

orders must not import billing (dependencies point studio <- orders <- billing), yet the
staff order page and the client's page show invoices. Billing registers a provider in
its AppConfig.ready(); the pages render whatever the providers return, in order.

A provider is called with the request, the order and (for the client's page) the
portal token, and returns None (nothing to show) or a Section. It must run a fixed
number of queries and must itself decide what the viewer may see (artists never see
money; the client sees only their own order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Section:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


StaffProvider = Callable[[HttpRequest, Any], Section | None]
PortalProvider = Callable[[HttpRequest, Any, str], Section | None]

_staff_order_sections: list[StaffProvider] = []
_portal_sections: list[PortalProvider] = []


def register_staff_order_section(provider: StaffProvider) -> StaffProvider:
    if provider not in _staff_order_sections:
        _staff_order_sections.append(provider)
    return provider


def register_portal_section(provider: PortalProvider) -> PortalProvider:
    if provider not in _portal_sections:
        _portal_sections.append(provider)
    return provider


def staff_order_sections(request: HttpRequest, order: Any) -> list[Section]:
    found = (provider(request, order) for provider in _staff_order_sections)
    return [section for section in found if section is not None]


def portal_sections(request: HttpRequest, order: Any, token: str) -> list[Section]:
    found = (provider(request, order, token) for provider in _portal_sections)
    return [section for section in found if section is not None]


# --- Extra fields on the API's order representation -------------------------------------

OrderExtraProvider = Callable[[HttpRequest | None, Sequence[Any]], Mapping[int, Any]]


@dataclass(frozen=True)
class OrderRepresentationExtra:
    """A field another app adds to the order in the API (orders/api.py).

    `field()` returns the DRF field that documents it in the schema (optional there);
    `provider(request, orders)` returns {order id: value} for a whole page of orders in
    a fixed number of queries, and leaves out (or returns {} for) what the viewer may
    not see. Shown when the caller asks with ?include=<name> (extras cost queries), or
    on every answer when `always`.
    """

    name: str
    field: Callable[[], Any]
    provider: OrderExtraProvider
    always: bool = False


_order_representation_extras: dict[str, OrderRepresentationExtra] = {}


def register_order_representation_extra(
    name: str, *, field: Callable[[], Any], provider: OrderExtraProvider, always: bool = False
) -> None:
    _order_representation_extras[name] = OrderRepresentationExtra(name, field, provider, always)


def order_representation_extras() -> list[OrderRepresentationExtra]:
    return list(_order_representation_extras.values())
