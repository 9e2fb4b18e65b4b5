"""The fulfilment domain: shipments and their rules, without I/O."""

from oms_fulfilment.domain.shipment import (
    TRACKING_CODES,
    Allocation,
    DomainError,
    HistoryEntry,
    IllegalTransition,
    InvalidAllocation,
    Line,
    ScanMismatch,
    ScanProblem,
    ScanRejected,
    Shipment,
    ShipmentStatus,
    TrackingEntry,
    TrackingRefused,
    check_allocations,
    compare_scans,
)

__all__ = [
    "TRACKING_CODES",
    "Allocation",
    "DomainError",
    "HistoryEntry",
    "IllegalTransition",
    "InvalidAllocation",
    "Line",
    "ScanMismatch",
    "ScanProblem",
    "ScanRejected",
    "Shipment",
    "ShipmentStatus",
    "TrackingEntry",
    "TrackingRefused",
    "check_allocations",
    "compare_scans",
]
