"""The topic registry: every topic, its key, partitions, retention and the messages it carries.

Services create nothing by hand: topics (local script, Helm's Strimzi KafkaTopic resources) and the
AsyncAPI document are generated from this list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from oms_contracts.envelope import Payload
from oms_contracts.messages import catalog, fulfilment, groupbuy, messaging, notification, order, payment, shop

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str
    key: str
    description: str
    messages: tuple[type[Payload], ...] = field(default=())
    partitions: int = 3
    retention_ms: int = 7 * DAY_MS
    compacted: bool = False


SHOP_EVENTS = Topic(
    "oms.shop.events",
    "gateway",
    "shop_id",
    "Shops and staff accounts",
    (shop.ShopCreated, shop.StaffMemberAdded),
)
CATALOG_PRODUCTS = Topic(
    "oms.catalog.products",
    "catalog",
    "sku",
    "SKU names and prices, compacted view for projections",
    (catalog.SkuUpserted, catalog.SkuPriceChanged),
    retention_ms=-1,
    compacted=True,
)
CATALOG_STOCK = Topic(
    "oms.catalog.stock",
    "catalog",
    "sku",
    "Stock levels per SKU and warehouse",
    (catalog.StockLevelChanged, catalog.LowStockReached),
)
CATALOG_PURCHASING = Topic(
    "oms.catalog.purchasing",
    "catalog",
    "purchase_order_id",
    "Purchase orders sent to suppliers and goods received",
    (catalog.PurchaseOrderSent, catalog.PurchaseOrderReceived),
    retention_ms=30 * DAY_MS,
)
CATALOG_COMMANDS = Topic(
    "oms.catalog.commands",
    "catalog",
    "order_id",
    "Commands to reserve and release stock",
    (catalog.ReserveStock, catalog.ReleaseStock, catalog.ChangeReservation, catalog.RestockReturn),
)
CATALOG_RESERVATIONS = Topic(
    "oms.catalog.reservations",
    "catalog",
    "order_id",
    "Outcome of reservations per order",
    (
        catalog.StockReserved,
        catalog.StockReservationRejected,
        catalog.StockReleased,
        catalog.StockCommitted,
        catalog.ReservationChanged,
        catalog.ReservationChangeRejected,
    ),
)
ORDER_EVENTS = Topic(
    "oms.order.events",
    "order",
    "order_id",
    "Orders placed and moved through their pipeline",
    (
        order.OrderPlaced,
        order.OrderStageChanged,
        order.OrderLinesChanged,
        order.OrderUpdated,
    ),
    retention_ms=30 * DAY_MS,
)
ORDER_ALERTS = Topic(
    "oms.order.alerts",
    "order",
    "order_id",
    "Orders that need staff now (past their stage deadline); a topic of its own so that an alert never "
    "queues behind the bulk of order events (docs/adr: staff alerts' own path)",
    (order.OrderStageOverdue,),
    retention_ms=30 * DAY_MS,
)
ORDER_CHANGES = Topic(
    "oms.order.changes",
    "order",
    "order_id",
    "A signal per write of an order document (id and version), for the order service's own read models; "
    "compacted: the latest per order. Since ADR 0046 the order service's relay hands these to its list "
    "in-process and publishes none; kept for what the topic holds and for older replicas in a rollout",
    (order.OrderChanged,),
    retention_ms=-1,
    compacted=True,
)
ORDER_CUSTOMERS = Topic(
    "oms.order.customers",
    "order",
    "customer_id",
    "Customer records (CRM): a customer's personal data erased on request, for every service that keeps some of it",
    (order.CustomerErased,),
    retention_ms=30 * DAY_MS,
)
PAYMENT_COMMANDS = Topic(
    "oms.payment.commands",
    "payment",
    "order_id",
    "Commands to take payment for an order and to refund it",
    (payment.RequestPayment, payment.RequestRefund),
)
PAYMENT_EVENTS = Topic(
    "oms.payment.events",
    "payment",
    "order_id",
    "Payments requested, captured, failed; refunds; each order's payment status",
    (
        payment.PaymentRequested,
        payment.PaymentCaptured,
        payment.PaymentFailed,
        payment.PaymentStatusChanged,
        payment.RefundCompleted,
        payment.PaymentReminderDue,
    ),
    retention_ms=30 * DAY_MS,
)
FULFILMENT_COMMANDS = Topic(
    "oms.fulfilment.commands",
    "fulfilment",
    "order_id",
    "Commands to create shipments",
    (fulfilment.CreateShipments,),
)
FULFILMENT_EVENTS = Topic(
    "oms.fulfilment.events",
    "fulfilment",
    "order_id",
    "Shipments through pick, pack, ship, delivery",
    (
        fulfilment.ShipmentCreated,
        fulfilment.ShipmentPicked,
        fulfilment.ShipmentPacked,
        fulfilment.ShipmentShipped,
        fulfilment.ShipmentDelivered,
        fulfilment.ShipmentDeliveryFailed,
        fulfilment.ShipmentReturnedToSender,
    ),
)
FULFILMENT_DELIVERY_METHODS = Topic(
    "oms.fulfilment.delivery-methods",
    "fulfilment",
    "delivery_method_id",
    "Delivery methods and their prices per shop and currency, compacted view for projections",
    (fulfilment.DeliveryMethodChanged,),
    retention_ms=-1,
    compacted=True,
)
FULFILMENT_RETURNS = Topic(
    "oms.fulfilment.returns",
    "fulfilment",
    "order_id",
    "Returns (RMA) requested, approved or rejected, received and completed (inspected, restocked, refunded)",
    (
        fulfilment.ReturnRequested,
        fulfilment.ReturnApproved,
        fulfilment.ReturnRejected,
        fulfilment.ReturnReceived,
        fulfilment.ReturnCompleted,
    ),
    retention_ms=30 * DAY_MS,
)
MESSAGING_EVENTS = Topic(
    "oms.messaging.events",
    "messaging",
    "conversation_id",
    "Messages posted in conversations",
    (messaging.MessagePosted,),
)
GROUPBUY_EVENTS = Topic(
    "oms.groupbuy.events",
    "groupbuy",
    "purchase_id",
    "Joint purchases: opened, moved through their lifecycle, participants' items and payments, the "
    "consolidated order to the supplier, news for their participants, payment reminders; the shop's news "
    "for its partners (ShopNewsPublished, keyed by news_id)",
    (
        groupbuy.JointPurchaseOpened,
        groupbuy.JointPurchaseStateChanged,
        groupbuy.JointPurchaseItemsChanged,
        groupbuy.JointPurchasePaymentRecorded,
        groupbuy.JointPurchaseOrdered,
        groupbuy.JointPurchaseNewsPublished,
        groupbuy.JointPurchasePaymentReminderDue,
        groupbuy.JointPurchaseHandedOut,
        groupbuy.ShopNewsPublished,
    ),
    retention_ms=30 * DAY_MS,
)
GROUPBUY_COMMANDS = Topic(
    "oms.groupbuy.commands",
    "groupbuy",
    "order_id",
    "Commands of joint purchases to other services: place or cancel a participant's order, or change its "
    "charges (order service)",
    (groupbuy.PlaceGroupBuyOrder, groupbuy.CancelGroupBuyOrder, groupbuy.ChangeGroupBuyOrderCharges),
)
NOTIFICATION_EVENTS = Topic(
    "oms.notification.events",
    "notification",
    "notification_id",
    "Delivery log of notifications",
    (notification.NotificationSent, notification.NotificationFailed),
)
DEADLETTER = Topic(
    "oms.deadletter",
    "every consumer",
    "the original key",
    "Messages a consumer could not process: the original bytes, with headers x-dlq-reason, "
    "x-dlq-topic, x-dlq-partition, x-dlq-offset, x-dlq-consumer",
    retention_ms=30 * DAY_MS,
)

TOPICS: tuple[Topic, ...] = (
    SHOP_EVENTS,
    CATALOG_PRODUCTS,
    CATALOG_STOCK,
    CATALOG_COMMANDS,
    CATALOG_RESERVATIONS,
    CATALOG_PURCHASING,
    ORDER_EVENTS,
    ORDER_ALERTS,
    ORDER_CHANGES,
    ORDER_CUSTOMERS,
    PAYMENT_COMMANDS,
    PAYMENT_EVENTS,
    FULFILMENT_COMMANDS,
    FULFILMENT_EVENTS,
    FULFILMENT_DELIVERY_METHODS,
    FULFILMENT_RETURNS,
    MESSAGING_EVENTS,
    GROUPBUY_EVENTS,
    GROUPBUY_COMMANDS,
    NOTIFICATION_EVENTS,
    DEADLETTER,
)

_BY_TYPE: dict[str, tuple[type[Payload], Topic]] = {}
for _topic in TOPICS:
    for _cls in _topic.messages:
        if _cls.TYPE in _BY_TYPE:
            raise RuntimeError(f"message type {_cls.TYPE} registered twice")
        _BY_TYPE[_cls.TYPE] = (_cls, _topic)


def message_class(type_name: str) -> type[Payload] | None:
    found = _BY_TYPE.get(type_name)
    return found[0] if found else None


def topic_for(payload: Payload | type[Payload]) -> Topic:
    return _BY_TYPE[payload.TYPE][1]


def topic_by_name(name: str) -> Topic:
    for t in TOPICS:
        if t.name == name:
            return t
    raise KeyError(name)
