"""Who may call what: the principals the gateway recognises and the permission table per route group.

Coarse on purpose: the gateway keeps callers away from route groups they have no business with;
each service still checks the finer rules (which order, which stage) with the actor it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from oms_contracts import Actor

STOREFRONT = "storefront"
CONSOLE_CHANNEL = "console"


class RouteGroup(StrEnum):
    # Gateway's own API
    ME = "me"
    STAFF_ADMIN = "staff.admin"
    STAFF_DIRECTORY = "staff.directory"
    API_KEYS_ADMIN = "api_keys.admin"
    # Proxied
    ORDERS_PLACE = "orders.place"
    ORDERS_READ_ONE = "orders.read_one"
    ORDERS = "orders"
    ORDER_MESSAGES = "orders.messages"
    CATALOG_STOREFRONT = "catalog.storefront"
    CATALOG = "catalog"
    PAYMENTS = "payments"
    SHIPMENTS = "shipments"
    PAYMENT_DOCUMENTS = "payments.documents"
    RETURNS_REQUEST = "returns.request"
    RETURNS_READ_ONE = "returns.read_one"
    RETURNS = "returns"
    DELIVERY_METHODS = "delivery_methods"
    WAREHOUSE_PAGES = "warehouse.pages"
    CONSOLE_PAGES = "console.pages"
    NOTIFICATIONS = "notifications"
    INBOX = "inbox"
    PIPELINES = "pipelines"
    PROMO_CODES = "promo_codes"
    GROUPBUY = "groupbuy"
    PARTNER_CONVERSATIONS = "conversations.partners"
    CHECKOUT = "checkout"
    ORDER_LINK = "orders.status_link"
    CUSTOMERS = "customers"
    CUSTOMER_DATA = "customers.personal_data"
    FEEDBACK_REPORT = "feedback.report"
    SMS_SETTINGS = "notifications.sms_settings"
    CHANNEL_PREFERENCES = "notifications.channel_preferences"
    CHECKOUT_SETTINGS = "checkout.settings"
    WEBHOOKS = "webhooks"
    PUBLIC = "public"


ALL_STAFF = frozenset({"admin", "manager", "warehouse", "courier"})
EVERYONE = frozenset({*ALL_STAFF, STOREFRONT})
# Partners (agents, dealers) are staff accounts with a view of their own: who they are, joint
# purchases (where the groupbuy service shows them only the people they brought) and their
# conversations with the organisers (messaging shows them only their own). Nothing else.
PARTNERS = frozenset({"agent", "dealer"})

# Who may call each group: staff by role, storefront keys as "storefront". PUBLIC needs no credential.
PERMISSIONS: dict[RouteGroup, frozenset[str]] = {
    RouteGroup.ME: EVERYONE | PARTNERS,
    RouteGroup.STAFF_ADMIN: frozenset({"admin"}),
    # Who is who in the shop (names and roles, no e-mails): every staff member sees their colleagues'
    # names where an order names its manager (the console's board, list and card).
    RouteGroup.STAFF_DIRECTORY: ALL_STAFF,
    RouteGroup.API_KEYS_ADMIN: frozenset({"admin"}),
    # Taking orders is sales work: storefronts and the people who sell, not the warehouse.
    RouteGroup.ORDERS_PLACE: frozenset({STOREFRONT, "admin", "manager"}),
    # A storefront shows its customer the order it placed.
    RouteGroup.ORDERS_READ_ONE: EVERYONE,
    RouteGroup.ORDERS: ALL_STAFF,
    RouteGroup.ORDER_MESSAGES: ALL_STAFF,
    # Storefronts show products and availability.
    RouteGroup.CATALOG_STOREFRONT: EVERYONE,
    RouteGroup.CATALOG: ALL_STAFF,
    RouteGroup.PAYMENTS: frozenset({"admin", "manager"}),
    RouteGroup.SHIPMENTS: ALL_STAFF,
    # A storefront hands its customer the bank-transfer invoice and the PD-4 slip of the order.
    RouteGroup.PAYMENT_DOCUMENTS: frozenset({STOREFRONT, "admin", "manager"}),
    # Returns (RMA): the customer asks through the storefront, or a manager for them; the
    # storefront shows the return it asked for; the rest is staff work (fulfilment checks roles).
    RouteGroup.RETURNS_REQUEST: frozenset({STOREFRONT, "admin", "manager"}),
    RouteGroup.RETURNS_READ_ONE: EVERYONE,
    RouteGroup.RETURNS: ALL_STAFF,
    # Delivery methods: staff read them (the service lets only admins change them).
    RouteGroup.DELIVERY_METHODS: ALL_STAFF,
    # The pick / pack / hand-over pages in a browser (session cookie): the warehouse and its bosses.
    RouteGroup.WAREHOUSE_PAGES: frozenset({"admin", "manager", "warehouse"}),
    # The operations console: every staff role signs in; what each sees and may do is decided by
    # the API calls the console makes with the user's own token.
    RouteGroup.CONSOLE_PAGES: ALL_STAFF,
    RouteGroup.NOTIFICATIONS: frozenset({"admin", "manager"}),
    # Every staff member's own in-app notifications (the service answers only the caller's).
    RouteGroup.INBOX: ALL_STAFF,
    # Stage pipelines and their settings: staff read them (stage names, who is responsible);
    # the order service lets only admins change them.
    RouteGroup.PIPELINES: ALL_STAFF,
    # Promo codes (order service): sales work, admins and managers only.
    RouteGroup.PROMO_CODES: frozenset({"admin", "manager"}),
    # Joint purchases: organisers run them; partners reach their own view (the service filters).
    RouteGroup.GROUPBUY: frozenset({"admin", "manager", *PARTNERS}),
    # Conversations between a partner and the organisers (messaging shows a partner only their own).
    RouteGroup.PARTNER_CONVERSATIONS: frozenset({"admin", "manager", *PARTNERS}),
    # A storefront builds its checkout (options for an address, a quote), like the people who sell.
    RouteGroup.CHECKOUT: frozenset({STOREFRONT, "admin", "manager"}),
    # Delivery zones and payment options of the checkout: staff read them, the order service lets
    # only admins change them.
    RouteGroup.CHECKOUT_SETTINGS: frozenset({"admin", "manager"}),
    # The customer's signed order-status link is issued by whoever took the order; the customer then
    # opens it on a PUBLIC row (the signed token is the credential, checked by the order service).
    RouteGroup.ORDER_LINK: frozenset({STOREFRONT, "admin", "manager"}),
    # Customer records (CRM, order service): personal data, the office only.
    RouteGroup.CUSTOMERS: frozenset({"admin", "manager"}),
    # Outbound webhooks to the shop's storefronts: their URLs and signing secrets are the admin's.
    RouteGroup.WEBHOOKS: frozenset({"admin"}),
    # One customer's personal data: the export of all of it and its erasure on request, admins only.
    RouteGroup.CUSTOMER_DATA: frozenset({"admin"}),
    # Customers' ratings per product, manager and courier: the office's report.
    RouteGroup.FEEDBACK_REPORT: frozenset({"admin", "manager"}),
    # The shop's SMS channel: staff of the office read it, the notification service lets only admins change it.
    RouteGroup.SMS_SETTINGS: frozenset({"admin", "manager"}),
    # A customer's channel (email, sms, both): set by the storefront that knows them, or by the office.
    RouteGroup.CHANNEL_PREFERENCES: frozenset({STOREFRONT, "admin", "manager"}),
    RouteGroup.PUBLIC: frozenset(),
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. The shop always comes from the credential, never from the request."""

    kind: Literal["staff", "storefront"]
    id: str
    shop_id: str
    name: str
    role: str | None = None
    channel: str = CONSOLE_CHANNEL

    @property
    def label(self) -> str:
        """What the permission table knows this caller as."""
        return (self.role or "") if self.kind == "staff" else STOREFRONT

    def may(self, group: RouteGroup) -> bool:
        return may_call(self.label, group)

    def actor(self) -> Actor:
        if self.kind == "staff":
            return Actor(kind="staff", id=self.id, role=self.role, name=self.name)
        return Actor(kind="storefront", id=self.id, name=self.name)


def may_call(label: str, group: RouteGroup) -> bool:
    return group is RouteGroup.PUBLIC or label in PERMISSIONS[group]


def who_may(group: RouteGroup) -> str:
    """Human-readable list for docs and 403 answers."""
    if group is RouteGroup.PUBLIC:
        return "anyone"
    return ", ".join(sorted(PERMISSIONS[group]))
