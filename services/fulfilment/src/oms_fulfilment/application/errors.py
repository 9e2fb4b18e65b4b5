"""What the application refuses, besides the domain's rules (answered by the HTTP edge's one map)."""

from __future__ import annotations

from oms_runtime.errors import FieldError


class NotFound(LookupError):
    """No such thing in this shop (another shop's is not found either)."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"no {what} {ident}")
        self.ident = ident


class ShipmentNotFound(NotFound):
    def __init__(self, shipment_id: str) -> None:
        super().__init__("shipment", shipment_id)
        self.shipment_id = shipment_id


class ReturnNotFound(NotFound):
    def __init__(self, return_id: str) -> None:
        super().__init__("return", return_id)
        self.return_id = return_id


class CarrierRequired(FieldError):
    def __init__(self) -> None:
        super().__init__("carrier", "required: the carrier the parcel is handed to")


class DuplicateDeliveryMethod(Exception):
    """The shop has a delivery method of this code in this currency already."""


class WebhookRejected(Exception):
    """A carrier webhook that is not signed by the carrier, too old, or malformed."""


class NotShippedYet(Exception):
    """A label needs the tracking number the parcel gets when it is handed to the carrier."""
