"""The fulfilment domain: shipments and their rules, without I/O."""

from oms_fulfilment.domain.shipment import (
    Allocation,
    DomainError,
    HistoryEntry,
    IllegalTransition,
    InvalidAllocation,
    Line,
    ScanMismatch,
    ScanProblem,
    Shipment,
    ShipmentStatus,
    check_allocations,
    compare_scans,
)

__all__ = [
    "Allocation",
    "DomainError",
    "HistoryEntry",
    "IllegalTransition",
    "InvalidAllocation",
    "Line",
    "ScanMismatch",
    "ScanProblem",
    "Shipment",
    "ShipmentStatus",
    "check_allocations",
    "compare_scans",
]
