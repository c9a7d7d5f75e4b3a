"""HTML pages of the orders app (staff side). One module per area; names re-exported here."""

from orders.views.client_pages import (
    client_archive,
    client_create,
    client_detail,
    client_edit,
    client_list,
    client_restore,
)
from orders.views.files import deliverable_file
from orders.views.order_pages import (
    deliverable_create,
    order_board,
    order_create,
    order_detail,
    order_edit,
    order_list,
    order_note,
    order_transition,
)
from orders.views.portal_links import portal_link_disable, portal_link_rotate

__all__ = [
    "client_archive",
    "client_create",
    "client_detail",
    "client_edit",
    "client_list",
    "client_restore",
    "deliverable_create",
    "deliverable_file",
    "order_board",
    "order_create",
    "order_detail",
    "order_edit",
    "order_list",
    "order_note",
    "order_transition",
    "portal_link_disable",
    "portal_link_rotate",
]
