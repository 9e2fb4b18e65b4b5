"""PDF documents of the OMS: pure functions from document data to PDF bytes (reportlab, DejaVu fonts)."""

from oms_documents.fonts import FontsMissing
from oms_documents.model import (
    BankRequisites,
    Invoice,
    ItemLine,
    PackingSlip,
    Party,
    Pd4,
    PricedLine,
    ShippingLabel,
    Waybill,
)
from oms_documents.money import format_amount, format_money
from oms_documents.render import (
    render_invoice,
    render_label,
    render_packing_slip,
    render_pd4,
    render_waybill,
    tracking_barcode,
)

__all__ = [
    "BankRequisites",
    "FontsMissing",
    "Invoice",
    "ItemLine",
    "PackingSlip",
    "Party",
    "Pd4",
    "PricedLine",
    "ShippingLabel",
    "Waybill",
    "format_amount",
    "format_money",
    "render_invoice",
    "render_label",
    "render_packing_slip",
    "render_pd4",
    "render_waybill",
    "tracking_barcode",
]
