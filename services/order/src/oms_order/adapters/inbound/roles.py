"""Who may call the order service's routes: the guards the controllers and routes declare."""

from __future__ import annotations

from oms_runtime.context import requires

STAFF = ("admin", "manager", "warehouse", "courier")
MANAGERS = ("admin", "manager")

ANY_STAFF = requires(*STAFF)
MANAGER = requires(*MANAGERS)  # office work: order edits, promo codes, cancelling, the order lists
ADMIN = requires("admin")  # pipeline definitions and settings
STOREFRONT_OR_MANAGER = requires("storefront", *MANAGERS)  # placing an order
STOREFRONT_OR_STAFF = requires("storefront", *STAFF)  # reading an order (a storefront: the customer view)
